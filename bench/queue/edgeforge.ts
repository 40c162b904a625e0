// edgeforge's queue engine and in-process runner, as the benchmark drives them: the engine's
// `enqueue` / `enqueueBatch` and `createRunner`, over a store opened the way the server opens it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createQueueEngine,
  createRunner,
  PostgresNotifier,
  type QueueEngine,
} from '../../packages/server/src/jobs/index.ts'
import { type Db, openStore } from '../../packages/server/src/store/index.ts'
import type { OnStart, QueueSystem, Workers } from './system.ts'

// Each system has its own queue: queue settings (retention) are per queue and shared by every
// engine on the database, so a retention-0 system on a shared queue would turn the other systems'
// 7-day history off too (it did, until 2026-12-03).
const DEFAULT_QUEUE = 'bench'

export interface EdgeforgeOptions {
  /** A `postgres://` URL, or undefined for SQLite in a fresh temporary directory. */
  databaseUrl?: string
  /**
   * PostgreSQL only: enqueue through a second engine with its own pool, as another gateway process
   * would, so the runner learns of new jobs through LISTEN/NOTIFY instead of the in-process wake-up.
   */
  remoteProducer?: boolean
  /**
   * Keep no succeeded jobs (queue retention 0): they are deleted as they finish, which is what
   * graphile-worker does with every job. Without it the queue keeps them for the default 7 days.
   */
  keepNothing?: boolean
  /** The queue the system enqueues to and runs (default `bench`); one per system on a database. */
  queue?: string
  name: string
}

export async function openEdgeforge(options: EdgeforgeOptions): Promise<QueueSystem> {
  const dataDir = options.databaseUrl ? '' : mkdtempSync(join(tmpdir(), 'edgeforge-bench-queue-'))
  const open = async () => (await openStore({ dataDir, databaseUrl: options.databaseUrl })).db
  const db = await open()
  const engine = createQueueEngine(db)
  let producerDb: Db | null = null
  let producer: QueueEngine = engine
  if (options.remoteProducer && options.databaseUrl) {
    producerDb = await open()
    producer = createQueueEngine(producerDb)
  }
  const QUEUE = options.queue ?? DEFAULT_QUEUE
  if (options.keepNothing) await engine.setQueueSettings(QUEUE, { retentionSeconds: 0 })
  // What the queue really keeps, as the engine reads it: printed beside the results.
  const retentionSeconds = (await engine.getQueueSettings(QUEUE)).retentionSeconds
  if ((retentionSeconds === 0) !== (options.keepNothing === true))
    throw new Error(`${options.name}: queue ${QUEUE} has retention ${retentionSeconds} s, not what was asked`)

  return {
    name: options.name,
    describe: `queue ${QUEUE}, retention ${retentionSeconds === 0 ? '0 (succeeded jobs deleted)' : `${retentionSeconds / 86_400} days`}`,

    async enqueue(n) {
      await producer.enqueue({ queue: QUEUE, payload: { n } })
    },

    async enqueueBatch(ns) {
      await producer.enqueueBatch(ns.map((n) => ({ queue: QUEUE, payload: { n } })))
    },

    async startWorkers(onStart: OnStart, concurrency: number): Promise<Workers> {
      const runner = createRunner({
        engine,
        queues: () => [QUEUE],
        concurrency,
        execute: async (job) => {
          onStart((job.payload as { n: number }).n)
          return null
        },
        onError: (error) => console.error(`${options.name} runner:`, error),
      })
      runner.start()
      const notifier = engine.notifier
      if (notifier instanceof PostgresNotifier) {
        const deadline = Date.now() + 10_000
        while (!notifier.listening) {
          if (Date.now() > deadline) throw new Error(`${options.name}: LISTEN did not start within 10 s`)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      }
      return { stop: () => runner.stop({ drainMs: 5000 }) }
    },

    async unfinished() {
      const row = await db.get<{ n: number | string }>(
        "SELECT count(*) AS n FROM jobs WHERE queue = ? AND status <> 'succeeded'",
        [QUEUE],
      )
      return Number(row?.n ?? 0)
    },

    async reset() {
      if (db.dialect === 'postgres') await db.exec('TRUNCATE jobs CASCADE')
      else await db.exec('DELETE FROM job_logs; DELETE FROM jobs')
    },

    async close() {
      if (producer !== engine) await producer.close()
      await engine.close()
      await producerDb?.close()
      await db.close()
      if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
