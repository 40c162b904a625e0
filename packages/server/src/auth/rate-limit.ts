/**
 * A token bucket per client: `perMinute` requests, refilled continuously, with a burst of the same
 * size. Kept in memory per process: several processes on one database each allow `perMinute`.
 */
export class ClientRateLimiter {
  private readonly perMinute: number
  private readonly now: () => number
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(perMinute: number, now: () => number = Date.now) {
    this.perMinute = perMinute
    this.now = now
  }

  /** Takes one request from the client's bucket; returns 0 if allowed, else the seconds to wait. */
  take(clientId: string): number {
    if (this.perMinute <= 0) return 0
    const now = this.now()
    const perMs = this.perMinute / 60_000
    let bucket = this.buckets.get(clientId)
    if (!bucket) {
      if (this.buckets.size >= 10_000) this.dropFull(now, perMs)
      bucket = { tokens: this.perMinute, at: now }
      this.buckets.set(clientId, bucket)
    }
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * perMs)
    bucket.at = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000))
  }

  /** A full bucket is the same as no bucket: forget those, so many one-off clients cost nothing. */
  private dropFull(now: number, perMs: number): void {
    for (const [id, bucket] of this.buckets)
      if (bucket.tokens + (now - bucket.at) * perMs >= this.perMinute) this.buckets.delete(id)
  }
}
