/**
 * A latency histogram with 10 µs buckets up to 2 s. autocannon's own histogram keeps whole
 * milliseconds, which on loopback reads 0 or 1 ms for everything; this one keeps what the
 * comparison needs.
 */
export class LatencyHistogram {
  private static readonly BUCKET_MS = 0.01
  private readonly buckets = new Uint32Array(200_000)
  count = 0
  maxMs = 0

  record(ms: number): void {
    const index = Math.min(Math.floor(ms / LatencyHistogram.BUCKET_MS), this.buckets.length - 1)
    this.buckets[index] += 1
    this.count += 1
    if (ms > this.maxMs) this.maxMs = ms
  }

  /** The latency in ms below which `percent` of the recorded ones fall (upper edge of its bucket). */
  percentile(percent: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil((percent / 100) * this.count)
    let seen = 0
    for (let i = 0; i < this.buckets.length; i += 1) {
      seen += this.buckets[i]
      if (seen >= rank) return Math.min((i + 1) * LatencyHistogram.BUCKET_MS, this.maxMs)
    }
    return this.maxMs
  }
}
