// Where a job's CPU goes on SQLite, part by part, without the end-to-end run's scheduling: the
// claim statement, the completion batch, and the in-process runner's own JavaScript (over an engine
// that answers at once). CPU time of this process (process.cpuUsage), in µs per job; each part is
// run `--repeats` times and the lowest figure printed, since other processes on the machine only
// ever add to it. bench:queue measures the whole; this says which part a change moved.
//
// With --postgres: the claim and the completion on a fresh PostgreSQL database per repeat (at
// EDGEFORGE_BENCH_POSTGRES_URL, as bench:queue), with the 7-day history and with retention 0, as
// this process's CPU plus that of the backends serving the database (/proc/<pid>/schedstat).
//
//   npm run bench:queue-parts
//   npm run bench:queue-parts -- --jobs 100000 --repeats 7
//   npm run bench:queue-parts -- --postgres --jobs 20000 --batch 500 --repeats 3
//   npm run bench:queue-parts -- --postgres --no-events    # without the engine's event rows:
//                                                          # what the events cost, by difference
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import {
  createQueueEngine,
  createRunner,
  type Job,
  type QueueEngine,
} from '../packages/server/src/jobs/index.ts'
import { openStore } from '../packages/server/src/store/index.ts'
import { backendsUs, createDatabase } from './queue/postgres.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '5' },
    postgres: { type: 'boolean', default: false },
    'no-events': { type: 'boolean', default: false },
  },
})
const jobs = intFlag('bench:queue-parts', 'jobs', flags.jobs, 1000, 1_000_000)
const batch = intFlag('bench:queue-parts', 'batch', flags.batch, 1, 10_000)
const repeats = intFlag('bench:queue-parts', 'repeats', flags.repeats, 1, 20)

const cpuUs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

interface StoreParts {
  claim: number
  complete: number
  /** PostgreSQL backends' CPU per job, µs; undefined on SQLite. */
  claimServer?: number
  completeServer?: number
}

/**
 * Claims and completes `jobs` queued jobs in batches on a fresh store: SQLite in a temporary
 * directory, or PostgreSQL at `databaseUrl` (an empty database: the part creates its tables).
 */
async function storeParts(databaseUrl?: string, keepNothing = false): Promise<StoreParts> {
  const dataDir = databaseUrl ? '' : mkdtempSync(join(tmpdir(), 'edgeforge-bench-parts-'))
  const { db } = await openStore({ dataDir, databaseUrl })
  // The engine records events (enqueued, started, succeeded) in batches of its own, written while
  // the parts run: their CPU lands in whichever part is being measured. --no-events leaves them out.
  const engine = createQueueEngine(db, flags['no-events'] ? { events: false } : {})
  const meter = databaseUrl ? new pg.Client({ connectionString: databaseUrl }) : null
  await meter?.connect()
  const server = () => (meter ? backendsUs(meter) : Promise.resolve(0))
  try {
    if (keepNothing) await engine.setQueueSettings('bench', { retentionSeconds: 0 })
    for (let first = 0; first < jobs; first += 1000) {
      const size = Math.min(1000, jobs - first)
      await engine.enqueueBatch(
        Array.from({ length: size }, (_, i) => ({ queue: 'bench', payload: { n: first + i } })),
      )
    }
    let claim = 0
    let complete = 0
    let claimServer = 0
    let completeServer = 0
    for (let done = 0; done < jobs; done += batch) {
      let serverSince = await server()
      let since = process.cpuUsage()
      const claimed = await engine.claim({ queues: ['bench'], owner: 'parts', limit: batch, leaseMs: 30_000 })
      claim += cpuUs(since)
      let serverNow = await server()
      claimServer += serverNow - serverSince
      serverSince = serverNow
      since = process.cpuUsage()
      await engine.completeMany(
        claimed.map((job) => ({
          id: job.id,
          owner: 'parts',
          attempt: job.attempts,
          queue: 'bench',
          result: null,
        })),
      )
      complete += cpuUs(since)
      serverNow = await server()
      completeServer += serverNow - serverSince
    }
    const parts: StoreParts = { claim: claim / jobs, complete: complete / jobs }
    if (meter) {
      parts.claimServer = claimServer / jobs
      parts.completeServer = completeServer / jobs
    }
    return parts
  } finally {
    await meter?.end()
    await engine.close()
    await db.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }
}

/** The runner draining `jobs` no-op jobs from an engine that answers every call at once. */
async function runnerPart(): Promise<number> {
  let made = 0
  let completed = 0
  let drained!: () => void
  const done = new Promise<void>((resolve) => {
    drained = resolve
  })
  const job = (): Job => ({
    id: `job-${made}`,
    queue: 'bench',
    payload: { n: made++ },
    priority: 0,
    runAt: 0,
    attempts: 1,
    maxAttempts: 3,
    status: 'running',
    result: null,
    lastError: null,
    progress: null,
    leaseOwner: 'parts',
    leaseExpiresAt: 0,
    cancelRequested: false,
    dedupKey: null,
    createdAt: 0,
    startedAt: 0,
    finishedAt: null,
    updatedAt: 0,
  })
  const engine = {
    dialect: 'sqlite',
    notifier: { subscribe: () => () => {} },
    onCancel: () => () => {},
    claim: async ({ limit }: { limit: number }) => Array.from({ length: Math.min(limit, jobs - made) }, job),
    completeMany: async (items: readonly unknown[]) => {
      completed += items.length
      if (completed >= jobs) drained()
      return items.map(() => ({ ok: true as const, status: 'succeeded' as const }))
    },
    heartbeatMany: async () => new Map(),
    // The runner closes each job's log before reporting it; a no-op job wrote none.
    logs: { append: () => {}, open: () => false, close: async () => {} },
    announceWorker: async () => {},
    retireWorker: async () => {},
  } as unknown as QueueEngine
  const runner = createRunner({
    engine,
    queues: () => ['bench'],
    concurrency: batch,
    execute: async () => null,
  })
  const since = process.cpuUsage()
  runner.start()
  await done
  const used = cpuUs(since)
  await runner.stop({ drainMs: 0 })
  return used / jobs
}

const best = (values: Array<number | undefined>) =>
  Math.min(...values.filter((value) => value !== undefined)).toFixed(2)

/** Each variant's parts on a database of its own, created for it and dropped after. */
async function postgresParts(keepNothing: boolean): Promise<StoreParts> {
  const database = await createDatabase()
  try {
    return await storeParts(database.url, keepNothing)
  } finally {
    await database.drop()
  }
}

if (flags.postgres) {
  const kept: StoreParts[] = []
  const dropped: StoreParts[] = []
  for (let round = 0; round < repeats; round += 1) {
    kept.push(await postgresParts(false))
    dropped.push(await postgresParts(true))
  }
  console.log(
    `bench:queue-parts — PostgreSQL, ${jobs.toLocaleString('en-US')} jobs in batches of ${batch}, best of ${repeats}; µs of CPU per job, this process + the backends serving its database${flags['no-events'] ? '; events off' : ''}`,
  )
  for (const [name, runs] of [
    ['7-day history', kept],
    ['retention 0  ', dropped],
  ] as const) {
    console.log(
      `  ${name}  claim ${best(runs.map((r) => r.claim))} + ${best(runs.map((r) => r.claimServer))}   complete ${best(runs.map((r) => r.complete))} + ${best(runs.map((r) => r.completeServer))}`,
    )
  }
  process.exit(0)
}

const claims: number[] = []
const completes: number[] = []
const runs: number[] = []
for (let round = 0; round < repeats; round += 1) {
  const store = await storeParts()
  claims.push(store.claim)
  completes.push(store.complete)
  runs.push(await runnerPart())
}
console.log(
  `bench:queue-parts — SQLite, ${jobs.toLocaleString('en-US')} jobs in batches of ${batch}, best of ${repeats}`,
)
console.log(`  claim      ${best(claims)} µs CPU per job`)
console.log(`  complete   ${best(completes)} µs CPU per job`)
console.log(`  runner JS  ${best(runs)} µs CPU per job (engine answering at once)`)
