// graphile-worker, the PostgreSQL job queue edgeforge measures itself against, doing the same no-op
// work on the same server: `addJob` / `addJobs` through WorkerUtils, `run()` with a task list.
import { EventEmitter } from 'node:events'
import { Logger, makeWorkerUtils, run, type WorkerEvents } from 'graphile-worker'
import pg from 'pg'
import type { OnStart, QueueSystem, Workers } from './system.ts'

const TASK = 'noop'

/**
 * The pool `run()` gets: their guidance is at least 10 connections, or concurrentJobs + 2; capped at
 * 32 so a run stays well inside the server's max_connections (100 by default) next to the others.
 */
export function graphilePoolSize(concurrency: number): number {
  return Math.min(Math.max(10, concurrency + 2), 32)
}

export interface GraphileOptions {
  connectionString: string
  /**
   * graphile-worker's documented throughput settings: a local queue of this many jobs fetched (and
   * locked) per query, and completions batched (`completeJobBatchDelay: 0`). 0 = its defaults: one
   * fetch per job and one DELETE per completion.
   */
  localQueueSize: number
  name: string
}

/** Errors only: graphile-worker logs every completed job at `info`, which is not the work measured. */
const logger = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`)
})

// The pools are ours, not graphile-worker's: its releasers end the pools they create without
// waiting, so their connections would outlive the benchmark's database.
function pool(connectionString: string, max: number): pg.Pool {
  const created = new pg.Pool({ connectionString, max })
  const report = (error: Error) => console.error(`graphile-worker pool: ${error.message}`)
  created.on('error', report)
  created.on('connect', (client) => client.on('error', report))
  return created
}

export async function openGraphile(options: GraphileOptions): Promise<QueueSystem> {
  const utilsPool = pool(options.connectionString, 10)
  const utils = await makeWorkerUtils({ pgPool: utilsPool, logger })
  await utils.migrate()
  const batched = options.localQueueSize > 0

  return {
    name: options.name,

    async enqueue(n) {
      await utils.addJob(TASK, { n })
    },

    async enqueueBatch(ns) {
      await utils.addJobs(ns.map((n) => ({ identifier: TASK, payload: { n } })))
    },

    async startWorkers(onStart: OnStart, concurrency: number): Promise<Workers> {
      const events: WorkerEvents = new EventEmitter()
      const listening = new Promise<void>((resolve, reject) => {
        events.once('pool:listen:success', () => resolve())
        setTimeout(
          () => reject(new Error(`${options.name}: LISTEN did not start within 10 s`)),
          10_000,
        ).unref()
      })
      listening.catch(() => {}) // awaited below; this only keeps a failed run() from leaving it unhandled
      const runPool = pool(options.connectionString, graphilePoolSize(concurrency))
      let runner: Awaited<ReturnType<typeof run>>
      try {
        runner = await run({
          pgPool: runPool,
          concurrency,
          noHandleSignals: true,
          logger,
          events,
          taskList: {
            [TASK]: async (payload) => {
              onStart((payload as { n: number }).n)
            },
          },
          preset: batched
            ? { worker: { localQueue: { size: options.localQueueSize }, completeJobBatchDelay: 0 } }
            : undefined,
        })
        await listening
      } catch (error) {
        await runPool.end()
        throw error
      }
      return {
        async stop() {
          await runner.stop()
          await runner.promise
          await runPool.end()
        },
      }
    },

    async unfinished() {
      const result = await utils.withPgClient((client) =>
        client.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs'),
      )
      return Number(result.rows[0]?.n ?? 0)
    },

    async reset() {
      await utils.withPgClient((client) => client.query('TRUNCATE graphile_worker._private_jobs CASCADE'))
    },

    async close() {
      await utils.release()
      await utilsPool.end()
    },
  }
}
