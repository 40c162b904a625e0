import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
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
 * The two gauges read the actors at scrape time; the returned factory gives each actor its
 * observer (label children resolved once per service, not per operation).
 */
export function registerServiceMetrics(
  registry: Registry,
  statuses: () => Iterable<{ name: string; status: ActorStatus }>,
): (service: string, type: string) => ActorObserver {
  const registers = [registry]
  const operations = new Counter({
    name: 'edgeforge_service_operations_total',
    help: 'Service operations by service, type and outcome',
    labelNames: ['service', 'type', 'outcome'],
    registers,
  })
  const seconds = new Histogram({
    name: 'edgeforge_service_operation_seconds',
    help: 'Service operations from submission (queue wait included) to answer',
    labelNames: ['service', 'type'],
    buckets: SERVICE_SECONDS_BUCKETS,
    registers,
  })
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
    const latency = seconds.labels(service, type)
    const byOutcome = new Map<ActorOutcome, ReturnType<typeof operations.labels>>()
    return {
      operation(outcome, elapsed) {
        let counter = byOutcome.get(outcome)
        if (!counter) {
          counter = operations.labels(service, type, outcome)
          byOutcome.set(outcome, counter)
        }
        counter.inc()
        latency.observe(elapsed)
      },
    }
  }
}
