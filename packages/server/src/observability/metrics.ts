import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/** Latency buckets in seconds, from sub-millisecond gateway hits to slow handlers. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * The process's Prometheus registry. Contexts add their own collectors to `registry`; the
 * gateway's per-endpoint request counter and latency histogram live here because the data plane
 * should not know about prom-client.
 */
export class Metrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'endpoint' | 'status'>
  private readonly latency: Histogram<'endpoint'>
  /** prom-client resolves label sets per call; caching the child per endpoint keeps that off the hot path. */
  private readonly latencyChildren = new Map<string, ReturnType<Histogram<'endpoint'>['labels']>>()
  private readonly requestChildren = new Map<string, ReturnType<Counter<'endpoint' | 'status'>['labels']>>()

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'edgeforge_process_' })
    this.requests = new Counter({
      name: 'edgeforge_gateway_requests_total',
      help: 'Requests the gateway answered, by endpoint and status code',
      labelNames: ['endpoint', 'status'],
      registers: [this.registry],
    })
    this.latency = new Histogram({
      name: 'edgeforge_gateway_request_duration_seconds',
      help: 'Time from routing a request to finishing its response, by endpoint',
      labelNames: ['endpoint'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    })
  }

  /** The data plane's hook: one call per answered request. */
  observe = (endpointName: string, status: number, seconds: number): void => {
    let child = this.latencyChildren.get(endpointName)
    if (!child) {
      child = this.latency.labels(endpointName)
      this.latencyChildren.set(endpointName, child)
    }
    child.observe(seconds)
    const key = `${status} ${endpointName}`
    let counter = this.requestChildren.get(key)
    if (!counter) {
      counter = this.requests.labels(endpointName, String(status))
      this.requestChildren.set(key, counter)
    }
    counter.inc()
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
