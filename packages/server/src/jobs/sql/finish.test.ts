import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backends, engineFor, manualClock } from '../../../test/support/jobs.ts'
import { pgArray } from './finish.ts'

const LEASE = 30_000

test('pgArray quotes every text element and writes null as NULL', () => {
  assert.equal(pgArray([]), '{}')
  assert.equal(pgArray(['a', null, 3]), '{"a",NULL,3}')
  assert.equal(
    pgArray(['say "hi"', 'back\\slash', 'NULL', '{,}']),
    '{"say \\"hi\\"","back\\\\slash","NULL","{,}"}',
  )
})

for (const [backend, open] of backends) {
  describe(`completion batches on ${backend}`, () => {
    test('text with quotes, backslashes and braces comes back as written', async (t) => {
      const store = await open(t)
      if (!store) return
      if (store.db.dialect === 'postgres') {
        const values = ['say "hi"', 'back\\slash', 'NULL', '{,}', 'ünï €', '', null]
        const row = await store.db.get<{ back: Array<string | null> }>('SELECT ?::text[] AS back', [
          pgArray(values),
        ])
        assert.deepEqual(row?.back, values)
      }
      const engine = engineFor(store, store.db, { now: manualClock().now })
      const { job } = await engine.enqueue({ queue: 'q', payload: 1 })
      const [claimed] = await engine.claim({ queues: ['q'], owner: 'w', limit: 1, leaseMs: LEASE })
      const result = { text: 'a "quoted" \\ {brace}, NULL', list: [1, null] }
      const [outcome] = await engine.completeMany([
        { id: job.id, owner: 'w', attempt: claimed.attempts, result },
      ])
      assert.deepEqual(outcome, { ok: true, status: 'succeeded' })
      assert.deepEqual((await engine.getJob(job.id))?.result, result)
    })

    test('one batch of several owners and queues: each job is guarded and answered on its own', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store, store.db, { now: manualClock().now })
      await engine.setQueueSettings('gone', { retentionSeconds: 0 })
      const ids: string[] = []
      for (const queue of ['kept', 'kept', 'gone', 'gone', 'kept'])
        ids.push((await engine.enqueue({ queue, payload: queue })).job.id)
      const a = await engine.claim({ queues: ['kept', 'gone'], owner: 'a', limit: 3, leaseMs: LEASE })
      const b = await engine.claim({ queues: ['kept', 'gone'], owner: 'b', limit: 2, leaseMs: LEASE })
      assert.equal(a.length + b.length, 5)
      const items = [
        ...a.map((job) => ({
          id: job.id,
          owner: 'a',
          attempt: job.attempts,
          queue: job.queue,
          result: job.id,
        })),
        ...b.map((job) => ({
          id: job.id,
          owner: 'b',
          attempt: job.attempts,
          queue: job.queue,
          result: job.id,
        })),
      ]
      // Refused: another owner's job, a stale attempt, a job that does not exist.
      const wrongOwner = { ...items[0], owner: 'b' }
      const staleAttempt = { ...items[3], attempt: items[3].attempt - 1 }
      const missing = { id: 'job_missing', owner: 'a', attempt: 1, queue: 'kept', result: null }
      const outcomes = await engine.completeMany([wrongOwner, staleAttempt, missing, ...items.slice(1, 3)])
      assert.deepEqual(outcomes.slice(0, 3), [
        { ok: false, reason: 'lease_lost', status: 'running' },
        { ok: false, reason: 'lease_lost', status: 'running' },
        { ok: false, reason: 'lease_lost', status: null },
      ])
      assert.deepEqual(outcomes.slice(3), [
        { ok: true, status: 'succeeded' },
        { ok: true, status: 'succeeded' },
      ])
      const rest = await engine.completeMany([items[0], ...items.slice(3)])
      assert.ok(rest.every((outcome) => outcome.ok))
      for (const item of items) {
        if (item.queue === 'gone') await assert.rejects(engine.getJob(item.id), /no job with id/)
        else assert.equal((await engine.getJob(item.id)).status, 'succeeded')
      }
    })
  })
}
