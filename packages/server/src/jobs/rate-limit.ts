import { invalid, rateLimited } from './errors.ts'
import type { RateLimitSettings } from './types.ts'

interface Bucket {
  tokens: number
  refilledAt: number
  perSecond: number
  burst: number
}

/**
 * Token buckets per queue, in this process. Several gateway processes on one PostgreSQL database
 * each allow the configured rate: a store-backed bucket would add a row lock to every enqueue,
 * the hot path this limit exists to protect. The limit is a guard against runaway producers,
 * not an exact quota.
 */
export class EnqueueRateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  /** Takes `count` tokens or throws `rate_limited` with how long until they are there. */
  take(queue: string, limit: RateLimitSettings | null, count: number, now: number): void {
    if (limit === null) {
      this.buckets.delete(queue)
      return
    }
    let bucket = this.buckets.get(queue)
    if (!bucket || bucket.perSecond !== limit.perSecond || bucket.burst !== limit.burst) {
      bucket = { tokens: limit.burst, refilledAt: now, perSecond: limit.perSecond, burst: limit.burst }
      this.buckets.set(queue, bucket)
    }
    const elapsed = Math.max(0, now - bucket.refilledAt)
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + (elapsed / 1000) * bucket.perSecond)
    bucket.refilledAt = now
    if (bucket.tokens >= count) {
      bucket.tokens -= count
      return
    }
    if (count > bucket.burst) {
      throw invalid(
        `a batch of ${count} jobs for queue ${queue} exceeds its rate limit burst of ${bucket.burst}`,
        'jobs',
      )
    }
    throw rateLimited(queue, ((count - bucket.tokens) / bucket.perSecond) * 1000)
  }
}
