import { collectDefaultMetrics, Registry } from 'prom-client'

/** Latency buckets in seconds, from sub-millisecond gateway hits to slow handlers. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

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

interface MetricValue {
  metricName?: string
  labels: Record<string, string | number>
  value: number
}

/**
 * The process's Prometheus registry. Contexts add their own collectors to `registry`. The
 * gateway's per-endpoint request counter and latency histogram are recorded into plain arrays —
 * prom-client's label hashing per observation was ~5% of a hello-world request — and turned into
 * Prometheus series only when /metrics is scraped.
 */
export class Metrics {
  readonly registry = new Registry()
  private readonly endpoints = new Map<string, EndpointSeries>()

  /**
   * Pulls what the handler threads counted since the last pull into this registry's series, so
   * every scrape counts every thread; set by main once the supervisor runs.
   */
  collectGateway: (() => Promise<void>) | undefined

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'edgeforge_process_' })
    this.register(
      'edgeforge_gateway_requests_total',
      'Requests the gateway answered, by endpoint and status code',
      'counter',
      () => {
        const values: MetricValue[] = []
        for (const [endpoint, series] of this.endpoints) {
          for (let status = 0; status < series.byStatus.length; status++) {
            const count = series.byStatus[status]
            if (count > 0) values.push({ labels: { endpoint, status }, value: count })
          }
        }
        return values
      },
    )
    this.register(
      'edgeforge_gateway_request_duration_seconds',
      'Time from routing a request to finishing its response, by endpoint',
      'histogram',
      () => {
        const values: MetricValue[] = []
        const name = 'edgeforge_gateway_request_duration_seconds'
        for (const [endpoint, series] of this.endpoints) {
          let cumulative = 0
          for (let i = 0; i < series.buckets.length; i++) {
            cumulative += series.buckets[i]
            const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] : '+Inf'
            values.push({ metricName: `${name}_bucket`, labels: { endpoint, le }, value: cumulative })
          }
          values.push({ metricName: `${name}_sum`, labels: { endpoint }, value: series.sum })
          values.push({ metricName: `${name}_count`, labels: { endpoint }, value: series.count })
        }
        return values
      },
    )
  }

  /**
   * An endpoint's series, created on first use. The data plane keeps it with the handler version,
   * so recording a request is one method call with no lookup by name.
   */
  series = (endpointName: string): EndpointSeries => {
    let series = this.endpoints.get(endpointName)
    if (!series) {
      series = new EndpointSeries()
      this.endpoints.set(endpointName, series)
    }
    return series
  }

  /** Records one answered request of `endpointName`. */
  observe(endpointName: string, status: number, seconds: number): void {
    this.series(endpointName).observe(status, seconds)
  }

  async text(): Promise<string> {
    await this.collectGateway?.()
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** A metric whose values are computed at scrape time, in prom-client's collector shape. */
  private register(
    name: string,
    help: string,
    type: 'counter' | 'histogram',
    values: () => MetricValue[],
  ): void {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => {},
    }
    this.registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
  }
}
