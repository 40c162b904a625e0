// What recording events costs the queue's hot path, in CPU time per job (repeatable on a loaded
// machine, unlike throughput): the same engine drives N no-op jobs through enqueue (batches of
// 1,000), claim (100 at a time) and batched completion, once with the event recorder and once
// without (`events: false`), alternating rounds in one process, on SQLite (CPU of this process
// includes SQLite's) and on PostgreSQL (this process only; the server's CPU is not counted).
//
//   node bench/events-cost.ts [--jobs 20000] [--rounds 3]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { createQueueEngine } from '../packages/server/src/jobs/index.ts'
import { type Db, openStore } from '../packages/server/src/store/index.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: { jobs: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
})
const JOBS = intFlag('events-cost', 'jobs', flags.jobs, 1000, 1_000_000)
const ROUNDS = intFlag('events-cost', 'rounds', flags.rounds, 1, 20)

async function round(db: Db, withEvents: boolean, queue: string): Promise<number> {
  const engine = createQueueEngine(db, { events: withEvents ? undefined : false })
  const before = process.cpuUsage()
  for (let sent = 0; sent < JOBS; sent += 1000)
    await engine.enqueueBatch(
      Array.from({ length: Math.min(1000, JOBS - sent) }, () => ({ queue, payload: null })),
    )
  for (;;) {
    const jobs = await engine.claim({ queues: [queue], owner: 'bench', limit: 100, leaseMs: 60_000 })
    if (jobs.length === 0) break
    await engine.completeMany(
      jobs.map((job) => ({ id: job.id, owner: 'bench', attempt: job.attempts, queue })),
    )
  }
  await engine.events?.flush()
  const used = process.cpuUsage(before)
  await engine.close()
  return (used.user + used.system) / JOBS
}

async function measure(name: string, db: Db): Promise<void> {
  const on: number[] = []
  const off: number[] = []
  await round(db, true, `${name}-warm`)
  await round(db, false, `${name}-warm`)
  for (let r = 0; r < ROUNDS; r += 1) {
    off.push(await round(db, false, `${name}-${r}-off`))
    on.push(await round(db, true, `${name}-${r}-on`))
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const a = median(off)
  const b = median(on)
  console.log(
    `${name.padEnd(9)} without events ${a.toFixed(1)} µs/job, with events ${b.toFixed(1)} µs/job: +${(b - a).toFixed(1)} µs/job (+${(((b - a) / a) * 100).toFixed(0)}%), 3 events a job`,
  )
}

console.log(`events-cost: ${JOBS} jobs a round, ${ROUNDS} rounds (median), CPU of this process`)
const dir = mkdtempSync(join(tmpdir(), 'edgeforge-events-cost-'))
const sqlite = await openStore({ dataDir: dir })
await measure('sqlite', sqlite.db)
await sqlite.db.close()
rmSync(dir, { recursive: true, force: true })

const admin = process.env.EDGEFORGE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const name = `edgeforge_events_cost_${process.pid}`
const client = new pg.Client({ connectionString: admin })
await client.connect()
await client.query(`CREATE DATABASE ${name}`)
try {
  const url = new URL(admin)
  url.pathname = `/${name}`
  const postgres = await openStore({ dataDir: '', databaseUrl: url.toString() })
  await measure('postgres', postgres.db)
  await postgres.db.close()
} finally {
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await client.end()
}
