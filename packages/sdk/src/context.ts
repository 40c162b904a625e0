import type { ServiceAccess } from './services.ts'

/**
 * Writes to the endpoint's log, tagged with the request id. Arguments are formatted like
 * `console.log`'s.
 *
 * @example
 * ctx.log.info('created order', order.id)
 */
export interface Logger {
  /** Detail for chasing a problem. @example ctx.log.debug('cache miss', key) */
  debug(...args: unknown[]): void
  /** Normal events. @example ctx.log.info('user signed up', user.id) */
  info(...args: unknown[]): void
  /** Something odd that did not stop the request. @example ctx.log.warn('slow upstream', ms) */
  warn(...args: unknown[]): void
  /** A failure. @example ctx.log.error('payment failed', err) */
  error(...args: unknown[]): void
}

/**
 * How and when an enqueued job runs.
 *
 * @example
 * await ctx.jobs.enqueue('emails', { to }, { delaySeconds: 60, dedupKey: `welcome:${to}` })
 */
export interface EnqueueOptions {
  /** Higher runs first; 0 by default. @example { priority: 10 } */
  priority?: number
  /** Do not run before this time (a Date or an ISO-8601 string). @example { runAt: '2030-01-01T09:00:00Z' } */
  runAt?: Date | string
  /** Do not run before this many seconds from now. @example { delaySeconds: 300 } */
  delaySeconds?: number
  /** How many times to try before the job is failed for good. @example { maxAttempts: 5 } */
  maxAttempts?: number
  /** While a job with this key is queued or running in the queue, no second one is created. @example { dedupKey: `invoice:${id}` } */
  dedupKey?: string
  /** On a key match: `keep` the live job as is (the default), or `replace` a queued one's payload, priority and start time. @example { dedupKey: k, dedupMode: 'replace' } */
  dedupMode?: 'keep' | 'replace'
}

/**
 * What `enqueue` returns: the job's id and state. `deduplicated` is true when an existing job
 * with the same `dedupKey` was kept or replaced instead of a new one being added.
 *
 * @example
 * const { id, deduplicated } = await ctx.jobs.enqueue('thumbnails', { key })
 */
export interface EnqueuedJob {
  /** The job id. @example job.id // '01980f7c-…' */
  id: string
  /** The queue it is in. @example job.queue // 'thumbnails' */
  queue: string
  /** Its state, e.g. `queued`, or `running` for a deduplicated job already under way. @example job.status // 'queued' */
  status: string
  /** Whether an existing job was reused. @example if (job.deduplicated) ctx.log.info('already queued') */
  deduplicated: boolean
}

/**
 * Hands work to the job queue.
 *
 * @example
 * const job = await ctx.jobs.enqueue('reports', { month: '2025-01' }, { maxAttempts: 3 })
 */
export interface JobsClient {
  /**
   * Adds a job to `queue`; the payload must survive `JSON.stringify`.
   *
   * @example
   * await ctx.jobs.enqueue<{ userId: string }>('welcome-email', { userId })
   */
  enqueue<P = unknown>(queue: string, payload: P, options?: EnqueueOptions): Promise<EnqueuedJob>
}

/**
 * What a handler receives besides the request: its id, signal, log, the job queue, and the
 * services its endpoint binds (`ctx.database('db')`, `ctx.cache('cache')`, …; see ServiceAccess).
 *
 * @example
 * export default handler(async (req, ctx) => {
 *   const res = await fetch(upstream, { signal: ctx.signal })
 *   ctx.log.info('upstream answered', res.status)
 *   return Response.json(res.status, await res.json())
 * })
 */
/** Who called a protected endpoint (`auth: { scopes }`): its client id and every scope it holds. */
export interface CallerAuth {
  readonly clientId: string
  readonly scopes: readonly string[]
}

export interface Context extends ServiceAccess {
  /** The request's id, as in the log and error bodies. @example ctx.log.info(ctx.requestId) */
  readonly requestId: string
  /** Aborted when the endpoint's timeout passes or the client goes away: pass it on. @example await fetch(url, { signal: ctx.signal }) */
  readonly signal: AbortSignal
  /** The endpoint's log. @example ctx.log.warn('deprecated parameter used') */
  readonly log: Logger
  /** The job queue. @example await ctx.jobs.enqueue('emails', { to }) */
  readonly jobs: JobsClient
  /**
   * The endpoint's environment variables and secrets, as set with `env` on the endpoint (or
   * `edgeforge deploy --env NAME=value`); read-only. `process.env` holds none of them, nor any of
   * the server's settings.
   * @example const stripe = new Stripe(ctx.env.STRIPE_KEY)
   */
  readonly env: Readonly<Record<string, string>>
  /**
   * The caller of an endpoint that requires scopes; null (or absent) on a public endpoint.
   * @example if (!ctx.auth?.scopes.includes('orders:refund')) throw new HandlerError(403, 'forbidden', 'no refunds')
   */
  readonly auth?: CallerAuth | null
}
