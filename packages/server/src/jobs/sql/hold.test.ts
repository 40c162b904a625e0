import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backends, engineFor, type TestStore } from '../../../test/support/jobs.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { readEvents } from '../events/sql.ts'
import { createRunner } from '../local/runner.ts'

const postgres = backends.find(([name]) => name === 'postgres')
if (!postgres) throw new Error('no postgres backend in test/support/jobs.ts')
const open = postgres[1]

interface Row {
  status: string
  attempts: number
  lease_owner: string | null
  started_at: number | null
  result: string | null
}

/** The job's events as written so far: type and time. */
async function eventsOf(store: TestStore, jobId: string) {
  const events = await readEvents(store.db, 0, 1000, { jobId })
  return events.map((event) => ({ type: event.type, at: event.at, data: event.data }))
}

describe('held claims (PostgreSQL)', () => {
  test('a held job is queued in the table until the hold settles, then written once as succeeded', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    const { job } = await engine.enqueue({ queue: 'q', payload: 1 })
    const held = await engine.hold({ queues: ['q'], owner: 'w1', limit: 10, leaseMs: 5000 })
    assert.ok(held)
    assert.deepEqual(
      held.jobs.map((j) => [j.id, j.attempts, j.status]),
      [[job.id, 1, 'running']],
    )
    // Another connection sees it queued, and another claimer cannot take it.
    const other = engineFor(store, await store.connect())
    assert.equal((await other.getJob(job.id)).status, 'queued')
    assert.deepEqual(await other.claim({ queues: ['q'], owner: 'w2', limit: 10, leaseMs: 5000 }), [])
    const outcomes = await held.settle([{ id: job.id, queue: 'q', result: { ok: true } }], 5000)
    assert.deepEqual(outcomes, [{ ok: true, status: 'succeeded' }])
    const row = await store.db.get<Row>(
      'SELECT status, attempts, lease_owner, started_at, result FROM jobs WHERE id = ?',
      [job.id],
    )
    assert.equal(row?.status, 'succeeded')
    assert.equal(Number(row?.attempts), 1)
    assert.equal(row?.lease_owner, 'w1')
    assert.ok(Number(row?.started_at) > 0)
    assert.deepEqual((await engine.getJob(job.id)).result, { ok: true })
    // `started` is written with `succeeded`, once the hold committed, dated when the job started.
    await engine.events?.flush()
    const events = await eventsOf(store, job.id)
    assert.deepEqual(
      events.map((event) => event.type),
      ['enqueued', 'started', 'succeeded'],
    )
    assert.equal(events[1].at, held.jobs[0].startedAt)
    assert.deepEqual(events[1].data, { attempt: 1, worker: 'w1' })
  })

  test('jobs still running when the hold settles get a lease and finish as claimed jobs', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    const [a, b] = await engine.enqueueBatch([
      { queue: 'q', payload: 'a' },
      { queue: 'q', payload: 'b' },
    ])
    const held = await engine.hold({ queues: ['q'], owner: 'w1', limit: 10, leaseMs: 5000 })
    assert.ok(held)
    assert.equal(held.jobs.length, 2)
    await held.settle([{ id: a.job.id, queue: 'q', result: null }], 5000)
    const running = await engine.getJob(b.job.id)
    assert.equal(running.status, 'running')
    assert.equal(running.attempts, 1)
    assert.equal(running.leaseOwner, 'w1')
    assert.ok((running.leaseExpiresAt ?? 0) > Date.now())
    // The usual finish, with the owner guard: a stranger is refused, the holder succeeds.
    assert.equal((await engine.complete(b.job.id, 'w2', null)).ok, false)
    assert.deepEqual(await engine.complete(b.job.id, 'w1', 'done', 1), { ok: true, status: 'succeeded' })
  })

  test('a hold whose connection dies is rolled back: its jobs are queued again, the attempt not counted', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    const { job } = await engine.enqueue({ queue: 'q', payload: 1 })
    const held = await engine.hold({ queues: ['q'], owner: 'w1', limit: 10, leaseMs: 5000 })
    assert.ok(held)
    const admin = await store.connect()
    // The hold's backend is the one of this database whose transaction holds a row lock on jobs.
    await admin.run(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
       WHERE c.relname = 'jobs' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()`,
    )
    await assert.rejects(held.settle([{ id: job.id, queue: 'q', result: null }], 5000))
    // Nothing of the hold is in the stream either.
    await engine.events?.flush()
    assert.deepEqual(
      (await eventsOf(store, job.id)).map((event) => event.type),
      ['enqueued'],
    )
    const after = await engine.getJob(job.id)
    assert.equal(after.status, 'queued')
    assert.equal(after.attempts, 0)
    const again = await engine.claim({ queues: ['q'], owner: 'w2', limit: 10, leaseMs: 5000 })
    assert.deepEqual(
      again.map((j) => [j.id, j.attempts]),
      [[job.id, 1]],
    )
  })

  test('a settle that names a job the hold does not hold writes nothing: the hold rolls back', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    const [a, b] = await engine.enqueueBatch([
      { queue: 'q', payload: 'a' },
      { queue: 'other', payload: 'b' },
    ])
    const held = await engine.hold({ queues: ['q'], owner: 'w1', limit: 10, leaseMs: 5000 })
    assert.ok(held)
    await assert.rejects(
      held.settle(
        [
          { id: a.job.id, queue: 'q', result: null },
          { id: b.job.id, queue: 'other', result: null },
        ],
        5000,
      ),
      /held claim: the success wrote 1 of its 2 jobs/,
    )
    for (const id of [a.job.id, b.job.id]) {
      const job = await engine.getJob(id)
      assert.deepEqual([job.status, job.attempts], ['queued', 0])
    }
  })

  test('queues with max_workers are not held: they claim', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    await engine.setQueueSettings('capped', { maxWorkers: 2 })
    await engine.enqueue({ queue: 'capped', payload: 1 })
    assert.equal(await engine.hold({ queues: ['capped'], owner: 'w1', limit: 10, leaseMs: 5000 }), null)
    assert.equal(await engine.hold({ queues: ['q', 'capped'], owner: 'w1', limit: 10, leaseMs: 5000 }), null)
  })

  test('a result too large to store fails its job (leased first) instead of the hold', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store, store.db, { maxPayloadBytes: 1000 })
    const [big, small] = await engine.enqueueBatch([
      { queue: 'q', payload: 'big', maxAttempts: 1 },
      { queue: 'q', payload: 'small' },
    ])
    const held = await engine.hold({ queues: ['q'], owner: 'w1', limit: 10, leaseMs: 5000 })
    assert.ok(held)
    const outcomes = await held.settle(
      [
        { id: big.job.id, queue: 'q', result: 'x'.repeat(5000) },
        { id: small.job.id, queue: 'q', result: 'fine' },
      ],
      5000,
    )
    assert.deepEqual(outcomes, [
      { ok: true, status: 'failed' },
      { ok: true, status: 'succeeded' },
    ])
    const failed = await engine.getJob(big.job.id)
    assert.equal(failed.status, 'failed')
    assert.match(failed.lastError ?? '', /result is \d+ bytes of JSON/)
  })

  test('a held job can log: its log write does not wait for the hold, and the log is complete when it succeeds', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    // A hold that only ends when its jobs return: a log write that waited for the hold's row lock
    // would never let the job return.
    const runner = createRunner({
      engine,
      queues: () => ['q'],
      concurrency: 10,
      leaseMs: 60_000,
      pollMs: 50,
      holdMs: 600_000,
      execute: async (job, ctx) => {
        ctx.log(`line 1 of ${String(job.payload)}`)
        ctx.log('line 2')
        return 'logged'
      },
    })
    store.defer(() => runner.stop({ drainMs: 0 }))
    const results = await engine.enqueueBatch([1, 2, 3].map((payload) => ({ queue: 'q', payload })))
    runner.start()
    for (const { job } of results) {
      const done = await waitFor(
        `job ${job.id} to succeed`,
        async () => {
          const found = await engine.getJob(job.id)
          return found.status === 'succeeded' ? found : undefined
        },
        10_000,
      )
      assert.equal(done.result, 'logged')
      assert.equal(done.attempts, 1)
      assert.deepEqual(
        done.logs.map((log) => log.line),
        [`line 1 of ${String(job.payload)}`, 'line 2'],
      )
    }
  })

  test('the runner: fast jobs are written once; slow, failing and late ones (returning while the hold settles) are leased and finish as usual', async (t) => {
    const store = await open(t)
    if (!store) return
    const engine = engineFor(store)
    // 'late' returns just after 'fail' made the hold settle, before that settle can have committed.
    let releaseLate = () => {}
    const late = new Promise<void>((resolve) => {
      releaseLate = resolve
    })
    const runner = createRunner({
      engine,
      queues: () => ['q'],
      concurrency: 10,
      leaseMs: 5000,
      pollMs: 50,
      holdMs: 100,
      execute: async (job) => {
        if (job.payload === 'slow') await new Promise((resolve) => setTimeout(resolve, 300))
        if (job.payload === 'late') await late
        if (job.payload === 'fail') {
          setImmediate(releaseLate)
          throw new Error('no luck')
        }
        return job.payload
      },
    })
    store.defer(() => runner.stop({ drainMs: 0 }))
    const results = await engine.enqueueBatch(
      ['fast', 'slow', 'fail', 'late'].map((payload) => ({ queue: 'q', payload, maxAttempts: 1 })),
    )
    runner.start()
    const [fast, slow, failing, lateId] = results.map((r) => r.job.id)
    // While the slow job runs past the hold it is a running, leased job.
    const leased = await waitFor(
      'the slow job to be leased',
      async () => {
        const job = await engine.getJob(slow)
        return job.status === 'running' ? job : undefined
      },
      5000,
    )
    assert.equal(leased.leaseOwner, runner.owner)
    const final = await waitFor(
      'every job to finish',
      async () => {
        const jobs = await Promise.all([fast, slow, failing, lateId].map((id) => engine.getJob(id)))
        return jobs.every((job) => job.status === 'succeeded' || job.status === 'failed') ? jobs : undefined
      },
      10_000,
    )
    assert.deepEqual(
      final.map((job) => [job.status, job.attempts]),
      [
        ['succeeded', 1],
        ['succeeded', 1],
        ['failed', 1],
        ['succeeded', 1],
      ],
    )
    assert.equal(final[2].lastError?.includes('no luck'), true)
    assert.deepEqual(runner.stats, { claimed: 4, succeeded: 3, failed: 1, leaseLost: 0 })
  })
})
