// What the queue benchmark asks of each system it measures: edgeforge on SQLite, edgeforge on
// PostgreSQL, graphile-worker. Every job is a no-op whose payload is `{ n }`, a sequence number the
// benchmark uses to find the job's enqueue time and to notice a job that ran twice.

/** Called by the job's handler as it starts, with the payload's sequence number. */
export type OnStart = (n: number) => void

export interface Workers {
  /** Stops taking jobs and lets the running ones finish; bounded by the system's own drain. */
  stop(): Promise<void>
}

export interface QueueSystem {
  /** As printed: `edgeforge sqlite`, `graphile-worker`, … */
  readonly name: string
  /** What this system is set up as (queue, retention, …), printed with the workers line. */
  readonly describe?: string
  /** Enqueues one job. */
  enqueue(n: number): Promise<void>
  /** Enqueues many jobs in one call (the system's batch API). */
  enqueueBatch(ns: readonly number[]): Promise<void>
  /**
   * Starts the system's in-process workers running up to `concurrency` jobs at once; resolves once
   * they listen for wake-ups.
   */
  startWorkers(onStart: OnStart, concurrency: number): Promise<Workers>
  /** Jobs not recorded as succeeded (yet), as the database sees them. */
  unfinished(): Promise<number>
  /** Empties the queue between phases so each phase starts from the same table. */
  reset(): Promise<void>
  close(): Promise<void>
}
