import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ApiError } from '@edgeforge/protocol'
import { backends, engineFor, manualClock } from '../../../test/support/jobs.ts'

const OWNER = 'worker-a'
const LEASE = 30_000

for (const [backend, open] of backends) {
  describe(`queue engine on ${backend}`, () => {
    test('claims by priority (higher first), then run_at, then id', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const low = await engine.enqueue({ queue: 'q', payload: 'low', priority: -5 })
      const laterHigh = await engine.enqueue({
        queue: 'q',
        payload: 'later-high',
        priority: 10,
        runAt: clock.now() - 1,
      })
      const earlierHigh = await engine.enqueue({
        queue: 'q',
        payload: 'earlier-high',
        priority: 10,
        runAt: clock.now() - 2,
      })
      const normal = await engine.enqueue({ queue: 'q', payload: 'normal' })
      const sameAsNormal = await engine.enqueue({ queue: 'q', payload: 'same' })
      const order: string[] = []
      for (;;) {
        const jobs = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
        if (jobs.length === 0) break
        order.push(jobs[0].id)
      }
      assert.deepEqual(order, [
        earlierHigh.job.id,
        laterHigh.job.id,
        normal.job.id,
        sameAsNormal.job.id,
        low.job.id,
      ])
    })

    test('a batch claim returns jobs in queue order and counts the attempt', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.enqueueBatch([
        { queue: 'q', priority: 1 },
        { queue: 'q', priority: 3 },
        { queue: 'q', priority: 2 },
      ])
      const jobs = await engine.claim({ queues: ['q'], owner: OWNER, limit: 10, leaseMs: LEASE })
      assert.deepEqual(
        jobs.map((job) => job.priority),
        [3, 2, 1],
      )
      for (const job of jobs) {
        assert.equal(job.status, 'running')
        assert.equal(job.attempts, 1)
        assert.equal(job.leaseOwner, OWNER)
      }
    })

    test('a delayed job is not claimed before its run_at', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const { job } = await engine.enqueue({ queue: 'q', delayMs: 60_000 })
      assert.equal(job.runAt, clock.now() + 60_000)
      clock.advance(59_999)
      assert.equal((await engine.claim({ queues: ['q'], owner: OWNER, limit: 5, leaseMs: LEASE })).length, 0)
      clock.advance(1)
      const claimed = await engine.claim({ queues: ['q'], owner: OWNER, limit: 5, leaseMs: LEASE })
      assert.deepEqual(
        claimed.map((c) => c.id),
        [job.id],
      )
    })

    test('dedup keep returns the live job; a finished one frees the key', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const first = await engine.enqueue({ queue: 'q', payload: 1, dedupKey: 'k' })
      const second = await engine.enqueue({ queue: 'q', payload: 2, dedupKey: 'k' })
      assert.equal(first.deduplicated, false)
      assert.equal(second.deduplicated, true)
      assert.equal(second.job.id, first.job.id)
      assert.equal(second.job.payload, 1)
      const otherQueue = await engine.enqueue({ queue: 'other', payload: 3, dedupKey: 'k' })
      assert.equal(otherQueue.deduplicated, false)
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      const whileRunning = await engine.enqueue({ queue: 'q', payload: 4, dedupKey: 'k' })
      assert.equal(whileRunning.job.id, first.job.id)
      assert.equal(whileRunning.job.status, 'running')
      await engine.complete(first.job.id, OWNER, 'done')
      const afterFinish = await engine.enqueue({ queue: 'q', payload: 5, dedupKey: 'k' })
      assert.equal(afterFinish.deduplicated, false)
      assert.notEqual(afterFinish.job.id, first.job.id)
      const batch = await engine.enqueueBatch([
        { queue: 'q', dedupKey: 'b' },
        { queue: 'q', dedupKey: 'b' },
      ])
      assert.deepEqual(
        batch.map((r) => r.deduplicated),
        [false, true],
      )
    })

    test('dedup replace updates a queued job but never a running one', async (t) => {
      const store = await open(t)
      if (!store) return
      const clock = manualClock()
      const engine = engineFor(store, store.db, { now: clock.now })
      const first = await engine.enqueue({ queue: 'q', payload: { v: 1 }, dedupKey: 'k', delayMs: 5000 })
      const replaced = await engine.enqueue({
        queue: 'q',
        payload: { v: 2 },
        priority: 7,
        dedupKey: 'k',
        dedupMode: 'replace',
      })
      assert.equal(replaced.replaced, true)
      assert.equal(replaced.job.id, first.job.id)
      assert.deepEqual(replaced.job.payload, { v: 2 })
      assert.equal(replaced.job.priority, 7)
      assert.equal(replaced.job.runAt, clock.now())
      const [running] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      assert.deepEqual(running.payload, { v: 2 })
      const onRunning = await engine.enqueue({
        queue: 'q',
        payload: { v: 3 },
        dedupKey: 'k',
        dedupMode: 'replace',
      })
      assert.equal(onRunning.replaced, false)
      assert.equal(onRunning.deduplicated, true)
      assert.deepEqual((await engine.getJob(first.job.id)).payload, { v: 2 })
      const fresh = await engine.enqueue({
        queue: 'q',
        payload: 'x',
        dedupKey: 'fresh',
        dedupMode: 'replace',
      })
      assert.deepEqual([fresh.deduplicated, fresh.replaced], [false, false])
    })

    test('listJobs pages in id order with a continuation token and filters', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const ids: string[] = []
      for (let i = 0; i < 7; i += 1)
        ids.push((await engine.enqueue({ queue: i % 2 ? 'odd' : 'even', payload: i })).job.id)
      const seen: string[] = []
      let token: string | undefined
      let pages = 0
      do {
        const page = await engine.listJobs({ limit: 3, continuationToken: token })
        seen.push(...page.jobs.map((job) => job.id))
        token = page.continuationToken
        pages += 1
      } while (token)
      assert.deepEqual(seen, ids)
      assert.equal(pages, 3)
      const odd = await engine.listJobs({ queue: 'odd', status: 'queued' })
      assert.deepEqual(
        odd.jobs.map((job) => job.payload),
        [1, 3, 5],
      )
      assert.equal(odd.continuationToken, undefined)
      assert.equal((await engine.listJobs({ status: 'running' })).jobs.length, 0)
      await assert.rejects(engine.listJobs({ continuationToken: 'garbage!' }), { code: 'validation_failed' })
    })

    test('listJobs by status pages queued and failed jobs in id order, whatever their priority', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      // Priorities against id order, so the claim order (priority first) is not the listing order.
      const ids: string[] = []
      for (let i = 0; i < 9; i += 1)
        ids.push(
          (await engine.enqueue({ queue: i % 3 ? 'a' : 'b', payload: i, priority: i % 4, maxAttempts: 1 }))
            .job.id,
        )
      const [claimed] = await engine.claim({ queues: ['a'], owner: 'w', limit: 1, leaseMs: 60_000 })
      await engine.fail(claimed.id, 'w', new Error('boom'), { attempt: claimed.attempts })
      const pages = async (input: { queue?: string; status: 'queued' | 'failed' }) => {
        const seen: string[] = []
        let token: string | undefined
        do {
          const page = await engine.listJobs({ ...input, limit: 2, continuationToken: token })
          for (const job of page.jobs) assert.equal(job.status, input.status)
          seen.push(...page.jobs.map((job) => job.id))
          token = page.continuationToken
        } while (token)
        return seen
      }
      const queued = ids.filter((id) => id !== claimed.id)
      assert.deepEqual(await pages({ status: 'queued' }), queued)
      assert.deepEqual(
        await pages({ queue: 'a', status: 'queued' }),
        queued.filter((_, i) => ids.indexOf(queued[i]) % 3 !== 0),
      )
      assert.deepEqual(await pages({ queue: 'b', status: 'queued' }), [ids[0], ids[3], ids[6]])
      assert.deepEqual(await pages({ status: 'failed' }), [claimed.id])
      assert.deepEqual(await pages({ queue: 'b', status: 'failed' }), [])
    })

    test('a batch is all or nothing', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await assert.rejects(engine.enqueueBatch([{ queue: 'q' }, { queue: 'Bad Name' }]), {
        code: 'validation_failed',
      })
      assert.equal((await engine.listJobs()).jobs.length, 0)
      const results = await engine.enqueueBatch([
        { queue: 'q', payload: 1 },
        { queue: 'r', payload: 2, delayMs: 1000 },
      ])
      assert.deepEqual(
        (await engine.listJobs()).jobs.map((job) => [job.id, job.queue, job.payload]),
        results.map((r) => [r.job.id, r.job.queue, r.job.payload]),
      )
    })

    test('inputs are validated with messages that say what to fix', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store, store.db, { maxPayloadBytes: 100 })
      const cases: Array<[Parameters<typeof engine.enqueue>[0], RegExp]> = [
        [{ queue: 'Upper' }, /queue must be 1-64 characters/],
        [{ queue: 'q', priority: 1.5 }, /priority must be an integer from -32768 to 32767/],
        [{ queue: 'q', maxAttempts: 0 }, /maxAttempts must be an integer from 1 to 100/],
        [{ queue: 'q', payload: { n: 1n } }, /payload must be JSON-serializable/],
        [{ queue: 'q', payload: 'x'.repeat(200) }, /payload is 202 bytes of JSON; the limit is 100/],
        [{ queue: 'q', dedupKey: '' }, /dedupKey must be a string/],
      ]
      for (const [input, message] of cases) {
        await assert.rejects(engine.enqueue(input), (error: unknown) => {
          assert.ok(error instanceof ApiError)
          assert.equal(error.code, 'validation_failed')
          assert.match(error.message, message)
          return true
        })
      }
      await assert.rejects(engine.setQueueSettings('q', { backoff: { factor: 0.5 } }), /backoff.factor/)
    })

    test('queued jobs survive closing and reopening the store', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const { job } = await engine.enqueue({ queue: 'durable', payload: { keep: true }, dedupKey: 'd' })
      await engine.close()
      const reopened = engineFor(store, await store.reopen())
      const stored = await reopened.getJob(job.id)
      assert.equal(stored.status, 'queued')
      assert.deepEqual(stored.payload, { keep: true })
      const [claimed] = await reopened.claim({ queues: ['durable'], owner: OWNER, limit: 1, leaseMs: LEASE })
      assert.equal(claimed.id, job.id)
    })
  })
}
