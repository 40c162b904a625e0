import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, test } from 'node:test'
import { jobsApi, openApiDocument, type ReplyBody } from '@edgeforge/protocol'
import pino from 'pino'
import { backends, engineFor, type TestStore } from '../../../test/support/jobs.ts'
import { createControlApp } from '../../http/app.ts'
import { type Db, migrate } from '../../store/index.ts'
import { PostgresDb } from '../../store/postgres.ts'
import type { SqliteDb } from '../../store/sqlite.ts'
import { createCronScheduler } from '../engine/cron.ts'
import type { QueueEngineOptions } from '../engine/engine.ts'
import { isTransientStoreError, mapStoreError } from './errors.ts'
import { jobsRoutes } from './routes.ts'

/** An injected reply: the envelope as protocol's ReplyBody, plus the raw text and headers. */
interface Reply {
  status: number
  headers: Record<string, unknown>
  text: string
  body: ReplyBody
}

type Row = Record<string, unknown>

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const BOOTED_AT = Date.UTC(2030, 0, 2, 3, 4, 5, 6)

async function serve(store: TestStore, options: { db?: Db; engine?: QueueEngineOptions } = {}) {
  const db = options.db ?? store.db
  const engine = engineFor(store, db, options.engine)
  const cron = createCronScheduler(engine)
  const schemaVersion = await migrate(store.db)
  const app = await createControlApp({ logger: pino({ level: 'silent' }), adminToken: '', version: 'test' })
  jobsRoutes(app, {
    engine,
    cron,
    db,
    schemaVersion,
    bootedAt: BOOTED_AT,
  })
  await app.ready()
  store.defer(() => app.close())
  const call = async (method: string, url: string, payload?: unknown): Promise<Reply> => {
    const response = await app.inject({
      method: method as 'GET',
      url,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    })
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: response.json(),
    }
  }
  return { call, engine, cron, schemaVersion, db }
}

function data<T = Row>(reply: Reply, status = 200): T {
  assert.equal(reply.status, status, reply.text)
  assert.equal(reply.body.ok, true, reply.text)
  return reply.body.data as T
}

/** Asserts a failure reply: status, stable code and (when given) the field it names. */
function assertError(
  reply: Reply,
  status: number,
  code: string,
  field?: string,
): { code: string; message: string; details?: Record<string, unknown> } | undefined {
  assert.equal(reply.status, status, reply.text)
  assert.equal(reply.body.ok, false)
  const error = reply.body.error as
    | { code: string; message: string; details?: Record<string, unknown> }
    | undefined
  assert.equal(error?.code, code, error?.message)
  if (field !== undefined) assert.equal(error?.details?.field, field, error?.message)
  return error
}

const JOB_FIELDS = [
  'attempts',
  'cancel_requested',
  'created_at',
  'dedup_key',
  'finished_at',
  'id',
  'last_error',
  'lease_expires_at',
  'lease_owner',
  'max_attempts',
  'payload',
  'priority',
  'progress',
  'queue',
  'result',
  'run_at',
  'started_at',
  'status',
  'updated_at',
]

describe('store error mapping', () => {
  test('busy and lock errors of both drivers become 409 conflict; others pass through untouched', () => {
    const transient = [
      Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 }),
      Object.assign(new Error('database table is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 6 }),
      Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 517 }),
      Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }),
      Object.assign(new Error('deadlock detected'), { code: '40P01' }),
      Object.assign(new Error('could not serialize access'), { code: '40001' }),
      new Error('timeout exceeded when trying to connect'),
    ]
    for (const error of transient) {
      assert.equal(isTransientStoreError(error), true, error.message)
      const mapped = mapStoreError(error) as {
        code: string
        status: number
        message: string
        details: unknown
      }
      assert.equal(mapped.code, 'conflict')
      assert.equal(mapped.status, 409)
      assert.match(mapped.message, /retry/)
      assert.doesNotMatch(mapped.message, /lock timeout|deadlock|serialize/)
      assert.deepEqual(mapped.details, { retryable: true })
    }
    const other = [
      Object.assign(new Error('UNIQUE constraint failed: jobs.id'), {
        code: 'ERR_SQLITE_ERROR',
        errcode: 19,
      }),
      Object.assign(new Error('relation "jobs" does not exist'), { code: '42P01' }),
      new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      'a string',
      null,
    ]
    for (const error of other) {
      assert.equal(isTransientStoreError(error), false, String(error))
      assert.equal(mapStoreError(error), error)
    }
  })
})

const ROUTES: Array<[method: string, path: string, tag: string]> = [
  ['GET', '/queue/overview', 'queues'],
  ['POST', '/queue/{name}/backoff', 'queues'],
  ['POST', '/queue/{name}/max-workers', 'queues'],
  ['POST', '/queue/{name}/paused', 'queues'],
  ['POST', '/queue/{name}/retention', 'queues'],
  ['POST', '/queue/{name}/rate-limit', 'queues'],
  ['POST', '/queue/{name}/retry-failed', 'queues'],
  ['POST', '/jobs', 'jobs'],
  ['GET', '/jobs', 'jobs'],
  ['GET', '/jobs/{id}', 'jobs'],
  ['GET', '/jobs/{id}/log', 'jobs'],
  ['POST', '/jobs/{id}/retry', 'jobs'],
  ['POST', '/jobs/{id}/cancel', 'jobs'],
  ['DELETE', '/jobs/{id}', 'jobs'],
  ['GET', '/cron', 'cron'],
  ['POST', '/cron', 'cron'],
  ['GET', '/cron/{name}', 'cron'],
  ['PUT', '/cron/{name}', 'cron'],
  ['DELETE', '/cron/{name}', 'cron'],
  ['POST', '/cron/{name}/trigger', 'cron'],
  ['GET', '/storage/info', 'storage'],
]

test('every job route is declared, in the OpenAPI document with a summary, and in docs/api.md', () => {
  const doc = openApiDocument(Object.values(jobsApi), { version: 'test' }) as {
    paths: Record<string, Record<string, { tags?: string[]; summary?: string }>>
  }
  const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  )
  assert.deepEqual(documented.sort(), ROUTES.map(([method, path]) => `${method} ${path}`).sort())
  const apiDoc = readFileSync(
    join(import.meta.dirname, '..', '..', '..', '..', '..', 'docs', 'api.md'),
    'utf8',
  )
  for (const [method, path] of ROUTES) {
    const operation = doc.paths[path][method.toLowerCase()]
    assert.deepEqual(operation.tags, ['jobs'], `${method} ${path}`)
    assert.ok(operation.summary, `${method} ${path} has a summary`)
    assert.ok(apiDoc.includes(`\`${method} ${path}\``), `docs/api.md lists ${method} ${path}`)
  }
})

for (const [backend, open] of backends) {
  describe(`job routes on ${backend}`, () => {
    test('queue settings: each route validates, stores and returns the whole settings', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)

      const backoff = data(
        await call('POST', '/queue/emails/backoff', {
          base_seconds: 2,
          factor: 3,
          max_seconds: 60,
          jitter: 0,
        }),
      )
      assert.deepEqual(Object.keys(backoff).sort(), [
        'backoff',
        'max_workers',
        'paused',
        'queue',
        'rate_limit',
        'retention_seconds',
      ])
      assert.deepEqual(backoff.backoff, { base_seconds: 2, factor: 3, max_seconds: 60, jitter: 0 })
      const partial = data(await call('POST', '/queue/emails/backoff', { max_seconds: 120 }))
      assert.deepEqual(partial.backoff, { base_seconds: 2, factor: 3, max_seconds: 120, jitter: 0 })
      assert.deepEqual((await engine.getQueueSettings('emails')).backoff, {
        baseSeconds: 2,
        factor: 3,
        maxSeconds: 120,
        jitter: 0,
      })
      assertError(
        await call('POST', '/queue/emails/backoff', { factor: 0.5 }),
        400,
        'validation_failed',
        'body.factor',
      )
      assertError(
        await call('POST', '/queue/emails/backoff', { jitter: 2 }),
        400,
        'validation_failed',
        'body.jitter',
      )
      const below = assertError(
        await call('POST', '/queue/emails/backoff', { max_seconds: 1 }),
        400,
        'validation_failed',
        'body.max_seconds',
      )
      assert.match(below?.message ?? '', /^body\.max_seconds must be at least/)
      assertError(await call('POST', '/queue/emails/backoff', {}), 400, 'validation_failed', 'body')
      assertError(
        await call('POST', '/queue/emails/backoff', { base: 1 }),
        400,
        'validation_failed',
        'body.base',
      )
      assertError(
        await call('POST', '/queue/Not%20A%20Queue/backoff', { factor: 2 }),
        400,
        'validation_failed',
        'params.name',
      )

      assert.equal(data(await call('POST', '/queue/emails/max-workers', { max_workers: 4 })).max_workers, 4)
      assert.equal(
        data(await call('POST', '/queue/emails/max-workers', { max_workers: null })).max_workers,
        null,
      )
      // 0 and null stay apart (a coercing validator would turn null into 0 inside a union).
      assert.equal(data(await call('POST', '/queue/emails/max-workers', { max_workers: 0 })).max_workers, 0)
      assert.equal((await engine.getQueueSettings('emails')).maxWorkers, 0)
      assert.equal(
        data(await call('POST', '/queue/emails/max-workers', { max_workers: null })).max_workers,
        null,
      )
      assert.equal((await engine.getQueueSettings('emails')).maxWorkers, null)
      assertError(
        await call('POST', '/queue/emails/max-workers', { max_workers: -1 }),
        400,
        'validation_failed',
        'body.max_workers',
      )
      assertError(
        await call('POST', '/queue/emails/max-workers', {}),
        400,
        'validation_failed',
        'body.max_workers',
      )

      assert.equal(data(await call('POST', '/queue/emails/paused', { paused: true })).paused, true)
      assert.equal((await engine.getQueueSettings('emails')).paused, true)
      assert.equal(data(await call('POST', '/queue/emails/paused', { paused: false })).paused, false)
      assertError(
        await call('POST', '/queue/emails/paused', { paused: 'maybe' }),
        400,
        'validation_failed',
        'body.paused',
      )

      assert.equal(data(await call('POST', '/queue/emails/retention', { seconds: 60 })).retention_seconds, 60)
      assertError(
        await call('POST', '/queue/emails/retention', { seconds: -1 }),
        400,
        'validation_failed',
        'body.seconds',
      )
      assertError(
        await call('POST', '/queue/emails/retention', { seconds: 1.5 }),
        400,
        'validation_failed',
        'body.seconds',
      )

      const limited = data(await call('POST', '/queue/emails/rate-limit', { per_second: 2, burst: 5 }))
      assert.deepEqual(limited.rate_limit, { per_second: 2, burst: 5 })
      const defaultBurst = data(await call('POST', '/queue/emails/rate-limit', { per_second: 2.5 }))
      assert.deepEqual(defaultBurst.rate_limit, { per_second: 2.5, burst: 3 })
      assert.equal(data(await call('POST', '/queue/emails/rate-limit', { per_second: 0 })).rate_limit, null)
      assert.deepEqual(
        data(await call('POST', '/queue/emails/rate-limit', { per_second: 1, burst: 1 })).rate_limit,
        { per_second: 1, burst: 1 },
      )
      assert.equal(
        data(await call('POST', '/queue/emails/rate-limit', { per_second: null })).rate_limit,
        null,
      )
      assertError(
        await call('POST', '/queue/emails/rate-limit', { per_second: 0.0001 }),
        400,
        'validation_failed',
        'body.per_second',
      )
      assertError(
        await call('POST', '/queue/emails/rate-limit', { per_second: 1, burst: 0 }),
        400,
        'validation_failed',
        'body.burst',
      )
      assertError(
        await call('POST', '/queue/emails/rate-limit', { burst: 3 }),
        400,
        'validation_failed',
        'body.per_second',
      )

      const settings = await engine.getQueueSettings('emails')
      assert.deepEqual(settings, {
        queue: 'emails',
        maxWorkers: null,
        paused: false,
        retentionSeconds: 60,
        backoff: { baseSeconds: 2, factor: 3, maxSeconds: 120, jitter: 0 },
        rateLimit: null,
      })
    })

    test('overview: every queue with jobs, settings or a live worker, counts by status', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)
      await engine.announceWorker('runner-1', ['thumbs', 'emails'], 30_000)
      await engine.announceWorker('runner-2', ['thumbs'], 30_000)
      await engine.enqueueBatch([{ queue: 'emails' }, { queue: 'emails' }, { queue: 'emails' }])
      const [claimed] = await engine.claim({ queues: ['emails'], owner: 'w', limit: 1, leaseMs: 30_000 })
      await engine.complete(claimed.id, 'w', { ok: true })
      await engine.claim({ queues: ['emails'], owner: 'w', limit: 1, leaseMs: 30_000 })
      await engine.setQueueSettings('reports', { paused: true })

      const overview = data<Row[]>(await call('GET', '/queue/overview'))
      assert.deepEqual(
        overview.map((queue) => queue.queue),
        ['emails', 'reports', 'thumbs'],
      )
      const [emails, reports, thumbs] = overview
      assert.deepEqual(emails.counts, {
        queued: 1,
        running: 1,
        succeeded: 1,
        failed: 0,
        cancelled: 0,
        dead: 0,
      })
      assert.equal(emails.live_workers, 1)
      assert.equal((emails.settings as Row).paused, false)
      assert.equal((reports.settings as Row).paused, true)
      assert.equal(reports.live_workers, 0)
      assert.deepEqual(thumbs.counts, {
        queued: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        dead: 0,
      })
      assert.equal(thumbs.live_workers, 2)
      assert.deepEqual(Object.keys(thumbs.settings as Row).sort(), [
        'backoff',
        'max_workers',
        'paused',
        'queue',
        'rate_limit',
        'retention_seconds',
      ])
    })

    test('POST /jobs: one job, 201, wire shape, dedup keep and replace, delays', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call } = await serve(store)
      const before = Date.now()
      const created = data<Row>(
        await call('POST', '/jobs', { queue: 'emails', payload: { to: 'a@example.com' } }),
        201,
      )
      assert.deepEqual(Object.keys(created).sort(), ['deduplicated', 'job', 'replaced'])
      assert.equal(created.deduplicated, false)
      const job = created.job as Row
      assert.deepEqual(Object.keys(job).sort(), JOB_FIELDS)
      assert.deepEqual(job.payload, { to: 'a@example.com' })
      assert.equal(job.status, 'queued')
      assert.equal(job.priority, 0)
      assert.equal(job.attempts, 0)
      assert.equal(job.max_attempts, 3)
      for (const field of ['created_at', 'run_at', 'updated_at']) assert.match(String(job[field]), ISO)
      for (const field of ['started_at', 'finished_at', 'lease_expires_at', 'dedup_key', 'result'])
        assert.equal(job[field], null, field)

      const delayed = data<Row>(
        await call('POST', '/jobs', { queue: 'emails', delay_seconds: 3600, priority: 7, max_attempts: 5 }),
        201,
      )
      const delayedJob = delayed.job as Row
      assert.ok(Date.parse(String(delayedJob.run_at)) >= before + 3_600_000)
      assert.deepEqual([delayedJob.priority, delayedJob.max_attempts, delayedJob.payload], [7, 5, null])
      const at = '2031-05-06T07:08:09.010Z'
      const scheduled = data<Row>(await call('POST', '/jobs', { queue: 'emails', run_at: at }), 201)
      assert.equal((scheduled.job as Row).run_at, at)

      const first = data<Row>(
        await call('POST', '/jobs', { queue: 'emails', payload: 1, dedup_key: 'welcome:a' }),
        201,
      )
      const again = data<Row>(
        await call('POST', '/jobs', { queue: 'emails', payload: 2, dedup_key: 'welcome:a' }),
        201,
      )
      assert.equal(again.deduplicated, true)
      assert.equal(again.replaced, false)
      assert.equal((again.job as Row).id, (first.job as Row).id)
      assert.equal((again.job as Row).payload, 1)
      const replaced = data<Row>(
        await call('POST', '/jobs', {
          queue: 'emails',
          payload: 3,
          dedup_key: 'welcome:a',
          dedup_mode: 'replace',
        }),
        201,
      )
      assert.deepEqual([replaced.deduplicated, replaced.replaced], [true, true])
      assert.equal((replaced.job as Row).id, (first.job as Row).id)
      assert.equal((replaced.job as Row).payload, 3)
      assert.equal((replaced.job as Row).dedup_key, 'welcome:a')
    })

    test('POST /jobs: 400 names the field, for one job and inside a batch', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store, { engine: { maxPayloadBytes: 64 } })
      assertError(await call('POST', '/jobs', { payload: 1 }), 400, 'validation_failed', 'body.queue')
      assertError(await call('POST', '/jobs', { queue: 'Bad Name' }), 400, 'validation_failed', 'body.queue')
      assertError(
        await call('POST', '/jobs', { queue: 'q', color: 'red' }),
        400,
        'validation_failed',
        'body.color',
      )
      assertError(
        await call('POST', '/jobs', { queue: 'q', priority: 40_000 }),
        400,
        'validation_failed',
        'body.priority',
      )
      assertError(
        await call('POST', '/jobs', { queue: 'q', max_attempts: 0 }),
        400,
        'validation_failed',
        'body.max_attempts',
      )
      assertError(
        await call('POST', '/jobs', { queue: 'q', run_at: 'tomorrow' }),
        400,
        'validation_failed',
        'body.run_at',
      )
      assertError(
        await call('POST', '/jobs', { queue: 'q', delay_seconds: -1 }),
        400,
        'validation_failed',
        'body.delay_seconds',
      )
      assertError(
        await call('POST', '/jobs', { queue: 'q', dedup_key: '' }),
        400,
        'validation_failed',
        'body.dedup_key',
      )
      assertError(
        await call('POST', '/jobs', { queue: 'q', dedup_mode: 'merge' }),
        400,
        'validation_failed',
        'body.dedup_mode',
      )
      const tooBig = assertError(
        await call('POST', '/jobs', { queue: 'q', payload: 'x'.repeat(100) }),
        400,
        'validation_failed',
        'body.payload',
      )
      assert.match(tooBig?.message ?? '', /^body\.payload is \d+ bytes/)

      assertError(await call('POST', '/jobs', { jobs: [] }), 400, 'validation_failed', 'body.jobs')
      assertError(
        await call('POST', '/jobs', { jobs: [{ queue: 'q' }, { queue: 'Q!' }] }),
        400,
        'validation_failed',
        'body.jobs.1.queue',
      )
      assertError(
        await call('POST', '/jobs', { jobs: [{ queue: 'q' }], queue: 'q' }),
        400,
        'validation_failed',
        'body.queue',
      )
      assertError(
        await call('POST', '/jobs', {
          jobs: [{ queue: 'q' }, { queue: 'q' }, { queue: 'q', payload: 'y'.repeat(100) }],
        }),
        400,
        'validation_failed',
        'body.jobs.2.payload',
      )
      assertError(await call('POST', '/jobs', [{ queue: 'q' }]), 400, 'validation_failed', 'body')
      // All or nothing: the valid jobs of the rejected batches were not stored either.
      assert.deepEqual((await engine.listJobs()).jobs, [])
    })

    test('POST /jobs: a batch is stored in order, with dedup per job', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)
      const live = data<Row>(await call('POST', '/jobs', { queue: 'b', dedup_key: 'k' }), 201).job as Row
      const batch = data<{ jobs: Row[] }>(
        await call('POST', '/jobs', {
          jobs: [
            { queue: 'a', payload: 0 },
            { queue: 'b', payload: 1, dedup_key: 'k' },
            { queue: 'a', payload: 2, priority: 5 },
          ],
        }),
        201,
      )
      assert.equal(batch.jobs.length, 3)
      assert.deepEqual(
        batch.jobs.map((result) => result.deduplicated),
        [false, true, false],
      )
      const jobs = batch.jobs.map((result) => result.job as Row)
      assert.deepEqual(
        jobs.map((job) => job.queue),
        ['a', 'b', 'a'],
      )
      assert.equal(jobs[1].id, live.id)
      assert.deepEqual([jobs[0].payload, jobs[2].payload, jobs[2].priority], [0, 2, 5])
      assert.equal((await engine.listJobs({ queue: 'a' })).jobs.length, 2)
      assert.equal((await engine.listJobs({ queue: 'b' })).jobs.length, 1)
    })

    test('POST /jobs: beyond the rate limit, 429 rate_limited with retry_after_seconds and Retry-After', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)
      // One token, refilled once in 1000 s: the second enqueue is refused however slow the machine.
      data(await call('POST', '/queue/limited/rate-limit', { per_second: 0.001, burst: 1 }))
      data(await call('POST', '/jobs', { queue: 'limited' }), 201)
      const refused = await call('POST', '/jobs', { queue: 'limited' })
      const error = assertError(refused, 429, 'rate_limited')
      const seconds = error?.details?.retry_after_seconds
      assert.ok(typeof seconds === 'number' && Number.isInteger(seconds) && seconds > 900, String(seconds))
      assert.equal(refused.headers['retry-after'], String(seconds))
      const batch = await call('POST', '/jobs', { jobs: [{ queue: 'limited' }] })
      assertError(batch, 429, 'rate_limited')
      assert.ok(batch.headers['retry-after'])
      assertError(
        await call('POST', '/jobs', { jobs: [{ queue: 'limited' }, { queue: 'limited' }] }),
        400,
        'validation_failed',
        'body.jobs',
      )
      // Other queues are not limited; other errors carry no Retry-After.
      data(await call('POST', '/jobs', { queue: 'free' }), 201)
      const notFound = await call('GET', '/jobs/nope')
      assertError(notFound, 404, 'not_found')
      assert.equal(notFound.headers['retry-after'], undefined)
      assert.equal((await engine.listJobs({ queue: 'limited' })).jobs.length, 1)
    })

    test('GET /jobs: filters and pages with continuation_token, oldest first', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)
      const a = await engine.enqueueBatch(
        Array.from({ length: 5 }, (_, index) => ({ queue: 'a', payload: index })),
      )
      const b = await engine.enqueueBatch([{ queue: 'b' }, { queue: 'b' }])
      await engine.cancel(b[1].job.id)
      const all = [...a, ...b].map((result) => result.job.id).sort()

      const seen: string[] = []
      let token: string | null | undefined
      let pages = 0
      do {
        const url = `/jobs?limit=3${token ? `&continuation_token=${encodeURIComponent(token)}` : ''}`
        const reply = await call('GET', url)
        const page = data<Row[]>(reply)
        assert.ok(page.length <= 3)
        for (const job of page) seen.push(String(job.id))
        token = reply.body.continuation_token
        assert.notEqual(token, undefined, 'continuation_token is always present: a string or null')
        pages += 1
      } while (token)
      assert.equal(pages, 3)
      assert.deepEqual(seen, all)

      const onlyB = data<Row[]>(await call('GET', '/jobs?queue=b'))
      assert.deepEqual(
        onlyB.map((job) => job.id),
        b.map((result) => result.job.id),
      )
      const cancelled = await call('GET', '/jobs?queue=b&status=cancelled')
      assert.deepEqual(
        data<Row[]>(cancelled).map((job) => job.id),
        [b[1].job.id],
      )
      assert.equal(cancelled.body.continuation_token, null)
      assert.equal(data<Row[]>(await call('GET', '/jobs?status=queued')).length, 6)

      assertError(await call('GET', '/jobs?limit=0'), 400, 'validation_failed', 'querystring.limit')
      assertError(await call('GET', '/jobs?limit=1001'), 400, 'validation_failed', 'querystring.limit')
      assertError(await call('GET', '/jobs?status=lost'), 400, 'validation_failed', 'querystring.status')
      assertError(await call('GET', '/jobs?queue=B!'), 400, 'validation_failed', 'querystring.queue')
      assertError(await call('GET', '/jobs?sort=id'), 400, 'validation_failed', 'querystring.sort')
      assertError(
        await call('GET', '/jobs?continuation_token=not-ours'),
        400,
        'validation_failed',
        'querystring.continuation_token',
      )
    })

    test('GET /jobs/{id} with its log; retry, cancel, delete and their 404/409', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)
      const { job } = await engine.enqueue({ queue: 'q', payload: { n: 1 } })
      const [running] = await engine.claim({ queues: ['q'], owner: 'w', limit: 1, leaseMs: 30_000 })
      assert.equal(running.id, job.id)
      await engine.appendLog(job.id, 'first line')
      await engine.appendLog(job.id, 'second line')

      const got = data<Row>(await call('GET', `/jobs/${job.id}`))
      assert.deepEqual(Object.keys(got).sort(), [...JOB_FIELDS, 'log_lines', 'logs'].sort())
      assert.equal(got.log_lines, 2)
      assert.equal(got.status, 'running')
      assert.equal(got.lease_owner, 'w')
      assert.match(String(got.started_at), ISO)
      assert.match(String(got.lease_expires_at), ISO)
      const logs = got.logs as Row[]
      assert.deepEqual(
        logs.map((log) => log.line),
        ['first line', 'second line'],
      )
      assert.match(String(logs[0].at), ISO)
      const unknown = '01900000-0000-7000-8000-000000000000'
      assertError(await call('GET', `/jobs/${unknown}`), 404, 'not_found')

      // Running: retry and delete are conflicts; cancel asks the runner to stop.
      assert.equal(
        assertError(await call('POST', `/jobs/${job.id}/retry`), 409, 'conflict')?.details?.status,
        'running',
      )
      assertError(await call('DELETE', `/jobs/${job.id}`), 409, 'conflict')
      assert.deepEqual(data(await call('POST', `/jobs/${job.id}/cancel`)), {
        status: 'running',
        cancel_requested: true,
        changed: true,
      })
      await engine.fail(job.id, 'w', 'stopped on request')
      assert.deepEqual(data(await call('POST', `/jobs/${job.id}/cancel`)), {
        status: 'cancelled',
        cancel_requested: true,
        changed: false,
      })

      const retried = data<Row>(await call('POST', `/jobs/${job.id}/retry`))
      assert.deepEqual([retried.id, retried.status, retried.attempts], [job.id, 'queued', 0])
      assert.equal(
        assertError(await call('POST', `/jobs/${job.id}/retry`), 409, 'conflict')?.details?.status,
        'queued',
      )
      assert.deepEqual(data(await call('POST', `/jobs/${job.id}/cancel`)), {
        status: 'cancelled',
        cancel_requested: false,
        changed: true,
      })
      assertError(await call('POST', `/jobs/${unknown}/retry`), 404, 'not_found')
      assertError(await call('POST', `/jobs/${unknown}/cancel`), 404, 'not_found')

      assert.deepEqual((await call('DELETE', `/jobs/${job.id}`)).body, { ok: true, data: null })
      assertError(await call('GET', `/jobs/${job.id}`), 404, 'not_found')
      assertError(await call('DELETE', `/jobs/${job.id}`), 404, 'not_found')
      assertError(await call('GET', `/jobs/${'x'.repeat(65)}`), 400, 'validation_failed', 'params.id')
    })

    test('POST /queue/{name}/retry-failed queues the failed jobs again', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call, engine } = await serve(store)
      await engine.enqueueBatch([
        { queue: 'q', maxAttempts: 1 },
        { queue: 'q', maxAttempts: 1 },
        { queue: 'q' },
      ])
      const claimed = await engine.claim({ queues: ['q'], owner: 'w', limit: 2, leaseMs: 30_000 })
      for (const job of claimed) await engine.fail(job.id, 'w', new Error('smtp down'))
      assert.equal((await engine.listJobs({ status: 'failed' })).jobs.length, 2)

      assert.deepEqual(data(await call('POST', '/queue/q/retry-failed')), { queue: 'q', retried: 2 })
      assert.equal((await engine.listJobs({ status: 'queued' })).jobs.length, 3)
      assert.deepEqual(data(await call('POST', '/queue/q/retry-failed')), { queue: 'q', retried: 0 })
      assert.deepEqual(data(await call('POST', '/queue/empty/retry-failed')), { queue: 'empty', retried: 0 })
      assertError(await call('POST', '/queue/-x/retry-failed'), 400, 'validation_failed', 'params.name')
    })

    test('cron: CRUD, 400/404/409, and trigger enqueues a job', async (t) => {
      const store = await open(t)
      if (!store) return
      const { call } = await serve(store)
      const created = data<Row>(
        await call('POST', '/cron', {
          name: 'nightly',
          cron: '0 3 * * *',
          queue: 'reports',
          payload: { full: true },
          max_attempts: 2,
        }),
        201,
      )
      assert.deepEqual(Object.keys(created).sort(), [
        'created_at',
        'cron',
        'enabled',
        'last_fired_at',
        'max_attempts',
        'name',
        'next_fire_at',
        'payload',
        'priority',
        'queue',
        'timezone',
        'updated_at',
      ])
      assert.equal(created.timezone, 'UTC')
      assert.match(String(created.next_fire_at), /T03:00:00\.000Z$/)
      assert.equal(created.last_fired_at, null)
      assert.deepEqual([created.enabled, created.priority, created.max_attempts], [true, 0, 2])

      assertError(
        await call('POST', '/cron', { name: 'nightly', cron: '* * * * *', queue: 'reports' }),
        409,
        'conflict',
      )
      assertError(
        await call('POST', '/cron', { name: 'bad', cron: 'every day', queue: 'reports' }),
        400,
        'validation_failed',
        'body.cron',
      )
      assertError(
        await call('POST', '/cron', { name: 'x', queue: 'reports' }),
        400,
        'validation_failed',
        'body.cron',
      )
      assertError(
        await call('POST', '/cron', { name: 'x', cron: '* * * * *', queue: 'r', every: 5 }),
        400,
        'validation_failed',
        'body.every',
      )

      assert.deepEqual(data(await call('GET', '/cron/nightly')), created)
      assert.deepEqual(
        data<Row[]>(await call('GET', '/cron')).map((schedule) => schedule.name),
        ['nightly'],
      )
      const updated = data<Row>(
        await call('PUT', '/cron/nightly', { cron: '30 4 * * *', timezone: 'Europe/Berlin', enabled: false }),
      )
      assert.deepEqual(
        [updated.cron, updated.timezone, updated.enabled],
        ['30 4 * * *', 'Europe/Berlin', false],
      )
      assert.deepEqual(updated.payload, { full: true })
      assertError(
        await call('PUT', '/cron/nightly', { name: 'renamed' }),
        400,
        'validation_failed',
        'body.name',
      )
      assertError(await call('PUT', '/cron/nightly', { cron: 'nope' }), 400, 'validation_failed', 'body.cron')
      assertError(await call('PUT', '/cron/missing', { enabled: true }), 404, 'not_found')
      assertError(await call('GET', '/cron/missing'), 404, 'not_found')

      const triggered = data<Row>(await call('POST', '/cron/nightly/trigger'), 201)
      const job = triggered.job as Row
      assert.deepEqual([job.queue, job.status, job.max_attempts], ['reports', 'queued', 2])
      assert.deepEqual(job.payload, { full: true })
      assert.match(String(job.dedup_key), /^cron:nightly:\d{4}-/)
      assert.deepEqual(
        data<Row[]>(await call('GET', '/jobs?queue=reports')).map((listed) => listed.id),
        [job.id],
      )
      assertError(await call('POST', '/cron/missing/trigger'), 404, 'not_found')

      assert.deepEqual((await call('DELETE', '/cron/nightly')).body, { ok: true, data: null })
      assertError(await call('GET', '/cron/nightly'), 404, 'not_found')
      assertError(await call('DELETE', '/cron/nightly'), 404, 'not_found')
      assert.deepEqual(data(await call('GET', '/cron')), [])
      // The job it enqueued stays.
      assert.equal(data<Row[]>(await call('GET', '/jobs?queue=reports')).length, 1)
    })

    test('GET /storage/info: backend, schema version, size, boot time, never a password', async (t) => {
      const store = await open(t)
      if (!store) return
      let db: Db = store.db
      let secret: string | undefined
      if (store.db instanceof PostgresDb) {
        // A URL with a password: the store's own if it has one, else one the server ignores (trust auth).
        const url = new URL(store.db.url)
        if (!url.password) url.password = 'edgeforge-test-secret'
        secret = decodeURIComponent(url.password)
        db = new PostgresDb(url.toString())
        const opened = db
        store.defer(() => opened.close())
      }
      const { call, schemaVersion } = await serve(store, { db })
      const reply = await call('GET', '/storage/info')
      const info = data<Row>(reply)
      assert.deepEqual(Object.keys(info).sort(), [
        'backend',
        'booted_at',
        'location',
        'schema_version',
        'server_version',
        'size_bytes',
      ])
      assert.equal(info.backend, backend)
      assert.ok(schemaVersion > 0)
      assert.equal(info.schema_version, schemaVersion)
      assert.equal(info.booted_at, '2030-01-02T03:04:05.006Z')
      assert.ok(typeof info.size_bytes === 'number' && info.size_bytes > 0, String(info.size_bytes))
      if (backend === 'postgres') {
        assert.match(String(info.server_version), /^\d+/)
        assert.match(String(info.location), /^postgres(ql)?:\/\//)
        assert.ok(secret)
        assert.ok(!reply.text.includes(secret), reply.text)
        assert.ok(!reply.text.includes(encodeURIComponent(secret)), reply.text)
      } else {
        assert.equal(info.server_version, null)
        assert.equal(info.location, (store.db as SqliteDb).path)
      }
      assert.doesNotMatch(reply.text, /password/i)
    })

    test('a failing store answers 500 internal without the driver message', async (t) => {
      const store = await open(t)
      if (!store) return
      const broken: Db = Object.create(store.db, {
        describe: {
          value: async () => {
            throw new Error('connect failed for postgres://app:leaked-secret@db/edgeforge')
          },
        },
      })
      const { call } = await serve(store, { db: broken })
      const reply = await call('GET', '/storage/info')
      assertError(reply, 500, 'internal')
      assert.doesNotMatch(reply.text, /leaked-secret|connect failed/)
    })

    test('a locked database answers 409 conflict saying to retry, and nothing is stored', async (t) => {
      const store = await open(t)
      if (!store) return
      let db: Db = store.db
      if (store.db instanceof PostgresDb) {
        // Connections opened after this wait at most 50 ms for a lock.
        const name = (await store.db.get<{ name: string }>('SELECT current_database() AS name'))?.name
        await store.db.run(`ALTER DATABASE ${name} SET lock_timeout = '50ms'`)
        db = await store.connect()
      }
      const { call, engine } = await serve(store, { db })
      let release: () => Promise<void>
      if (store.db instanceof PostgresDb) {
        const holder = await store.db.pool.connect()
        await holder.query('BEGIN')
        await holder.query('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE')
        release = async () => {
          await holder.query('ROLLBACK')
          holder.release()
        }
      } else {
        // Another connection holds the write lock; ours gives up at once instead of waiting 5 s.
        await store.db.exec('PRAGMA busy_timeout = 0')
        const other = new DatabaseSync((store.db as SqliteDb).path)
        other.exec('BEGIN IMMEDIATE')
        release = async () => {
          other.exec('ROLLBACK')
          other.close()
          await store.db.exec('PRAGMA busy_timeout = 5000')
        }
      }
      let reply: Reply
      try {
        reply = await call('POST', '/jobs', { queue: 'q', payload: 1 })
      } finally {
        await release()
      }
      const error = assertError(reply, 409, 'conflict')
      assert.match(error?.message ?? '', /busy.*retry/)
      assert.deepEqual(error?.details, { retryable: true })
      assert.deepEqual((await engine.listJobs()).jobs, [])
      // Once the lock is gone the same request goes through.
      data(await call('POST', '/jobs', { queue: 'q', payload: 1 }), 201)
    })
  })
}
