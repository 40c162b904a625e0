import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ApiError } from '@edgeforge/protocol'
import { backends, engineFor, manualClock } from '../../../test/support/jobs.ts'

const OWNER = 'worker-a'
const LEASE = 30_000

for (const [backend, open] of backends) {
  describe(`queue settings on ${backend}`, () => {
    test('the enqueue rate limit throws rate_limited with retry_after_seconds', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      await engine.setQueueSettings('limited', { rateLimit: { perSecond: 0.5, burst: 2 } })
      await engine.enqueue({ queue: 'limited' })
      await engine.enqueue({ queue: 'limited' })
      await assert.rejects(engine.enqueue({ queue: 'limited' }), (error: unknown) => {
        assert.ok(error instanceof ApiError)
        assert.equal(error.code, 'rate_limited')
        assert.equal(error.status, 429)
        assert.deepEqual(error.details, { retry_after_seconds: 2 })
        return true
      })
      await assert.rejects(
        engine.enqueueBatch([{ queue: 'limited' }, { queue: 'limited' }, { queue: 'limited' }]),
        {
          code: 'validation_failed',
        },
      )
      await engine.enqueue({ queue: 'unlimited' })
      clock.advance(2000)
      await engine.enqueue({ queue: 'limited' })
      await engine.setQueueSettings('limited', { rateLimit: null })
      for (let i = 0; i < 5; i += 1) await engine.enqueue({ queue: 'limited' })
      assert.equal((await engine.listJobs({ queue: 'limited' })).jobs.length, 8)
    })

    test('the sweeper deletes only finished jobs older than their queue retention', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      await engine.setQueueSettings('short', { retentionSeconds: 60 })
      const finish = async (queue: string, how: 'complete' | 'dead' | 'failed' | 'cancel') => {
        const { job } = await engine.enqueue({ queue, maxAttempts: 1 })
        if (how === 'cancel') {
          await engine.cancel(job.id)
          return job.id
        }
        await engine.claim({ queues: [queue], owner: OWNER, limit: 1, leaseMs: LEASE })
        if (how === 'complete') await engine.complete(job.id, OWNER, null)
        else await engine.fail(job.id, OWNER, 'x', { unrecoverable: how === 'dead' })
        return job.id
      }
      const old = [
        await finish('short', 'complete'),
        await finish('short', 'dead'),
        await finish('short', 'cancel'),
      ]
      const oldFailed = await finish('short', 'failed')
      const oldOtherQueue = await finish('long', 'complete')
      await engine.appendLog(old[0], 'goes with its job')
      clock.advance(61_000)
      const recent = await finish('short', 'complete')
      const stillQueued = (await engine.enqueue({ queue: 'short' })).job.id
      assert.equal(await engine.sweepFinished(), 3)
      const left = new Set((await engine.listJobs({ limit: 100 })).jobs.map((job) => job.id))
      for (const id of old) assert.equal(left.has(id), false)
      for (const id of [oldFailed, oldOtherQueue, recent, stillQueued]) assert.equal(left.has(id), true)
      assert.equal((await store.db.all('SELECT id FROM job_logs')).length, 0)
    })

    test('a paused queue is not claimed until resumed', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.enqueue({ queue: 'q' })
      await engine.setQueueSettings('q', { paused: true })
      assert.equal((await engine.claim({ queues: ['q'], owner: OWNER, limit: 5, leaseMs: LEASE })).length, 0)
      await engine.setQueueSettings('q', { paused: false })
      assert.equal((await engine.claim({ queues: ['q'], owner: OWNER, limit: 5, leaseMs: LEASE })).length, 1)
    })

    test('max_workers caps running jobs across owners and concurrent claims', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const other = engineFor(store, await store.connect())
      await engine.setQueueSettings('capped', { maxWorkers: 3 })
      await engine.enqueueBatch(Array.from({ length: 20 }, () => ({ queue: 'capped' })))
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : engine).claim({ queues: ['capped'], owner: `w${i}`, limit: 2, leaseMs: LEASE }),
        ),
      )
      const claimed = claims.flat()
      assert.equal(claimed.length, 3)
      assert.equal(
        (await engine.claim({ queues: ['capped'], owner: 'late', limit: 5, leaseMs: LEASE })).length,
        0,
      )
      await engine.complete(claimed[0].id, claimed[0].leaseOwner ?? '', null)
      assert.equal(
        (await engine.claim({ queues: ['capped'], owner: 'late', limit: 5, leaseMs: LEASE })).length,
        1,
      )
    })

    test('live workers are every connection’s announced runners; a lapsed or retired one drops out', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const other = engineFor(store, await store.connect(), { now: clock.now })
      const workersOf = async (e: typeof engine) =>
        Object.fromEntries((await e.overview()).map((q) => [q.queue, q.liveWorkers]))
      await engine.announceWorker('here', ['work', 'mail'], 1000)
      await other.announceWorker('there', ['work'], 3000)
      assert.deepEqual(await workersOf(engine), { mail: 1, work: 2 })
      assert.deepEqual(await workersOf(other), { mail: 1, work: 2 })
      // A new announcement replaces the runner's queues.
      await engine.announceWorker('here', ['work'], 1000)
      assert.deepEqual(await workersOf(other), { work: 2 })
      // A runner that stops refreshing (killed, frozen) lapses after its time to live.
      clock.advance(1000)
      assert.deepEqual(await workersOf(other), { work: 1 })
      await other.retireWorker('there')
      assert.deepEqual(await workersOf(engine), {})
    })

    test('overview counts jobs by queue and status next to the settings', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.setQueueSettings('empty', { maxWorkers: 4 })
      await engine.enqueueBatch([{ queue: 'a' }, { queue: 'a' }, { queue: 'b' }])
      await engine.claim({ queues: ['a'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await engine.announceWorker('runner-1', ['a'], LEASE)
      await engine.announceWorker('runner-2', ['a', 'c'], LEASE)
      await engine.retireWorker('runner-2')
      await engine.announceWorker('runner-2', ['a'], LEASE)
      const overview = await engine.overview()
      assert.deepEqual(
        overview.map((q) => [
          q.queue,
          q.counts.queued,
          q.counts.running,
          q.liveWorkers,
          q.settings.maxWorkers,
        ]),
        [
          ['a', 1, 1, 2, null],
          ['b', 1, 0, 0, null],
          ['empty', 0, 0, 0, 4],
        ],
      )
    })
  })
}
