import type { JobArtifacts } from './artifacts.ts'
import type { JobsClient } from './context.ts'
import { brand, isBranded } from './handler.ts'
import type { ServiceAccess } from './services.ts'

const UNRECOVERABLE_BRAND = Symbol.for('edgeforge.UnrecoverableError')

/**
 * What a job function receives besides its payload.
 *
 * @example
 * export default job(async (payload: { url: string }, ctx) => {
 *   ctx.log('attempt', ctx.attempt, 'of job', ctx.jobId)
 *   const res = await fetch(payload.url, { signal: ctx.signal })
 *   return { status: res.status }
 * })
 */
export interface JobContext extends ServiceAccess {
  /** The job's id. @example ctx.log('running', ctx.jobId) */
  readonly jobId: string
  /** The queue the job came from. @example if (ctx.queue === 'urgent') … */
  readonly queue: string
  /** Which try this is, starting at 1. @example if (ctx.attempt > 1) ctx.log('retrying') */
  readonly attempt: number
  /** Aborted when the job is cancelled, times out or loses its lease: stop work then. @example await fetch(url, { signal: ctx.signal }) */
  readonly signal: AbortSignal
  /**
   * The job endpoint's environment variables and secrets (`env` on the endpoint), read-only. On a
   * remote worker it is empty: the worker's handlers are its own code and read its own process.env.
   * @example const client = new Api(ctx.env.API_KEY)
   */
  readonly env: Readonly<Record<string, string>>
  /**
   * Appends a line to the job's log (formatted like `console.log`).
   *
   * @example
   * ctx.log('processed', count, 'rows')
   */
  log(...args: unknown[]): void
  /**
   * Reports how far the job is, from 0 to 1.
   *
   * @example
   * ctx.progress(done / total)
   */
  progress(fraction: number): void
  /** Enqueues follow-up jobs. @example await ctx.jobs.enqueue('notify', { jobId: ctx.jobId }) */
  readonly jobs: JobsClient
  /**
   * Messages sent to this job with `POST /jobs/{id}/input`, in the order they were stored (each
   * attempt reads them from the first); the iteration ends when the job ends.
   *
   * @example
   * for await (const message of ctx.input) ctx.log('got', message)
   */
  readonly input: AsyncIterable<unknown>
  /**
   * Files this run keeps with the job (build outputs, reports), downloadable at
   * `GET /jobs/{id}/artifacts/{name}` until the job is removed by its queue's retention.
   *
   * @example
   * await ctx.artifacts.put('app.tgz', createReadStream('dist/app.tgz'), { contentType: 'application/gzip' })
   */
  readonly artifacts: JobArtifacts
}

/**
 * A job function: gets the payload and the job context; what it returns (or resolves to) is
 * stored as the job's result. A throw fails the attempt and the job is retried with backoff,
 * unless it is an `UnrecoverableError` or attempts are used up.
 *
 * @example
 * const resize: JobFunction<{ key: string }, { bytes: number }> = async ({ key }) => ({ bytes: await shrink(key) })
 */
export type JobFunction<P = unknown, R = unknown> = (payload: P, ctx: JobContext) => R | Promise<R>

/**
 * What `job()` returns and a job endpoint's module exports by default.
 *
 * @example
 * const definition: JobDefinition = job(() => undefined)
 * definition.kind // 'job'
 */
export interface JobDefinition<P = unknown, R = unknown> {
  /** Always `'job'`. @example definition.kind */
  readonly kind: 'job'
  /** The function the job runner calls. @example await definition.fn(payload, ctx) */
  readonly fn: JobFunction<P, R>
}

/**
 * Declares a job handler. A job endpoint's module exports the result as its default export.
 *
 * @example
 * import { job } from '@edgeforge/sdk'
 *
 * export default job(async (payload: { to: string }, ctx) => {
 *   ctx.log('sending welcome mail to', payload.to)
 *   return { sent: true }
 * })
 */
export function job<P = unknown, R = unknown>(fn: JobFunction<P, R>): JobDefinition<P, R> {
  if (typeof fn !== 'function') throw new TypeError('job() expects a function (payload, ctx) => result')
  return brand({ kind: 'job', fn })
}

/**
 * Whether `value` came from `job()` — from this copy of the SDK or any other.
 *
 * @example
 * if (!isJobDefinition(mod.default)) throw new Error('export default job(...)')
 */
export function isJobDefinition(value: unknown): value is JobDefinition {
  return isBranded(value, 'job')
}

/**
 * Throw it from a job to fail the job at once, without the retries left: for errors another try
 * cannot fix (a malformed payload, a deleted record).
 *
 * @example
 * if (!user) throw new UnrecoverableError(`user ${payload.userId} no longer exists`)
 */
export class UnrecoverableError extends Error {
  /**
   * An error that stops retries; `options.cause` keeps the original error.
   *
   * @example
   * throw new UnrecoverableError('payload has no "to" address', { cause: err })
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UnrecoverableError'
  }
}

Object.defineProperty(UnrecoverableError.prototype, UNRECOVERABLE_BRAND, { value: true })

/**
 * Whether `value` is an `UnrecoverableError`, also one from another copy of the SDK.
 *
 * @example
 * const retry = !isUnrecoverableError(err) && attempt < maxAttempts
 */
export function isUnrecoverableError(value: unknown): value is UnrecoverableError {
  if (value instanceof UnrecoverableError) return true
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [UNRECOVERABLE_BRAND]?: unknown })[UNRECOVERABLE_BRAND] === true
  )
}
