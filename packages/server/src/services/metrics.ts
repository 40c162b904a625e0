import { Gauge, type Metric, type Registry } from 'prom-client'
import type { ActorObserver, ActorOutcome, ActorStatus } from './actor.ts'

/** Seconds from 0.1 ms to 30 s: a cache hit and a slow report query on one scale. */
const SERVICE_SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

/**
 * Adds the services' series to `registry`:
 *
 * - `edgeforge_service_operations_total{service,type,outcome}` — operations by outcome (`ok`,
 *   `error` = refused by the backend, `busy`, `unavailable`, `timeout`);
 * - `edgeforge_service_operation_seconds{service,type}` — from submission (queue wait included)
 *   to answer;
 * - `edgeforge_service_pool_connections{service,state}` — connections `open` and `in_use`;
 * - `edgeforge_service_queue_depth{service}` — operations waiting for a connection.
 *
 * An operation costs its observer a few additions on plain numbers (a count per outcome, a bucket
 * count, a sum); the counter and the histogram are written out from those at scrape time, as are
 * the two gauges from the actors' status. The returned factory gives each actor its observer; an
 * actor made again for the same service (re-activated) counts on in the same series.
 */
export function registerServiceMetrics(
  registry: Registry,
  statuses: () => Iterable<{ name: string; status: ActorStatus }>,
): (service: string, type: string) => ActorObserver {
  const registers = [registry]
  const table = new Map<string, OperationSeries>()
  registry.registerMetric(
    scrapeTimeMetric(
      'edgeforge_service_operations_total',
      'Service operations by service, type and outcome',
      'counter',
      () => {
        const values: MetricValue[] = []
        for (const series of table.values())
          for (let i = 0; i < OUTCOMES.length; i++)
            if (series.outcomes[i] > 0)
              values.push({
                labels: { service: series.service, type: series.type, outcome: OUTCOMES[i] },
                value: series.outcomes[i],
              })
        return values
      },
      () => {
        for (const series of table.values()) series.outcomes.fill(0)
      },
    ),
  )
  const seconds = 'edgeforge_service_operation_seconds'
  registry.registerMetric(
    scrapeTimeMetric(
      seconds,
      'Service operations from submission (queue wait included) to answer',
      'histogram',
      () => {
        const values: MetricValue[] = []
        for (const series of table.values()) {
          if (series.count === 0) continue
          const labels = { service: series.service, type: series.type }
          let cumulative = 0
          for (let i = 0; i < SERVICE_SECONDS_BUCKETS.length; i++) {
            cumulative += series.buckets[i]
            values.push({
              metricName: `${seconds}_bucket`,
              labels: { le: SERVICE_SECONDS_BUCKETS[i], ...labels },
              value: cumulative,
            })
          }
          values.push({
            metricName: `${seconds}_bucket`,
            labels: { le: '+Inf', ...labels },
            value: series.count,
          })
          values.push({ metricName: `${seconds}_sum`, labels, value: series.sum })
          values.push({ metricName: `${seconds}_count`, labels, value: series.count })
        }
        return values
      },
      () => {
        for (const series of table.values()) {
          series.buckets.fill(0)
          series.sum = 0
          series.count = 0
        }
      },
    ),
  )
  new Gauge({
    name: 'edgeforge_service_pool_connections',
    help: "Connections of each active service's pool: open, and in use by an operation",
    labelNames: ['service', 'state'],
    registers,
    collect() {
      this.reset()
      for (const { name, status } of statuses()) {
        this.set({ service: name, state: 'open' }, status.connections)
        this.set({ service: name, state: 'in_use' }, status.inUse)
      }
    },
  })
  new Gauge({
    name: 'edgeforge_service_queue_depth',
    help: 'Operations waiting for a connection, per active service',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset()
      for (const { name, status } of statuses()) this.set({ service: name }, status.queued)
    },
  })
  return (service, type) => {
    const key = `${service}\u0000${type}`
    let series = table.get(key)
    if (!series) {
      series = {
        service,
        type,
        outcomes: new Float64Array(OUTCOMES.length),
        buckets: new Float64Array(SERVICE_SECONDS_BUCKETS.length),
        sum: 0,
        count: 0,
      }
      table.set(key, series)
    }
    const counted = series
    return {
      operation(outcome, elapsed) {
        counted.outcomes[OUTCOME_INDEX[outcome]] += 1
        counted.sum += elapsed
        counted.count += 1
        // Past the last bound it is counted in +Inf only (the count).
        for (let i = 0; i < SERVICE_SECONDS_BUCKETS.length; i++)
          if (elapsed <= SERVICE_SECONDS_BUCKETS[i]) {
            counted.buckets[i] += 1
            break
          }
      },
    }
  }
}

const OUTCOMES: readonly ActorOutcome[] = ['ok', 'error', 'busy', 'unavailable', 'timeout']
const OUTCOME_INDEX: Record<ActorOutcome, number> = { ok: 0, error: 1, busy: 2, unavailable: 3, timeout: 4 }

/** One service's operations as plain numbers: counts per outcome (OUTCOMES order), per bucket (not cumulative), sum and count. */
interface OperationSeries {
  service: string
  type: string
  outcomes: Float64Array
  buckets: Float64Array
  sum: number
  count: number
}

interface MetricValue {
  metricName?: string
  labels: Record<string, string | number>
  value: number
}

/** A metric the registry writes out from `values()` at scrape time (prom-client's `get()` shape). */
function scrapeTimeMetric(
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => MetricValue[],
  reset: () => void,
): Metric {
  return {
    name,
    get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
    reset,
  } as unknown as Metric
}
