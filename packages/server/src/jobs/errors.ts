import { ApiError } from '@edgeforge/protocol'

/**
 * The brand a thrown error carries to say "do not retry": the job goes straight to `dead`. A brand
 * rather than `instanceof`, so the SDK's class, a bundled copy of it and this one all count.
 */
export const UNRECOVERABLE = Symbol.for('edgeforge.UnrecoverableError')

/**
 * Thrown by a job handler when retrying cannot help (bad payload, revoked account, …).
 *
 * @example
 * if (!payload.to) throw new UnrecoverableError('payload.to is missing')
 */
export class UnrecoverableError extends Error {
  readonly [UNRECOVERABLE] = true

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'UnrecoverableError'
  }
}

export function isUnrecoverable(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[UNRECOVERABLE] === true
  )
}

export function notFound(what: string): ApiError {
  return new ApiError('not_found', what)
}

export function invalid(message: string, field?: string): ApiError {
  return new ApiError('validation_failed', message, field === undefined ? undefined : { field })
}

export function conflict(message: string, details?: unknown): ApiError {
  return new ApiError('conflict', message, details)
}

/** 429 with how long to wait, in whole seconds rounded up (at least 1). */
export function rateLimited(queue: string, retryAfterMs: number): ApiError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new ApiError(
    'rate_limited',
    `queue ${queue} accepts no more enqueues right now; retry after ${retryAfterSeconds} s or raise its rate limit`,
    { retry_after_seconds: retryAfterSeconds },
  )
}

// A frame in a file of this server (file:///…, /abs/path) or of node itself (node:internal/…): the
// handler's own frames carry its mapped sources (worker.ts:5:21) or its bundle's name instead.
const SERVER_FRAME = /^\s+at (?:.*\()?(?:file:\/\/|node:|\/)/

/**
 * A handler's stack as its author reads it: the message and the frames of the handler's code,
 * without the frames of the server that called it (they say nothing to the author, and name the
 * server's install paths).
 */
export function withoutServerFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => !SERVER_FRAME.test(line))
    .join('\n')
}

/** A readable one-line description of anything a handler may throw. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}
