import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pino from 'pino'
import { Registry } from 'prom-client'
import { backends, engineFor } from '../../../test/support/jobs.ts'
import { createControlApp } from '../../http/app.ts'
import { systemRoutes } from '../../http/system-routes.ts'
import { Metrics } from '../../observability/metrics.ts'
import { JOB_SECONDS_BUCKETS, registerJobMetrics } from './metrics.ts'

const OWNER = 'worker-a'
const LEASE = 30_000

/** The value of one series line, e.g. `name{a="1",b="2"} 3`; undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('buckets run from 1 ms to 10 min in increasing order', () => {
  assert.equal(JOB_SECONDS_BUCKETS[0], 0.001)
  assert.equal(JOB_SECONDS_BUCKETS.at(-1), 600)
  for (let index = 1; index < JOB_SECONDS_BUCKETS.length; index += 1)
    assert.ok(JOB_SECONDS_BUCKETS[index] > JOB_SECONDS_BUCKETS[index - 1])
})

test('a failing depth query leaves the depth series out, counts the error, and the scrape still answers', async () => {
  const registry = new Registry()
  const errors: unknown[] = []
  let fail = false
  registerJobMetrics(registry, {
    engine: {
      overview: async () => {
        if (fail) throw new Error('database is gone')
        return [
          {
            queue: 'q',
            counts: { queued: 4, running: 0, succeeded: 0, failed: 0, cancelled: 0, dead: 0 },
            liveWorkers: 0,
            settings: {
              queue: 'q',
              maxWorkers: null,
              paused: false,
              retentionSeconds: 1,
              backoff: { baseSeconds: 1, factor: 2, maxSeconds: 2, jitter: 0 },
              rateLimit: null,
            },
          },
        ]
      },
    },
    onError: (error) => errors.push(error),
  })
  assert.equal(sample(await registry.metrics(), 'edgeforge_jobs_queue_depth{queue="q",status="queued"}'), 4)
  fail = true
  const text = await registry.metrics()
  assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="q",status="queued"}'), undefined)
  assert.equal(sample(text, 'edgeforge_jobs_metrics_collect_errors_total'), 1)
  assert.equal(errors.length, 1)
})

for (const [backend, open] of backends) {
  describe(`job metrics on ${backend}`, () => {
    test('depth by queue and status at scrape time, wait and run histograms, finishes by outcome, live workers', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const registry = new Registry()
      const metrics = registerJobMetrics(registry, { engine })
      await engine.announceWorker('runner-1', ['emails'], LEASE)
      await engine.announceWorker('runner-2', ['emails'], LEASE)

      await engine.enqueueBatch([{ queue: 'emails' }, { queue: 'emails' }, { queue: 'emails' }])
      const { job: other } = await engine.enqueue({ queue: 'other' })
      let text = await registry.metrics()
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="emails",status="queued"}'), 3)
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="emails",status="running"}'), 0)
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="other",status="queued"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_live_workers{queue="emails"}'), 2)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_count{queue="emails"}'), undefined)

      const [first, second] = await engine.claim({
        queues: ['emails'],
        owner: OWNER,
        limit: 2,
        leaseMs: LEASE,
      })
      // Explicit start times make the observed waits exact: 250 ms and 2 s after the jobs were due.
      metrics.observeStart(first, Math.max(first.runAt, first.createdAt) + 250)
      metrics.observeStart(second, Math.max(second.runAt, second.createdAt) + 2000)
      await engine.complete(first.id, OWNER, { sent: true })
      metrics.observeFinish(first, 'succeeded', 0.04)
      const failed = await engine.fail(second.id, OWNER, new Error('smtp down'))
      assert.deepEqual([failed.ok, failed.ok && failed.status], [true, 'queued'])
      metrics.observeFinish(second, 'retried', 3)
      await engine.deleteJob(other.id)
      await engine.announceWorker('runner-2', ['thumbs'], LEASE)
      await engine.announceWorker('runner-3', ['thumbs'], LEASE)
      await engine.announceWorker('runner-4', ['thumbs'], LEASE)

      text = await registry.metrics()
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="emails",status="queued"}'), 2)
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="emails",status="succeeded"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="emails",status="running"}'), 0)
      // The deleted queue's series is gone, not stuck at its last value.
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="other",status="queued"}'), undefined)

      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_count{queue="emails"}'), 2)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_sum{queue="emails"}'), 2.25)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_bucket{le="0.1",queue="emails"}'), 0)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_bucket{le="0.25",queue="emails"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_bucket{le="2.5",queue="emails"}'), 2)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_bucket{le="+Inf",queue="emails"}'), 2)

      assert.equal(sample(text, 'edgeforge_jobs_run_seconds_count{queue="emails"}'), 2)
      assert.equal(sample(text, 'edgeforge_jobs_run_seconds_bucket{le="0.001",queue="emails"}'), 0)
      assert.equal(sample(text, 'edgeforge_jobs_run_seconds_bucket{le="0.05",queue="emails"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_run_seconds_bucket{le="600",queue="emails"}'), 2)

      assert.equal(sample(text, 'edgeforge_jobs_finished_total{queue="emails",outcome="succeeded"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_finished_total{queue="emails",outcome="retried"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_finished_total{queue="emails",outcome="failed"}'), undefined)

      assert.equal(sample(text, 'edgeforge_jobs_live_workers{queue="emails"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_live_workers{queue="thumbs"}'), 3)
      for (const help of [
        'edgeforge_jobs_queue_depth gauge',
        'edgeforge_jobs_wait_seconds histogram',
        'edgeforge_jobs_run_seconds histogram',
        'edgeforge_jobs_finished_total counter',
        'edgeforge_jobs_live_workers gauge',
      ])
        assert.ok(text.includes(`# TYPE ${help}`), help)
    })

    test('GET /metrics serves the job series beside the gateway and process series', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const metrics = new Metrics()
      const jobMetrics = registerJobMetrics(metrics.registry, { engine })
      await engine.announceWorker('runner-1', ['emails'], LEASE)
      const app = await createControlApp({
        logger: pino({ level: 'silent' }),
        adminToken: '',
        version: 'test',
      })
      systemRoutes(app, {
        version: 'test',
        metrics,
        stats: async () => {
          throw new Error('not used')
        },
      })
      await app.ready()
      store.defer(() => app.close())

      const { job } = await engine.enqueue({ queue: 'emails' })
      const [claimed] = await engine.claim({ queues: ['emails'], owner: OWNER, limit: 1, leaseMs: LEASE })
      jobMetrics.observeStart(claimed, claimed.runAt + 5)
      await engine.fail(claimed.id, OWNER, new Error('bad address'), { unrecoverable: true })
      jobMetrics.observeFinish(claimed, 'dead', 0.5)
      metrics.observe('hello', 200, 0.002)

      const response = await app.inject({ method: 'GET', url: '/metrics' })
      assert.equal(response.statusCode, 200)
      assert.match(String(response.headers['content-type']), /^text\/plain/)
      const text = response.body
      assert.equal(job.id, claimed.id)
      assert.equal(sample(text, 'edgeforge_jobs_queue_depth{queue="emails",status="dead"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_finished_total{queue="emails",outcome="dead"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_wait_seconds_count{queue="emails"}'), 1)
      assert.equal(sample(text, 'edgeforge_jobs_live_workers{queue="emails"}'), 1)
      assert.equal(sample(text, 'edgeforge_gateway_requests_total{endpoint="hello",status="200"}'), 1)
      assert.ok(text.includes('edgeforge_process_'))
    })
  })
}
