import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backends, engineFor, type TestStore } from '../../../test/support/jobs.ts'
import { waitFor } from '../../../test/support/wait.ts'
import type { QueueEngine } from '../engine/engine.ts'
import { UnrecoverableError } from '../errors.ts'
import { PostgresNotifier } from '../sql/notifier.ts'
import { createRunner, type JobAbortError, type RunnerOptions } from './runner.ts'

function runnerFor(
  store: TestStore,
  engine: QueueEngine,
  options: Partial<RunnerOptions> & Pick<RunnerOptions, 'execute'>,
) {
  const runner = createRunner({
    engine,
    queues: () => ['q'],
    concurrency: 4,
    leaseMs: 5000,
    pollMs: 50,
    ...options,
  })
  store.defer(() => runner.stop({ drainMs: 0 }))
  runner.start()
  return runner
}

async function statusOf(engine: QueueEngine, id: string, ...wanted: string[]) {
  return waitFor(
    `job ${id} to be ${wanted.join(' or ')}`,
    async () => {
      const job = await engine.getJob(id)
      return wanted.includes(job.status) ? job : undefined
    },
    10_000,
  )
}

for (const [backend, open] of backends) {
  describe(`job runner on ${backend}`, () => {
    test('runs jobs and stores results, logs and progress', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      runnerFor(store, engine, {
        execute: async (job, ctx) => {
          ctx.log(`hello ${String(job.payload)}`)
          ctx.progress(0.5)
          return { echoed: job.payload, attempt: ctx.attempt }
        },
      })
      const results = await engine.enqueueBatch(
        Array.from({ length: 20 }, (_, i) => ({ queue: 'q', payload: i })),
      )
      for (const { job } of results) {
        const done = await statusOf(engine, job.id, 'succeeded')
        assert.deepEqual(done.result, { echoed: job.payload, attempt: 1 })
      }
      const one = await waitFor(
        'the job to log',
        async () => {
          const job = await engine.getJob(results[0].job.id)
          return job.logs.length > 0 ? job : undefined
        },
        10_000,
      )
      assert.deepEqual(
        one.logs.map((log) => log.line),
        ['hello 0'],
      )
    })

    test('a thrown error is retried; an UnrecoverableError ends dead at once', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.setQueueSettings('q', { backoff: { baseSeconds: 0, factor: 1, maxSeconds: 0, jitter: 0 } })
      runnerFor(store, engine, {
        execute: async (job, ctx) => {
          if (job.payload === 'fatal') throw new UnrecoverableError('cannot work with this')
          if (ctx.attempt < 3) throw new Error(`try ${ctx.attempt}`)
          return 'third time lucky'
        },
      })
      const flaky = await engine.enqueue({ queue: 'q', payload: 'flaky', maxAttempts: 3 })
      const fatal = await engine.enqueue({ queue: 'q', payload: 'fatal', maxAttempts: 3 })
      const done = await statusOf(engine, flaky.job.id, 'succeeded', 'failed')
      assert.equal(done.status, 'succeeded')
      assert.equal(done.attempts, 3)
      assert.match(done.lastError ?? '', /try 2/)
      const dead = await statusOf(engine, fatal.job.id, 'dead')
      assert.equal(dead.attempts, 1)
    })

    test('cancelling a running job aborts its signal and ends it cancelled', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const reasons: string[] = []
      const remote = engineFor(store, await store.connect())
      runnerFor(store, engine, {
        heartbeatMs: 30,
        execute: (_job, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              reasons.push((ctx.signal.reason as JobAbortError).abortCause)
              resolve('returned early')
            })
          }),
      })
      // One cancel from this process (local event), one from another (seen at a heartbeat).
      for (const canceller of [engine, remote]) {
        const { job } = await engine.enqueue({ queue: 'q' })
        await statusOf(engine, job.id, 'running')
        await canceller.cancel(job.id)
        const final = await statusOf(engine, job.id, 'cancelled', 'succeeded', 'failed')
        assert.equal(final.status, 'cancelled')
      }
      assert.deepEqual(reasons, ['cancelled', 'cancelled'])
    })

    test('a lost lease aborts the job and its late finish is rejected', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      let cause: string | undefined
      const runner = runnerFor(store, engine, {
        heartbeatMs: 30,
        execute: (_job, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              cause = (ctx.signal.reason as JobAbortError).abortCause
              resolve('too late')
            })
          }),
      })
      const { job } = await engine.enqueue({ queue: 'q' })
      await statusOf(engine, job.id, 'running')
      // Another worker took it over (as after a reap and re-claim elsewhere).
      await store.db.run("UPDATE jobs SET lease_owner = 'someone-else' WHERE id = ?", [job.id])
      await waitFor('the abort cause', async () => cause, 10_000)
      assert.equal(cause, 'lease_lost')
      await waitFor('the lost lease to be counted', async () => runner.stats.leaseLost === 1, 10_000)
      const stored = await engine.getJob(job.id)
      assert.equal(stored.status, 'running')
      assert.equal(stored.leaseOwner, 'someone-else')
    })

    test('max_workers holds across two runners', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const second = engineFor(store, await store.connect())
      await engine.setQueueSettings('q', { maxWorkers: 2 })
      let inFlight = 0
      let peak = 0
      const execute = async () => {
        inFlight += 1
        peak = Math.max(peak, inFlight)
        await new Promise((resolve) => setTimeout(resolve, 5))
        inFlight -= 1
      }
      runnerFor(store, engine, { owner: 'r1', concurrency: 5, execute })
      runnerFor(store, second, { owner: 'r2', concurrency: 5, execute })
      const results = await engine.enqueueBatch(Array.from({ length: 30 }, () => ({ queue: 'q' })))
      for (const { job } of results) await statusOf(engine, job.id, 'succeeded')
      assert.ok(peak <= 2, `at most 2 jobs ran at once (saw ${peak})`)
      assert.ok(peak >= 1)
    })

    // The poll is an hour here, so only the runner's own claim after a stored finish can move the
    // queue on: claiming when the handler returns sees the cap still taken by that job's row.
    test('with max_workers 1, a finished job frees its slot at once, not at the next poll', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.setQueueSettings('q', { maxWorkers: 1 })
      let inFlight = 0
      let peak = 0
      runnerFor(store, engine, {
        pollMs: 3_600_000,
        execute: async () => {
          inFlight += 1
          peak = Math.max(peak, inFlight)
          await new Promise((resolve) => setTimeout(resolve, 1))
          inFlight -= 1
        },
      })
      const results = await engine.enqueueBatch(Array.from({ length: 20 }, () => ({ queue: 'q' })))
      for (const { job } of results) await statusOf(engine, job.id, 'succeeded')
      assert.equal(peak, 1)
    })

    test('a paused queue is left alone until resumed', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.setQueueSettings('q', { paused: true })
      let ran = 0
      const runner = runnerFor(store, engine, {
        execute: async () => {
          ran += 1
        },
      })
      const { job } = await engine.enqueue({ queue: 'q' })
      await runner.poke()
      await runner.poke()
      assert.equal(ran, 0)
      assert.equal((await engine.getJob(job.id)).status, 'queued')
      await engine.setQueueSettings('q', { paused: false })
      await statusOf(engine, job.id, 'succeeded')
    })

    test('stop drains, then releases what is still running without using up an attempt', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const runner = runnerFor(store, engine, {
        execute: (job, ctx) =>
          job.payload === 'quick'
            ? Promise.resolve('quick done')
            : new Promise((_resolve, reject) =>
                ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
              ),
      })
      const slow = await engine.enqueue({ queue: 'q', payload: 'slow' })
      const quick = await engine.enqueue({ queue: 'q', payload: 'quick' })
      await statusOf(engine, slow.job.id, 'running')
      await statusOf(engine, quick.job.id, 'succeeded')
      await runner.stop({ drainMs: 20 })
      const released = await engine.getJob(slow.job.id)
      assert.equal(released.status, 'queued')
      assert.equal(released.attempts, 0)
      assert.equal(released.leaseOwner, null)
    })

    test('an enqueue wakes an idle runner without waiting for its poll', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const producer = engineFor(store, await store.connect())
      let ran = 0
      runnerFor(store, engine, {
        pollMs: 600_000,
        execute: async () => {
          ran += 1
        },
      })
      if (engine.notifier instanceof PostgresNotifier) {
        const notifier = engine.notifier
        await waitFor('the notifier to listen', async () => notifier.listening, 10_000)
      }
      // From this engine (in-process wake-up) and, on PostgreSQL, from another connection (NOTIFY).
      const producers = backend === 'postgres' ? [engine, producer] : [engine]
      for (const [index, source] of producers.entries()) {
        const { job } = await source.enqueue({ queue: 'q' })
        await statusOf(engine, job.id, 'succeeded')
        assert.equal(ran, index + 1)
      }
    })

    test('claiming never runs more jobs than the concurrency, and no job twice', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      let active = 0
      let peak = 0
      const seen = new Map<string, number>()
      const runner = runnerFor(store, engine, {
        concurrency: 5,
        execute: async (job) => {
          seen.set(job.id, (seen.get(job.id) ?? 0) + 1)
          active += 1
          peak = Math.max(peak, active)
          await new Promise((resolve) => setTimeout(resolve, 1 + (seen.size % 3)))
          active -= 1
        },
      })
      const results = await engine.enqueueBatch(
        Array.from({ length: 60 }, (_, i) => ({ queue: 'q', payload: i })),
      )
      for (const { job } of results) await statusOf(engine, job.id, 'succeeded')
      assert.equal(seen.size, 60)
      assert.deepEqual([...new Set(seen.values())], [1])
      assert.ok(peak <= 5, `ran ${peak} jobs at once with concurrency 5`)
      assert.equal(runner.stats.succeeded, 60)
    })

    test('a concurrency above the engine batch limit still claims, a batch at a time', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      const errors: unknown[] = []
      const runner = runnerFor(store, engine, {
        concurrency: 25_000,
        execute: async () => null,
        onError: (error) => errors.push(error),
      })
      const { job } = await engine.enqueue({ queue: 'q', payload: 1 })
      await statusOf(engine, job.id, 'succeeded')
      assert.deepEqual(errors, [])
      assert.equal(runner.stats.succeeded, 1)
    })

    test('a queue with retention 0 keeps no succeeded job; failed ones stay', async (t) => {
      const store = await open(t)
      if (!store) return
      const engine = engineFor(store)
      await engine.setQueueSettings('q', { retentionSeconds: 0 })
      const runner = runnerFor(store, engine, {
        execute: async (job) => {
          if (job.payload === 'bad') throw new UnrecoverableError('no')
          return { kept: false }
        },
      })
      const good = await engine.enqueue({ queue: 'q', payload: 'good' })
      const bad = await engine.enqueue({ queue: 'q', payload: 'bad' })
      await statusOf(engine, bad.job.id, 'dead')
      const gone = await waitFor(
        'the succeeded job to be removed',
        async () =>
          engine.getJob(good.job.id).then(
            () => undefined,
            (error: { code?: string }) => error,
          ),
        10_000,
      )
      assert.equal(gone.code, 'not_found')
      assert.equal(runner.stats.succeeded, 1)
      // Another queue keeps its succeeded jobs, with their results.
      runnerFor(store, engine, { queues: () => ['kept'], execute: async () => ({ kept: true }) })
      const kept = await engine.enqueue({ queue: 'kept', payload: 1 })
      assert.deepEqual((await statusOf(engine, kept.job.id, 'succeeded')).result, { kept: true })
    })
  })
}
