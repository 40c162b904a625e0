import type { Db } from '../../store/index.ts'
import { insertEvents, type NewEvent } from './sql.ts'

export interface EventRecorderOptions {
  /** Called with the highest id after each write (the feed wakes its subscribers). */
  onWritten?: (head: number) => void
  onError?: (error: unknown) => void
  now?: () => number
}

/**
 * Where the engine's state changes become event rows. `record` does not wait for the store: the
 * events of one turn of the event loop are written together in one multi-row insert right after
 * it (one statement per batch, whatever the batch holds), in the order they were recorded. This
 * keeps the queue's hot path at a JSON encode per event instead of a statement per event; the
 * price is that the events are written just after their state change commits, not in its
 * transaction, so a crash between the two loses that batch of events (never the jobs). See
 * docs/architecture.md, "Event streams".
 */
export class EventRecorder {
  private readonly db: Db
  private readonly options: EventRecorderOptions
  private pending: NewEvent[] = []
  private writing: Promise<void> | null = null
  private scheduled = false
  /** Per job: the log offset up to which `log` events were recorded (a resent chunk adds none). */
  private readonly logMarks = new Map<string, number>()
  private closed = false
  private readonly listeners = new Set<(head: number) => void>()

  constructor(db: Db, options: EventRecorderOptions = {}) {
    this.db = db
    this.options = options
  }

  /** `at`: when it happened, if not now (ms). */
  record(
    type: string,
    queue: string | null,
    jobId: string | null,
    data: Record<string, unknown> = {},
    at?: number,
  ): void {
    if (this.closed) return
    this.pending.push({ at: at ?? (this.options.now ?? Date.now)(), type, queue, jobId, data })
    if (type === 'succeeded' || type === 'failed' || type === 'cancelled') {
      if (jobId !== null) this.logMarks.delete(jobId)
    }
    this.schedule()
  }

  /** Lines [offset, offset + count) of a job's log were stored: one `log` event for the new ones. */
  recordLog(jobId: string, queue: string | null, offset: number, count: number): void {
    const end = offset + count
    const from = Math.max(offset, this.logMarks.get(jobId) ?? 0)
    if (from >= end) return
    this.logMarks.set(jobId, end)
    this.record('log', queue, jobId, { offset: from, count: end - from })
  }

  /** Calls `listener(head)` after each write; returns the unsubscribe function. */
  onWritten(listener: (head: number) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves once everything recorded so far is written. */
  async flush(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      await (this.writing ?? this.startWrite())
    }
  }

  async close(): Promise<void> {
    await this.flush()
    this.closed = true
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      if (!this.writing) this.startWrite()
    })
  }

  private startWrite(): Promise<void> {
    const writing: Promise<void> = this.write().finally(() => {
      if (this.writing === writing) this.writing = null
    })
    this.writing = writing
    return writing
  }

  private async write(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending
        this.pending = []
        await this.fillQueues(batch)
        const head = await insertEvents(this.db, batch)
        this.options.onWritten?.(head)
        for (const listener of this.listeners) listener(head)
      }
    } catch (error) {
      // The batch is lost, not the jobs: events are a view of the jobs table, which is the truth.
      this.pending = []
      ;(this.options.onError ?? ((err) => console.error('edgeforge events:', err)))(error)
    }
  }

  /** Events whose caller did not know the job's queue get it from the jobs table, in one read. */
  private async fillQueues(batch: NewEvent[]): Promise<void> {
    const unknown = [
      ...new Set(batch.filter((e) => e.queue === null && e.jobId !== null).map((e) => e.jobId)),
    ]
    if (unknown.length === 0) return
    const list =
      this.db.dialect === 'postgres'
        ? 'SELECT json_array_elements_text(?::json)'
        : 'SELECT value FROM json_each(?)'
    const rows = await this.db.all<{ id: string; queue: string }>(
      `SELECT id, queue FROM jobs WHERE id IN (${list})`,
      [JSON.stringify(unknown)],
    )
    const queues = new Map(rows.map((row) => [row.id, row.queue]))
    for (const event of batch)
      if (event.queue === null && event.jobId !== null) event.queue = queues.get(event.jobId) ?? null
  }
}
