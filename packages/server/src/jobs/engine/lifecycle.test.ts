import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backends, engineFor, manualClock } from '../../../test/support/jobs.ts'
import { UnrecoverableError } from '../errors.ts'

const OWNER = 'worker-a'
const LEASE = 30_000

for (const [backend, open] of backends) {
  describe(`job lifecycle on ${backend}`, () => {
    test('failed attempts come back after the queue backoff and end failed when used up', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      await engine.setQueueSettings('q', {
        backoff: { baseSeconds: 2, factor: 3, maxSeconds: 10, jitter: 0 },
      })
      const { job } = await engine.enqueue({ queue: 'q', maxAttempts: 4 })
      const expectedDelays = [2000, 6000, 10_000]
      for (const delay of expectedDelays) {
        const [claimed] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
        assert.equal(claimed.id, job.id)
        const failedAt = clock.now()
        const outcome = await engine.fail(job.id, OWNER, new Error('flaky'))
        assert.deepEqual(outcome, { ok: true, status: 'queued', runAt: failedAt + delay })
        const stored = await engine.getJob(job.id)
        assert.equal(stored.runAt - failedAt, delay)
        assert.match(stored.lastError ?? '', /flaky/)
        clock.advance(delay - 1)
        assert.equal(
          (await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })).length,
          0,
        )
        clock.advance(1)
      }
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      const last = await engine.fail(job.id, OWNER, 'still flaky')
      assert.deepEqual(last, { ok: true, status: 'failed' })
      const final = await engine.getJob(job.id)
      assert.equal(final.attempts, 4)
      assert.equal(final.finishedAt, clock.now())
    })

    test('jitter spreads the delay within ±jitter of the computed backoff', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      let draw = 0
      const engine = engineFor(store, store.db, { now: clock.now, random: () => draw })
      await engine.setQueueSettings('q', {
        backoff: { baseSeconds: 10, factor: 2, maxSeconds: 100, jitter: 0.5 },
      })
      for (const [value, expected] of [
        [0, 5000],
        [1, 15_000],
      ] as const) {
        draw = value
        const { job } = await engine.enqueue({ queue: 'q' })
        await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
        const outcome = await engine.fail(job.id, OWNER, 'x')
        assert.ok(outcome.ok && outcome.runAt !== undefined)
        assert.equal(outcome.runAt - clock.now(), expected)
        await engine.deleteJob(job.id)
      }
    })

    test('cancel: queued at once, running on request, finished untouched', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const queued = await engine.enqueue({ queue: 'later', delayMs: 60_000 })
      assert.deepEqual(await engine.cancel(queued.job.id), {
        status: 'cancelled',
        cancelRequested: false,
        changed: true,
      })
      assert.equal((await engine.getJob(queued.job.id)).status, 'cancelled')

      const { job } = await engine.enqueue({ queue: 'q' })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      const requests: string[] = []
      const unsubscribe = engine.onCancel((id) => requests.push(id))
      assert.deepEqual(await engine.cancel(job.id), {
        status: 'running',
        cancelRequested: true,
        changed: true,
      })
      unsubscribe()
      assert.deepEqual(requests, [job.id])
      assert.deepEqual(await engine.heartbeat(job.id, OWNER, LEASE), { held: true, cancelRequested: true })
      assert.deepEqual(await engine.fail(job.id, OWNER, 'aborted'), { ok: true, status: 'cancelled' })

      const done = await engine.enqueue({ queue: 'q' })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await engine.complete(done.job.id, OWNER, { fine: true })
      assert.deepEqual(await engine.cancel(done.job.id), {
        status: 'succeeded',
        cancelRequested: false,
        changed: false,
      })
      assert.equal((await engine.getJob(done.job.id)).status, 'succeeded')
      await assert.rejects(engine.cancel('01900000-0000-7000-8000-000000000000'), { code: 'not_found' })
    })

    test('a job that completes while its cancel is pending ends succeeded, never dead', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const { job } = await engine.enqueue({ queue: 'q' })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await engine.cancel(job.id)
      assert.deepEqual(await engine.complete(job.id, OWNER, 42), { ok: true, status: 'succeeded' })
      assert.equal((await engine.getJob(job.id)).result, 42)
    })

    test('the reaper re-queues expired leases, counting the attempt, and fails exhausted ones', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const retried = await engine.enqueue({ queue: 'q', maxAttempts: 2 })
      const exhausted = await engine.enqueue({ queue: 'q', maxAttempts: 1 })
      const healthy = await engine.enqueue({ queue: 'q', maxAttempts: 1 })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 3, leaseMs: 1000 })
      clock.advance(900)
      assert.equal((await engine.heartbeat(healthy.job.id, OWNER, 5000)).held, true)
      clock.advance(200)
      assert.deepEqual(await engine.reapExpired(), { requeued: 1, failed: 1, cancelled: 0 })
      const back = await engine.getJob(retried.job.id)
      assert.equal(back.status, 'queued')
      assert.equal(back.attempts, 1)
      assert.equal(back.leaseOwner, null)
      assert.match(back.lastError ?? '', /lease expired/)
      assert.equal((await engine.getJob(exhausted.job.id)).status, 'failed')
      assert.equal((await engine.getJob(healthy.job.id)).status, 'running')
      const [again] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: 1000 })
      assert.equal(again.id, retried.job.id)
      assert.equal(again.attempts, 2)
    })

    test('a stale worker cannot finish a job that was reaped and re-claimed', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const { job } = await engine.enqueue({ queue: 'q' })
      await engine.claim({ queues: ['q'], owner: 'stale', limit: 1, leaseMs: 1000 })
      clock.advance(1001)
      await engine.reapExpired()
      const [reclaimed] = await engine.claim({ queues: ['q'], owner: 'fresh', limit: 1, leaseMs: LEASE })
      assert.equal(reclaimed.id, job.id)
      assert.deepEqual(await engine.complete(job.id, 'stale', 'stale result'), {
        ok: false,
        reason: 'lease_lost',
        status: 'running',
      })
      assert.deepEqual(await engine.fail(job.id, 'stale', 'stale error'), {
        ok: false,
        reason: 'lease_lost',
        status: 'running',
      })
      assert.deepEqual(await engine.heartbeat(job.id, 'stale', LEASE), {
        held: false,
        cancelRequested: false,
      })
      assert.deepEqual(await engine.complete(job.id, 'fresh', 'fresh result'), {
        ok: true,
        status: 'succeeded',
      })
      assert.deepEqual(await engine.complete(job.id, 'fresh', 'twice'), {
        ok: false,
        reason: 'lease_lost',
        status: 'succeeded',
      })
      const stored = await engine.getJob(job.id)
      assert.equal(stored.result, 'fresh result')
      assert.equal(stored.attempts, 2)
    })

    test('the attempt guard rejects a stale run by the same owner', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const { job } = await engine.enqueue({ queue: 'q' })
      const [first] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: 1000 })
      clock.advance(1001)
      await engine.reapExpired()
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      const stale = await engine.complete(job.id, OWNER, 'old', first.attempts)
      assert.equal(stale.ok, false)
      assert.deepEqual(await engine.complete(job.id, OWNER, 'new', first.attempts + 1), {
        ok: true,
        status: 'succeeded',
      })
    })

    test('an unrecoverable failure ends dead without a retry', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const { job } = await engine.enqueue({ queue: 'q', maxAttempts: 5 })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      const error = new UnrecoverableError('bad payload')
      assert.deepEqual(await engine.fail(job.id, OWNER, error, { unrecoverable: true }), {
        ok: true,
        status: 'dead',
      })
      const stored = await engine.getJob(job.id)
      assert.equal(stored.status, 'dead')
      assert.equal(stored.attempts, 1)
      assert.match(stored.lastError ?? '', /bad payload/)
      assert.equal((await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })).length, 0)
    })

    test('retry, retryFailed, delete, logs and progress', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const a = await engine.enqueue({ queue: 'q', maxAttempts: 1 })
      const b = await engine.enqueue({ queue: 'q', maxAttempts: 1 })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 2, leaseMs: LEASE })
      assert.equal(await engine.setProgress(a.job.id, 0.5), true)
      await engine.appendLog(a.job.id, 'first line')
      await engine.appendLog(a.job.id, 'second line')
      await engine.fail(a.job.id, OWNER, 'boom')
      await engine.fail(b.job.id, OWNER, 'boom')
      const withLogs = await engine.getJob(a.job.id)
      assert.deepEqual(
        withLogs.logs.map((log) => log.line),
        ['first line', 'second line'],
      )
      assert.equal(withLogs.progress, 0.5)
      assert.equal(await engine.setProgress(a.job.id, 1), false)
      await assert.rejects(engine.setProgress(a.job.id, 2), { code: 'validation_failed' })
      const retried = await engine.retry(a.job.id)
      assert.equal(retried.status, 'queued')
      assert.equal(retried.attempts, 0)
      await assert.rejects(engine.retry(a.job.id), { code: 'conflict' })
      assert.equal(await engine.retryFailed('q'), 1)
      assert.equal((await engine.getJob(b.job.id)).status, 'queued')
      const [running] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await assert.rejects(engine.deleteJob(running.id), { code: 'conflict' })
      const other = running.id === a.job.id ? b.job.id : a.job.id
      await engine.deleteJob(other)
      await assert.rejects(engine.getJob(other), { code: 'not_found' })
      await assert.rejects(engine.deleteJob(other), { code: 'not_found' })
    })

    test('a retried job does not revive a dedup key that is alive elsewhere', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const first = await engine.enqueue({ queue: 'q', dedupKey: 'k', maxAttempts: 1 })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await engine.fail(first.job.id, OWNER, 'x')
      await engine.enqueue({ queue: 'q', dedupKey: 'k' })
      await assert.rejects(engine.retry(first.job.id), { code: 'conflict' })
      assert.equal(await engine.retryFailed('q'), 0)
    })
  })
}
