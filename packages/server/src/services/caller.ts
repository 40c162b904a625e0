import type { ServiceFamily } from './kind.ts'

/** Which service a handler's call goes to, and which client it came through. */
export interface CallTarget {
  /** The service's name (what the binding points at, e.g. `main-db`). */
  service: string
  /** The ctx method used; a `ctx.cache()` call on a database service is refused. `records` works on databases, storage and files. */
  family: ServiceFamily | 'records'
  /** The name the handler used (e.g. `db`), for error messages. */
  binding: string
}

/**
 * The one seam between handler code and the service actors. Every handler-side client method is
 * one `call`; today the gateway passes the in-process `ServiceRegistry`, and when handlers run in
 * worker threads the same calls travel over a message channel to the actors on the main thread.
 * Arguments and results are plain data (strings, numbers, arrays, objects, Uint8Array), so they
 * survive structured cloning.
 */
export interface ServiceCaller {
  call(target: CallTarget, op: string, args: readonly unknown[]): Promise<unknown>
}

/** Bytes a streamed object transfer moves per message across the seam, at most (service.ts `streamOp`). */
export const STREAM_CHUNK_BYTES = 1024 * 1024
