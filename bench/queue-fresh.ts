// A fresh database's queue as it grows: the case where PostgreSQL's generic plans go wrong. A new
// install's runner claims from an empty jobs table; after five executions a named statement may
// switch to a generic plan made from that empty table, and keep it while the table grows (until
// autovacuum next analyzes it). edgeforge plans its named statements with their values every time
// (store/postgres.ts, plan_cache_mode); the peer here is the same engine with PostgreSQL's default
// (PGOPTIONS="-c plan_cache_mode=auto"), in the same run, each on a database of its own.
//
//   npm run bench:queue-fresh
//   npm run bench:queue-fresh -- --jobs 50000 --rounds 4
import { parseArgs } from 'node:util'
import { openEdgeforge } from './queue/edgeforge.ts'
import { createDatabase } from './queue/postgres.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: { jobs: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
})
const jobs = intFlag('bench:queue-fresh', 'jobs', flags.jobs, 1000, 1_000_000)
const rounds = intFlag('bench:queue-fresh', 'rounds', flags.rounds, 1, 10)
const BATCH = 1000

/** Jobs per second of each round: `jobs` enqueued in batches while the runner drains them. */
async function measure(name: string, pgOptions: string | undefined): Promise<number[]> {
  const database = await createDatabase()
  const saved = process.env.PGOPTIONS
  if (pgOptions === undefined) delete process.env.PGOPTIONS
  else process.env.PGOPTIONS = pgOptions
  const system = await openEdgeforge({ databaseUrl: database.url, name, queue: 'bench-fresh' })
  if (saved === undefined) delete process.env.PGOPTIONS
  else process.env.PGOPTIONS = saved
  const rates: number[] = []
  try {
    let started = 0
    let target = 0
    let reached: (() => void) | null = null
    const workers = await system.startWorkers(() => {
      started += 1
      if (started === target) reached?.()
    }, 1000)
    // A new install: a few jobs one at a time, so the claim and the completion run more than five
    // times against an (almost) empty table.
    for (let n = 0; n < 20; n += 1) {
      await system.enqueue(n)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (let round = 1; round <= rounds; round += 1) {
      target = started + jobs
      const all = new Promise<void>((resolve) => (reached = resolve))
      let timedOut = false
      const timeout = setTimeout(() => {
        timedOut = true
        reached?.()
      }, 120_000)
      const begun = performance.now()
      for (let first = 0; first < jobs; first += BATCH)
        await system.enqueueBatch(Array.from({ length: Math.min(BATCH, jobs - first) }, (_, i) => first + i))
      await all
      clearTimeout(timeout)
      if (timedOut) throw new Error(`${name}: round ${round} did not finish its ${jobs} jobs in 120 s`)
      const rate = (Math.min(started, target) - (target - jobs)) / ((performance.now() - begun) / 1000)
      rates.push(rate)
      console.log(
        `  ${name.padEnd(40)} round ${round}: ${Math.round(rate).toLocaleString('en-US').padStart(7)} jobs/s`,
      )
    }
    await workers.stop()
  } finally {
    await system.close()
    await database.drop()
  }
  return rates
}

console.log(
  `bench:queue-fresh — ${new Date().toISOString()} — ${rounds} round(s) of ${jobs.toLocaleString('en-US')} jobs on a new database, enqueued in batches of ${BATCH} while the runner (concurrency 1000) drains them`,
)
const ours = await measure('edgeforge (plans with values)', undefined)
const peer = await measure('edgeforge, plan_cache_mode=auto (peer)', '-c plan_cache_mode=auto')
const last = rounds - 1
console.log(
  `ratio ours / peer, last round: ${(ours[last] / peer[last]).toFixed(2)}×; peer's last round / its first: ${(peer[last] / peer[0]).toFixed(2)}× (below 1: slowing down as the table grows)`,
)
