import { collectDefaultMetrics, Registry } from 'prom-client'
import { EndpointSeries, LATENCY_BUCKETS } from './series.ts'

export { EndpointSeries, type SeriesCounts } from './series.ts'

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
