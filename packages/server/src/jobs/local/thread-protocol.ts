import type { JobVersion } from '../../deploy/ports.ts'
import type { EndpointLogEntry } from '../../observability/endpoint-logs.ts'
import type { CallBatch, ResultBatch } from '../../threads/wire.ts'
import type { AbortCause } from './runner.ts'

/**
 * The messages between the job pool (main thread) and a job thread. Both sides send batches: what
 * one turn of the event loop produced (claims of several jobs, several jobs' ends, log lines)
 * travels as one postMessage, so a thread costs a message per turn, not several per job.
 */

/** What a thread needs to load one version of a job endpoint: its artifact, as the lifecycle holds it. */
export type JobArtifact = JobVersion

export type { AbortCause }

export interface JobThreadInit {
  index: number
  /** Written by the thread, read by the pool's watchdog (threads/liveness.ts). */
  liveness: SharedArrayBuffer
}

/** Pool → thread. */
export type ToThread =
  /** `key` names a loaded version in this thread; `slot` is its endpoint's number for the watchdog. */
  | { type: 'load'; key: number; slot: number; artifact: JobArtifact }
  | { type: 'unload'; key: number }
  | { type: 'validate'; id: number; artifact: JobArtifact }
  | { type: 'run'; run: number; key: number; jobId: string; queue: string; attempt: number; payload: unknown }
  | { type: 'abort'; run: number; cause: AbortCause }
  | { type: 'input'; run: number; message: unknown }
  /** Answers to the thread's `calls`, one turn's as one batch (threads/wire.ts). */
  | ResultBatch

/** A job handler's failure as it crosses: its mapped stack and whether it asked not to be retried. */
export interface JobFailure {
  name: string
  message: string
  /** The stack mapped to the handler's sources, the server's frames removed. */
  stack: string
  unrecoverable: boolean
}

/** Thread → pool. */
export type FromThread =
  | { type: 'ready' }
  | { type: 'validated'; id: number; error?: string }
  | { type: 'done'; run: number; ok: true; value: unknown }
  | { type: 'done'; run: number; ok: false; failure: JobFailure }
  /** `ctx.log` of a run: the job's log and its endpoint's. */
  | { type: 'log'; run: number; line: string }
  | { type: 'progress'; run: number; fraction: number }
  /** The handler read `ctx.input` for the first time: its stored messages are wanted from now on. */
  | { type: 'input-wanted'; run: number }
  /** The bundle's `console` and failed service calls: the endpoint's log only. */
  | { type: 'endpoint-log'; endpointId: string; entry: EndpointLogEntry }
  | { type: 'server-log'; level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }
  | CallBatch
