/** The contracts of a service actor (actor.ts): what a kind supplies, what callers and metrics see. */

/**
 * How an actor makes and ends the connections of its pool. A "connection" is whatever one
 * operation at a time runs on: a pg client, a mysql2 connection, an SFTP session, an S3 client.
 */
export interface ConnectionFactory<C> {
  connect(): Promise<C>
  close(connection: C): Promise<void>
  /** Whether an error an operation threw means the connection is dead (it is then closed and replaced). */
  isConnectionError(error: unknown): boolean
  /** Whether an idle connection is still usable (the driver saw it drop): checked before reuse. */
  isAlive?(connection: C): boolean
}

export interface ActorOptions {
  /** The service's name, for error messages. */
  name: string
  /** Connections at most; the pool grows to it on demand. */
  poolSize: number
  /** Operations allowed to wait for a connection; one more is refused with `service_busy`. */
  maxQueue: number
  /** From submission to answer, queue wait included. */
  operationTimeoutMs: number
  /**
   * Operations one connection may run at once: 1 for drivers that take one statement at a time
   * (SQL, FTP), more for protocols that pipeline (Redis). Default 1.
   */
  operationsPerConnection?: number
}

export type ActorOutcome = 'ok' | 'error' | 'busy' | 'unavailable' | 'timeout'

/** What the metrics see of an actor. */
export interface ActorObserver {
  operation(outcome: ActorOutcome, seconds: number): void
}

export interface ActorStatus {
  state: 'active' | 'draining' | 'closed'
  /** A connection was made and the last attempt did not fail. */
  connected: boolean
  connections: number
  inUse: number
  queued: number
  lastError: string | null
}

/** A connection held across several operations (a transaction). */
export interface Lease<C> {
  /** Runs one operation on the held connection, under the operation timeout. */
  run<T>(op: (connection: C) => Promise<T>): Promise<T>
  /**
   * Runs a transfer on the held connection with no operation timeout (an upload or download as
   * long as the bytes take); its end is the stream's. A connection error breaks the lease.
   */
  transfer<T>(op: (connection: C) => Promise<T>): Promise<T>
  /** Gives the connection back; `broken` closes it instead. Idempotent. */
  release(broken?: boolean): void
}
