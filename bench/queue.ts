// The job queue benchmark: edgeforge's queue engine and in-process runner on SQLite and on
// PostgreSQL, and graphile-worker on the same PostgreSQL server, measured in the same run and the
// same process, one system at a time. For each: enqueue throughput (one by one awaited, one by one
// with a few calls in flight, batches of 1,000), end-to-end throughput of no-op jobs (a full queue
// drained by the runner, timed until the database records every job done) and enqueue→start latency
// (jobs enqueued one at a time into an idle, listening runner). graphile-worker runs twice: with its
// defaults (one fetch per job, one DELETE per completion) and with its documented batching (a local
// queue of prefetched jobs, batched completions); the goal is checked against the faster of the two.
// Prints a table, our/their ratios and the goals of issue 14. docs/performance.md explains how to
// read the output.
//
//   npm run bench:queue                      # 10,000 jobs on PostgreSQL, 20,000 on SQLite, 5 rounds
//   npm run bench:queue -- --jobs 2000 --rounds 1 --latency-jobs 50    # a quick look
//   npm run bench:queue -- --sweep 100,400,1000                        # tune concurrency first
//
// Needs PostgreSQL (EDGEFORGE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
// with the right to create databases: each run creates edgeforge_bench_<pid> and drops it at the end.
import { availableParallelism, cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { PostgresScope, scopePostgres } from './queue/cpu.ts'
import { openEdgeforge } from './queue/edgeforge.ts'
import { fmtMs, fmtRate, fmtRatio, printTable } from './queue/format.ts'
import { graphilePoolSize, openGraphile } from './queue/graphile.ts'
import {
  type EndToEndResult,
  type EnqueuePlan,
  type EnqueueResult,
  type LatencyResult,
  type LatencySamples,
  measureEndToEnd,
  measureEnqueue,
  measureLatency,
  summarizeLatency,
} from './queue/phases.ts'
import { type BenchDatabase, createDatabase } from './queue/postgres.ts'
import type { QueueSystem } from './queue/system.ts'
import { waitForQuiet } from './support/cpu.ts'
import { intFlag } from './support/flags.ts'

// Issue 14's goals, against graphile-worker's faster configuration in the same run.
const GOAL_PG_RATIO = 1.5
/** Our CPU per job (this process + PostgreSQL) over theirs, at most. */
const GOAL_PG_CPU_RATIO = 0.8
const GOAL_PG_P50_MS = 5
const GOAL_SQLITE_PER_S = 100_000

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    'latency-jobs': { type: 'string', default: '300' },
    'gap-ms': { type: 'string', default: '5' },
    'enqueue-concurrency': { type: 'string', default: '8' },
    'concurrency-sqlite': { type: 'string', default: '1000' },
    'concurrency-pg': { type: 'string', default: '1000' },
    'concurrency-graphile': { type: 'string', default: '32' },
    'local-queue': { type: 'string', default: '1000' },
    sweep: { type: 'string' },
    'quiet-wait': { type: 'string', default: '15' },
    help: { type: 'boolean', default: false },
  },
})

if (flags.help) {
  console.log(`npm run bench:queue -- [options]

  --jobs <n>                  no-op jobs drained end to end on PostgreSQL, per round (default 10000;
                              SQLite drains twice as many); the enqueue phases scale with it
  --rounds <n>                rounds of the enqueue and end-to-end phases; the table shows each
                              system's median (default 5)
  --latency-jobs <n>          jobs enqueued one at a time for enqueue→start latency (default 300)
  --gap-ms <ms>               pause after each of those enqueues (default 5)
  --enqueue-concurrency <n>   calls in flight in the concurrent enqueue phase (default 8)
  --concurrency-sqlite <n>    edgeforge runner concurrency on SQLite (default 1000)
  --concurrency-pg <n>        edgeforge runner concurrency on PostgreSQL (default 1000)
  --concurrency-graphile <n>  graphile-worker concurrentJobs, both configurations (default 32)
  --local-queue <n>           graphile-worker localQueue.size of its batched configuration (default 1000)
  --quiet-wait <s>            before each round, wait up to this long for other processes to go
                              quiet (default 15; 0 does not wait); disturbed runs are flagged either way
  --sweep <list>              first drain half the jobs at each of these concurrencies (e.g.
                              100,400,1000) for every system and use the best`)
  process.exit(0)
}

/** A flag of this script as an integer from `min` to `max`. */
const int = (name: keyof typeof flags, min: number, max: number) =>
  intFlag('bench:queue', name, flags[name] as string | undefined, min, max)
const jobsPg = int('jobs', 100, 200_000)
const rounds = int('rounds', 1, 10)
const latencyJobs = int('latency-jobs', 10, 5000)
const gapMs = int('gap-ms', 0, 1000)
const enqueueConcurrency = int('enqueue-concurrency', 1, 64)
const sweep =
  flags.sweep === undefined
    ? []
    : flags.sweep.split(',').map((value) => intFlag('bench:queue', 'sweep', value, 1, 10_000))
const jobsSqlite = 2 * jobsPg
const concurrencySqlite = int('concurrency-sqlite', 1, 10_000)
const concurrencyPg = int('concurrency-pg', 1, 10_000)
const concurrencyGraphile = int('concurrency-graphile', 1, 1000)
const localQueueSize = int('local-queue', 2, 10_000)
const quietWaitS = int('quiet-wait', 0, 120)
/** Other processes using more than this share of a core make a run "disturbed". */
const QUIET = 0.1

interface Entry {
  system: QueueSystem
  concurrency: number
  /** Jobs drained end to end per round; 0 skips the phase. */
  e2eJobs: number
  enqueuePlan: EnqueuePlan | null
  latency: boolean
  enqueueRuns: EnqueueResult[]
  e2eRuns: EndToEndResult[]
  latencyRuns: LatencySamples[]
}

function enqueuePlanFor(jobs: number): EnqueuePlan {
  const single = Math.min(Math.max(Math.round(jobs / 5), 100), 4000)
  return {
    sequential: single,
    concurrent: single,
    concurrency: enqueueConcurrency,
    batches: Math.min(Math.max(Math.round(jobs / 1000), 1), 20),
  }
}

// Everything is bounded: past the budget the run gives up, drops its database and exits 2.
const budgetMs = 600_000 + rounds * 120_000 + sweep.length * 60_000
let database: BenchDatabase | null = null
const watchdog = setTimeout(() => {
  console.error(`bench:queue: still running after ${budgetMs / 1000} s; giving up`)
  void (database?.drop() ?? Promise.resolve()).finally(() => process.exit(2))
}, budgetMs)
watchdog.unref()
process.once('SIGINT', () => {
  void (database?.drop() ?? Promise.resolve()).finally(() => process.exit(130))
})

const entries: Entry[] = []
let scope: PostgresScope | null = null
try {
  database = await createDatabase()
  printMachine(database.serverVersion)
  // PostgreSQL CPU counts this run's database only (and the server's shared processes): the
  // backends of other databases on the same server are someone else's work.
  scope = await PostgresScope.open(database.url)
  scopePostgres(scope)
  await main(database.url)
} finally {
  scopePostgres(null)
  await scope?.close().catch((error) => console.error(error))
  for (const entry of entries) await entry.system.close().catch((error) => console.error(error))
  await database?.drop()
  clearTimeout(watchdog)
}

async function main(url: string): Promise<void> {
  const add = (entry: Omit<Entry, 'enqueueRuns' | 'e2eRuns' | 'latencyRuns'>) => {
    entries.push({ ...entry, enqueueRuns: [], e2eRuns: [], latencyRuns: [] })
  }
  add({
    system: await openEdgeforge({ name: 'edgeforge sqlite' }),
    concurrency: concurrencySqlite,
    e2eJobs: jobsSqlite,
    enqueuePlan: enqueuePlanFor(jobsSqlite),
    latency: true,
  })
  add({
    system: await openEdgeforge({ name: 'edgeforge postgres', databaseUrl: url, queue: 'bench-history' }),
    concurrency: concurrencyPg,
    e2eJobs: jobsPg,
    enqueuePlan: enqueuePlanFor(jobsPg),
    latency: true,
  })
  add({
    system: await openEdgeforge({
      name: 'edgeforge postgres, retention 0',
      databaseUrl: url,
      keepNothing: true,
      queue: 'bench-nothing',
    }),
    concurrency: concurrencyPg,
    e2eJobs: jobsPg,
    enqueuePlan: null,
    latency: false,
  })
  add({
    system: await openEdgeforge({
      name: 'edgeforge postgres, NOTIFY',
      databaseUrl: url,
      remoteProducer: true,
      queue: 'bench-notify',
    }),
    concurrency: concurrencyPg,
    e2eJobs: 0,
    enqueuePlan: null,
    latency: true,
  })
  add({
    system: await openGraphile({ name: 'graphile-worker', connectionString: url, localQueueSize: 0 }),
    concurrency: concurrencyGraphile,
    e2eJobs: jobsPg,
    enqueuePlan: enqueuePlanFor(jobsPg),
    latency: true,
  })
  add({
    system: await openGraphile({
      name: 'graphile-worker, batched',
      connectionString: url,
      localQueueSize,
    }),
    concurrency: concurrencyGraphile,
    e2eJobs: jobsPg,
    enqueuePlan: null,
    latency: true,
  })

  console.log(
    `\nworkers: edgeforge runner concurrency ${concurrencySqlite} (sqlite), ${concurrencyPg} (postgres); graphile-worker concurrentJobs ${concurrencyGraphile}, pool ${graphilePoolSize(concurrencyGraphile)}; batched = localQueue.size ${localQueueSize}, completeJobBatchDelay 0`,
  )
  for (const entry of entries)
    if (entry.system.describe) console.log(`  ${entry.system.name}: ${entry.system.describe}`)
  // A full round's jobs: V8 compiles the hot paths over the first tens of thousands of jobs, and a
  // round that pays for that measures the compiler (edgeforge's node CPU a job was about twice its
  // later figure in the first round after a 1,000-job warm-up; graphile-worker's JavaScript warms
  // up the same way).
  console.log('warm-up: one round of jobs end to end and 200 single enqueues on each system')
  for (const entry of entries) {
    if (entry.e2eJobs > 0) await measureEndToEnd(entry.system, entry.e2eJobs, entry.concurrency, 120_000)
    if (entry.enqueuePlan)
      await measureEnqueue(entry.system, { sequential: 200, concurrent: 200, concurrency: 8, batches: 1 })
  }

  if (sweep.length > 0) await tune()

  for (let round = 1; round <= rounds; round += 1) {
    // Alternate the order, so drift over the run (autovacuum, page cache) favours no one.
    const order = round % 2 === 1 ? entries : [...entries].reverse()
    if (quietWaitS > 0) {
      const share = (
        await waitForQuiet({ pids: [], threshold: QUIET, maxWaitMs: quietWaitS * 1000, interrupts: false })
      ).otherShare
      if (share !== null && share >= QUIET)
        console.log(`(other processes still use ${fmtShare(share)} of a core; measuring anyway)`)
    }
    console.log(`round ${round}: end to end`)
    for (const entry of order) {
      if (entry.enqueuePlan) entry.enqueueRuns.push(await measureEnqueue(entry.system, entry.enqueuePlan))
      if (entry.e2eJobs > 0) {
        const result = await measureEndToEnd(entry.system, entry.e2eJobs, entry.concurrency, 120_000)
        entry.e2eRuns.push(result)
        const { cpu } = result
        console.log(
          `  ${entry.system.name.padEnd(32)} ${fmtRate(result.jobsPerS).padStart(7)} jobs/s  CPU µs/job ${cpuPerJob(result)}  (node ${share(cpu.nodeMs, cpu.wallMs)}, postgres ${share(cpu.postgresMs, cpu.wallMs)}, other ${share(cpu.otherMs, cpu.wallMs)} of a core)${disturbed(result) ? '  disturbed' : ''}`,
        )
      }
    }
    // Latency too is measured a share per round, so a slow patch of the disk's fsync (which every
    // commit waits for) is spread over all systems rather than landing on one.
    const latencyShare = Math.ceil(latencyJobs / rounds)
    for (const entry of order) {
      if (entry.latency)
        entry.latencyRuns.push(await measureLatency(entry.system, latencyShare, gapMs, entry.concurrency))
    }
  }
  report()
}

/** Drains half the jobs at each concurrency of the sweep and keeps the best for every system. */
async function tune(): Promise<void> {
  console.log(`\nsweep: end-to-end jobs/s at concurrency ${sweep.join(', ')} (half the jobs each)`)
  for (const entry of entries) {
    if (entry.e2eJobs === 0) continue
    let best = { concurrency: entry.concurrency, jobsPerS: 0 }
    const cells: string[] = []
    for (const concurrency of sweep) {
      const result = await measureEndToEnd(entry.system, Math.round(entry.e2eJobs / 2), concurrency, 120_000)
      cells.push(`${concurrency}: ${fmtRate(result.jobsPerS)}`)
      if (result.jobsPerS > best.jobsPerS) best = { concurrency, jobsPerS: result.jobsPerS }
    }
    entry.concurrency = best.concurrency
    console.log(`  ${entry.system.name.padEnd(32)} ${cells.join('  ')}  → ${best.concurrency}`)
  }
  // The NOTIFY variant is the same runner as edgeforge postgres: it takes that one's concurrency.
  const pg = entries.find((entry) => entry.system.name === 'edgeforge postgres')
  for (const entry of entries) if (entry.e2eJobs === 0 && pg) entry.concurrency = pg.concurrency
}

function share(ms: number | null, wallMs: number): string {
  return ms === null ? '-' : fmtShare(ms / wallMs)
}

function fmtShare(value: number): string {
  return `${Math.round(value * 100)}%`
}

/** Node and PostgreSQL CPU per job, µs: the work a job costs, whatever the machine's other load. */
function cpuUsPerJob(result: EndToEndResult): number | undefined {
  const { nodeMs, postgresMs } = result.cpu
  return postgresMs === null ? undefined : ((nodeMs + postgresMs) * 1000) / result.jobs
}

function cpuPerJob(result: EndToEndResult): string {
  return cpuUsPerJob(result)?.toFixed(0) ?? '-'
}

function disturbed(result: EndToEndResult): boolean {
  return result.cpu.otherMs !== null && result.cpu.otherMs / result.cpu.wallMs >= QUIET
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

interface Summary {
  name: string
  sequential?: number
  concurrent?: number
  batch?: number
  e2e?: number
  startupMs?: number
  cpuUs?: number
  latency?: LatencyResult
}

function summarize(entry: Entry): Summary {
  return {
    name: entry.system.name,
    sequential: median(entry.enqueueRuns.map((run) => run.sequentialPerS)),
    concurrent: median(entry.enqueueRuns.map((run) => run.concurrentPerS)),
    batch: median(entry.enqueueRuns.map((run) => run.batchPerS)),
    e2e: median(entry.e2eRuns.map((run) => run.jobsPerS)),
    startupMs: median(entry.e2eRuns.map((run) => run.startupMs)),
    cpuUs: median(entry.e2eRuns.map(cpuUsPerJob).filter((value) => value !== undefined)),
    latency: summarizeLatency(entry.latencyRuns),
  }
}

function report(): void {
  const summaries = new Map(entries.map((entry) => [entry.system.name, summarize(entry)]))
  console.log(
    `\nmedian of ${rounds} round(s); enqueue and end to end in jobs/s, latency in ms (enqueue call → handler start)\n`,
  )
  printTable(
    [
      'system',
      'workers',
      'enqueue 1-by-1',
      `enqueue ×${enqueueConcurrency}`,
      'enqueue batch',
      'end to end',
      'jobs',
      'CPU µs/job',
      'start-up ms',
      'p50 ms',
      'p99 ms',
      'max ms',
      'enqueue call p50',
    ],
    entries.map((entry) => {
      const s = summaries.get(entry.system.name)!
      return [
        s.name,
        String(entry.concurrency),
        fmtRate(s.sequential),
        fmtRate(s.concurrent),
        fmtRate(s.batch),
        fmtRate(s.e2e),
        entry.e2eJobs > 0 ? entry.e2eJobs.toLocaleString('en-US') : '-',
        s.cpuUs === undefined ? '-' : s.cpuUs.toFixed(0),
        fmtMs(s.startupMs),
        fmtMs(s.latency?.p50Ms),
        fmtMs(s.latency?.p99Ms),
        fmtMs(s.latency?.maxMs),
        fmtMs(s.latency?.enqueueP50Ms),
      ]
    }),
  )
  const noisy = entries.flatMap((entry) => entry.e2eRuns).filter(disturbed).length
  if (noisy > 0)
    console.log(
      `\nWARNING: ${noisy} end-to-end runs were disturbed by other processes (≥ ${fmtShare(QUIET)} of a core): the jobs/s are unreliable; CPU µs/job holds up better`,
    )
  const repeats = entries.reduce(
    (sum, entry) => sum + entry.e2eRuns.reduce((n, run) => n + run.repeats, 0),
    0,
  )
  if (repeats > 0)
    console.log(`\nWARNING: ${repeats} handler runs were repeats of a job that had already run`)

  const ours = summaries.get('edgeforge postgres')!
  const oursNothing = summaries.get('edgeforge postgres, retention 0')!
  const notify = summaries.get('edgeforge postgres, NOTIFY')!
  const theirs = summaries.get('graphile-worker')!
  const theirsBatched = summaries.get('graphile-worker, batched')!
  const sqlite = summaries.get('edgeforge sqlite')!
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? Number.NaN : a / b
  const bestTheirs = Math.max(theirs.e2e ?? 0, theirsBatched.e2e ?? 0)
  const e2eRatio = ratio(ours.e2e, bestTheirs)
  const e2eRatioNothing = ratio(oursNothing.e2e, bestTheirs)
  // Within a round the systems ran back to back, so a round's ratio is the fairest pairing.
  const runsOf = (name: string) => entries.find((entry) => entry.system.name === name)?.e2eRuns ?? []
  const perRound = (name: string) =>
    runsOf(name).map((run, i) => {
      const best = Math.max(
        runsOf('graphile-worker')[i]?.jobsPerS ?? 0,
        runsOf('graphile-worker, batched')[i]?.jobsPerS ?? 0,
      )
      return fmtRatio(run.jobsPerS / best)
    })

  console.log('\nratios edgeforge postgres / graphile-worker (same PostgreSQL, same run)')
  console.log(
    `  end to end, jobs/s:        ${fmtRatio(ratio(ours.e2e, theirs.e2e))} vs defaults, ${fmtRatio(ratio(ours.e2e, theirsBatched.e2e))} vs batched; vs the best, round by round: ${perRound('edgeforge postgres').join(', ')}`,
  )
  console.log(
    `  same, retention 0:         ${fmtRatio(e2eRatioNothing)} vs the best; round by round: ${perRound('edgeforge postgres, retention 0').join(', ')} (keeps no succeeded job, like graphile-worker)`,
  )
  console.log(
    `  end to end, CPU per job:   ${fmtRatio(ratio(theirs.cpuUs, ours.cpuUs))} vs defaults, ${fmtRatio(ratio(theirsBatched.cpuUs, ours.cpuUs))} vs batched (theirs/ours: > 1 is edgeforge cheaper)`,
  )
  console.log(
    `  enqueue, jobs/s:           1-by-1 ${fmtRatio(ratio(ours.sequential, theirs.sequential))}, ×${enqueueConcurrency} ${fmtRatio(ratio(ours.concurrent, theirs.concurrent))}, batch of 1,000 ${fmtRatio(ratio(ours.batch, theirs.batch))}`,
  )
  console.log(
    `  p50 enqueue→start:         ${fmtRatio(ratio(theirs.latency?.p50Ms, ours.latency?.p50Ms))} vs defaults, ${fmtRatio(ratio(theirsBatched.latency?.p50Ms, ours.latency?.p50Ms))} vs batched; via NOTIFY ${fmtRatio(ratio(theirs.latency?.p50Ms, notify.latency?.p50Ms))} vs defaults (theirs/ours: > 1 is edgeforge sooner)`,
  )
  console.log(
    `  edgeforge sqlite end to end / graphile-worker's best: ${fmtRatio(ratio(sqlite.e2e, bestTheirs))}`,
  )

  const verdict = (met: boolean) => (met ? 'met' : 'NOT met')
  const p50 = ours.latency?.p50Ms ?? Number.POSITIVE_INFINITY
  const p50Notify = notify.latency?.p50Ms ?? Number.POSITIVE_INFINITY
  console.log('\ngoals (issue 14)')
  // graphile-worker deletes every job as it succeeds; the like-for-like edgeforge queue keeps
  // nothing either (retention 0). The default queue also keeps 7 days of succeeded jobs.
  console.log(
    `  postgres end to end ≥ ${GOAL_PG_RATIO.toFixed(1)}× graphile-worker's best, both keeping no succeeded job: ${fmtRatio(e2eRatioNothing)} — ${verdict(e2eRatioNothing >= GOAL_PG_RATIO)}; keeping 7 days of them (our default): ${fmtRatio(e2eRatio)} — ${verdict(e2eRatio >= GOAL_PG_RATIO)}`,
  )
  // CPU per job against the batched configuration (graphile-worker's cheapest per job).
  const cpuOurs = ratio(ours.cpuUs, theirsBatched.cpuUs)
  const cpuNothing = ratio(oursNothing.cpuUs, theirsBatched.cpuUs)
  console.log(
    `  postgres CPU per job ≤ ${GOAL_PG_CPU_RATIO.toFixed(1)}× graphile-worker batched's (ours/theirs): keeping 7 days ${fmtRatio(cpuOurs)} — ${verdict(cpuOurs <= GOAL_PG_CPU_RATIO)}; retention 0 ${fmtRatio(cpuNothing)} — ${verdict(cpuNothing <= GOAL_PG_CPU_RATIO)}`,
  )
  console.log(
    `  postgres p50 enqueue→start ≤ ${GOAL_PG_P50_MS} ms: ${fmtMs(p50)} ms — ${verdict(p50 <= GOAL_PG_P50_MS)}; via NOTIFY from another engine ${fmtMs(p50Notify)} ms — ${verdict(p50Notify <= GOAL_PG_P50_MS)}`,
  )
  console.log(
    `  sqlite end to end ≥ ${fmtRate(GOAL_SQLITE_PER_S)} jobs/s: ${fmtRate(sqlite.e2e)} — ${verdict((sqlite.e2e ?? 0) >= GOAL_SQLITE_PER_S)}`,
  )
  if (repeats > 0) process.exitCode = 1
}

function printMachine(postgresVersion: string): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `bench:queue — ${new Date().toISOString()} — node ${process.version} — ${availableParallelism()} cores, ${cpu} — PostgreSQL ${postgresVersion}`,
  )
  console.log(
    `end to end: ${jobsPg.toLocaleString('en-US')} jobs on PostgreSQL, ${jobsSqlite.toLocaleString('en-US')} on SQLite, ${rounds} round(s); latency: ${latencyJobs} jobs enqueued one at a time, ${gapMs} ms apart, into idle runners, spread over the rounds`,
  )
  console.log('every system runs in this one process, one at a time; PostgreSQL on the same machine')
  console.log(
    "postgres CPU: the server's processes except the backends of other databases (other users of the server do not count)",
  )
}
