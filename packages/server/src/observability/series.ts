// Apart from metrics.ts so that handler threads count requests without loading prom-client.

/** Latency buckets in seconds, from sub-millisecond gateway hits to slow handlers. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

/** What a handler thread hands the main thread of one endpoint's series: counts since it last did. */
export interface SeriesCounts {
  buckets: number[]
  sum: number
  count: number
  /** Only the statuses seen, as [status, count]. */
  byStatus: Array<[number, number]>
}

/** One endpoint's request counts and latency, recorded into plain numbers on the hot path. */
export class EndpointSeries {
  /** Observations per latency bucket (not cumulative); the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1)
  sum = 0
  count = 0
  /** Requests by status code, indexed by the code (node:http only sends 100–999). */
  readonly byStatus = new Float64Array(1000)

  observe(status: number, seconds: number): void {
    let bucket = 0
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]) bucket++
    this.buckets[bucket] += 1
    this.sum += seconds
    this.count += 1
    this.byStatus[status] += 1
  }

  /** The counts since the last call, which zeroes them; undefined when nothing was recorded. */
  take(): SeriesCounts | undefined {
    if (this.count === 0) return undefined
    const byStatus: Array<[number, number]> = []
    for (let status = 0; status < this.byStatus.length; status++)
      if (this.byStatus[status] > 0) byStatus.push([status, this.byStatus[status]])
    const counts = { buckets: [...this.buckets], sum: this.sum, count: this.count, byStatus }
    this.buckets.fill(0)
    this.byStatus.fill(0)
    this.sum = 0
    this.count = 0
    return counts
  }

  add(counts: SeriesCounts): void {
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i] += counts.buckets[i] ?? 0
    for (const [status, count] of counts.byStatus) this.byStatus[status] += count
    this.sum += counts.sum
    this.count += counts.count
  }
}
