/*
 * Retry policy: 5 retries, 100 ms base delay doubling each time, ±25 % jitter so many clients
 * that failed together do not come back together, capped so a long outage does not mean minutes
 * between tries. A Retry-After from the server wins over the computed delay.
 */

export interface RetryPolicy {
  retries: number
  baseMs: number
  factor: number
  jitter: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 5,
  baseMs: 100,
  factor: 2,
  jitter: 0.25,
  maxDelayMs: 10_000,
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseMs * policy.factor ** attempt)
  return Math.round(raw * (1 + policy.jitter * (2 * random() - 1)))
}

/** A Retry-After header (seconds or an HTTP date) in milliseconds, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number, capMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now
  if (!Number.isFinite(ms)) return undefined
  return Math.min(capMs, Math.max(0, ms))
}
