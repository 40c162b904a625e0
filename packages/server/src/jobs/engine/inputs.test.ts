import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ApiError } from '@edgeforge/protocol'
import { backends, engineFor } from '../../../test/support/jobs.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { insertInput } from '../sql/inputs.ts'

const OWNER = 'runner-a'
const LEASE = 30_000

for (const [backend, open] of backends) {
  describe(`job input on ${backend}`, () => {
    test('stored per job in order; 404 for an unknown job, 409 for one not running', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const queued = await engine.enqueue({ queue: 'q', payload: null })
      await assert.rejects(
        engine.sendInput(queued.job.id, 'early'),
        (error: unknown) =>
          error instanceof ApiError && error.code === 'conflict' && /is queued/.test(error.message),
      )
      await assert.rejects(
        engine.sendInput('no-such-job', 'x'),
        (error: unknown) => error instanceof ApiError && error.code === 'not_found',
      )
      const [running] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      const other = await engine.enqueue({ queue: 'q', payload: null })
      await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      // Sent at once: each gets its own seq, none lost.
      const seqs = await Promise.all(
        Array.from({ length: 12 }, (_, i) => engine.sendInput(running.id, { n: i })),
      )
      assert.deepEqual(
        seqs.map((s) => s.seq).sort((a, b) => a - b),
        Array.from({ length: 12 }, (_, i) => i + 1),
      )
      assert.deepEqual(await engine.sendInput(other.job.id, 'own'), { seq: 1 }, 'numbered per job')
      const rows = await store.db.all<{ seq: number }>(
        'SELECT seq FROM job_inputs WHERE job_id = ? ORDER BY seq',
        [running.id],
      )
      assert.equal(rows.length, 12)
      // Finished: no more input, and the rows go with the job.
      assert.equal((await engine.complete(running.id, OWNER, null)).ok, true)
      await assert.rejects(
        engine.sendInput(running.id, 'late'),
        (error: unknown) =>
          error instanceof ApiError && error.code === 'conflict' && /succeeded/.test(error.message),
      )
      await engine.deleteJob(running.id)
      const left = await store.db.get<{ n: number }>(
        'SELECT count(*) AS n FROM job_inputs WHERE job_id = ?',
        [running.id],
      )
      assert.equal(Number(left?.n), 0)

      // A queue that keeps no finished jobs deletes the job as it finishes; the sweep takes its input.
      await engine.setQueueSettings('gone', { retentionSeconds: 0 })
      await engine.enqueue({ queue: 'gone', payload: null })
      const [short] = await engine.claim({ queues: ['gone'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await engine.sendInput(short.id, 'bye')
      const [done] = await engine.completeMany([{ id: short.id, owner: OWNER, queue: 'gone', result: null }])
      assert.equal(done.ok, true)
      const count = async (jobId: string) =>
        Number(
          (
            await store.db.get<{ n: number }>('SELECT count(*) AS n FROM job_inputs WHERE job_id = ?', [
              jobId,
            ])
          )?.n,
        )
      assert.equal(await count(short.id), 1, 'no cascade on the finish path')
      await engine.sweepFinished()
      assert.equal(await count(short.id), 0)
      assert.equal(await count(other.job.id), 1, "a live job's input stays")
    })

    test('a job takes at most its limit of input messages; past it a 409 stores nothing', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.enqueue({ queue: 'q', payload: null })
      const [running] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      for (let n = 1; n <= 3; n++) assert.equal(await insertInput(engine.context, running.id, n, 3), n)
      await assert.rejects(
        insertInput(engine.context, running.id, 4, 3),
        (error: unknown) =>
          error instanceof ApiError &&
          error.code === 'conflict' &&
          /holds 3 input messages/.test(error.message) &&
          (error.details as { limit: number }).limit === 3,
      )
      const rows = await store.db.all<{ seq: number }>('SELECT seq FROM job_inputs WHERE job_id = ?', [
        running.id,
      ])
      assert.equal(rows.length, 3)
    })

    test('a cursor delivers each stored message once, in order, however the pulls overlap', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.enqueue({ queue: 'q', payload: null })
      const [job] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      for (let i = 1; i <= 150; i++) await engine.sendInput(job.id, i)
      const got: unknown[] = []
      const cursor = engine.inputCursor(job.id, {
        after: 20,
        deliver: (row) => {
          got.push(row.message)
          return true
        },
      })
      await Promise.all([cursor.pull(), cursor.pull(), cursor.pull()])
      assert.deepEqual(
        got,
        Array.from({ length: 130 }, (_, i) => i + 21),
        'from after 20, more than a page',
      )
      assert.equal(cursor.delivered, 150)
      await engine.sendInput(job.id, 'next')
      await cursor.pull()
      assert.deepEqual(got.slice(-1), ['next'])
      // Held (the run cannot take input yet): a pull meanwhile is remembered, and done on release.
      const heldGot: unknown[] = []
      const held = engine.inputCursor(job.id, {
        after: 150,
        held: true,
        deliver: (row) => heldGot.push(row.message) > 0,
      })
      await held.pull()
      assert.deepEqual(heldGot, [])
      held.release(false)
      await waitFor('the remembered pull', () => heldGot.length === 1 || undefined)
      assert.deepEqual(heldGot, ['next'])
      const idle = engine.inputCursor(job.id, {
        held: true,
        deliver: () => assert.fail('nothing was asked for'),
      })
      idle.release(false)
      // A run that can take no more (its socket closed) stops the cursor where it was.
      let room = 1
      const stopping = engine.inputCursor(job.id, { deliver: () => room-- > 0 })
      await stopping.pull()
      assert.equal(stopping.delivered, 1)
    })

    test('onInput hears sends of this engine and of another on the same store', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const other = engineFor(store, await store.connect())
      const heard: string[] = []
      const stop = engine.onInput((jobId) => heard.push(jobId))
      t.after(stop)
      await waitFor('LISTEN in place', () => engine.inputListening)
      await engine.enqueue({ queue: 'q', payload: null })
      const [job] = await engine.claim({ queues: ['q'], owner: OWNER, limit: 1, leaseMs: LEASE })
      await engine.sendInput(job.id, 'mine')
      assert.ok(heard.includes(job.id))
      if (backend !== 'postgres') return
      heard.length = 0
      await other.sendInput(job.id, 'theirs')
      await waitFor('the notice from the other engine', () => heard.includes(job.id))
    })
  })
}
