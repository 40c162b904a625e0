import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Counter, Histogram, Registry } from 'prom-client'
import { registerServiceMetrics } from './metrics.ts'

const BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

test('the scrape-time series read as prom-client would write the same observations', async () => {
  const ours = new Registry()
  const observe = registerServiceMetrics(ours, () => [])
  const theirs = new Registry()
  const counter = new Counter({
    name: 'edgeforge_service_operations_total',
    help: 'Service operations by service, type and outcome',
    labelNames: ['service', 'type', 'outcome'],
    registers: [theirs],
  })
  const histogram = new Histogram({
    name: 'edgeforge_service_operation_seconds',
    help: 'Service operations from submission (queue wait included) to answer',
    labelNames: ['service', 'type'],
    buckets: BUCKETS,
    registers: [theirs],
  })
  const db = observe('main-db', 'postgres')
  const cache = observe('sessions', 'redis')
  const samples: Array<[typeof db, string, string, 'ok' | 'error' | 'timeout', number]> = [
    [db, 'main-db', 'postgres', 'ok', 0.00005],
    [db, 'main-db', 'postgres', 'ok', 0.001],
    [db, 'main-db', 'postgres', 'error', 0.0031],
    [db, 'main-db', 'postgres', 'timeout', 45],
    [cache, 'sessions', 'redis', 'ok', 0.0002],
  ]
  for (const [observer, service, type, outcome, seconds] of samples) {
    observer.operation(outcome, seconds)
    counter.labels(service, type, outcome).inc()
    histogram.labels(service, type).observe(seconds)
  }
  // Made again (the service re-activated): it counts on in the same series.
  observe('main-db', 'postgres').operation('ok', 0.02)
  counter.labels('main-db', 'postgres', 'ok').inc()
  histogram.labels('main-db', 'postgres').observe(0.02)

  const pick = (text: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith('edgeforge_service_operation'))
      .sort()
  assert.deepEqual(pick(await ours.metrics()), pick(await theirs.metrics()))
  assert.match(await ours.metrics(), /# TYPE edgeforge_service_operation_seconds histogram/)
  ours.resetMetrics()
  assert.deepEqual(pick(await ours.metrics()), [])
})
