import type { BackoffSettings } from './types.ts'

/**
 * The wait before retry number `attempt` (1 = after the first failure):
 * `min(max, base × factor^(attempt-1))`, then spread uniformly over ±jitter of itself so a burst of
 * failures does not come back as a burst of retries.
 */
export function backoffDelayMs(
  backoff: BackoffSettings,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1)
  const seconds = Math.min(backoff.maxSeconds, backoff.baseSeconds * backoff.factor ** exponent)
  const spread = backoff.jitter > 0 ? 1 + backoff.jitter * (2 * random() - 1) : 1
  return Math.max(0, Math.round(seconds * spread * 1000))
}
