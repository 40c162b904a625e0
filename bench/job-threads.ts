// What running in-process job handlers in job threads costs per job: the SQLite queue drained by
// the runner with a no-op handler called on the main thread (how it ran before job threads) and
// with the same handler in job threads (how the server runs it now: every job crosses the batched
// channel to a thread and back). CPU is the whole process's (process.cpuUsage counts every
// thread), so the two figures compare the work per job, which stays meaningful on a loaded machine
// where throughput does not. Prints a table; docs/performance.md records the results.
//
//   npm run bench:job-threads                       # 20,000 jobs, 3 rounds per mode
//   npm run bench:job-threads -- --jobs 5000 --rounds 1
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createQueueEngine, createRunner } from '../packages/server/src/jobs/index.ts'
import { JobPool } from '../packages/server/src/jobs/local/job-pool.ts'
import { createLogger } from '../packages/server/src/observability/logger.ts'
import { openStore } from '../packages/server/src/store/index.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
  },
})
const JOBS = intFlag('bench:job-threads', 'jobs', flags.jobs, 100, 10_000_000)
const ROUNDS = intFlag('bench:job-threads', 'rounds', flags.rounds, 1, 100)
const CONCURRENCY = intFlag('bench:job-threads', 'concurrency', flags.concurrency, 1, 100_000)
const THREADS = intFlag('bench:job-threads', 'threads', flags.threads, 1, 256)

const BUNDLE = `const { job } = require('@edgeforge/sdk')\nexports.default = job(async (payload) => null)\n`

type Mode = 'main thread' | 'job threads'

async function drain(mode: Mode): Promise<{ perS: number; cpuUsPerJob: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-bench-job-threads-'))
  const { db } = await openStore({ dataDir })
  const engine = createQueueEngine(db)
  const logger = createLogger('silent')
  const pool = new JobPool({
    threads: THREADS,
    heapLimitMb: 512,
    stallMs: 30_000,
    abortGraceMs: 10_000,
    quarantineAfter: 3,
    quarantineWindowMs: 600_000,
    logger,
    endpointLogs: { append: () => {} },
    calls: {},
  })
  const key = pool.register({
    endpointId: 'bench',
    endpointName: 'bench',
    version: 1,
    bundle: BUNDLE,
    sourceMap: '',
    bindings: {},
    env: {},
    bindingKey: '[]',
  })
  const hooks = { log: () => {}, progress: () => {} }
  // The threads start and load the version before the clock does.
  await pool.run(key, { id: 'warm', queue: 'q', attempts: 1, payload: null }, hooks).done
  for (let i = 0; i < JOBS; i += 1000)
    await engine.enqueueBatch(
      Array.from({ length: Math.min(1000, JOBS - i) }, (_, n) => ({ queue: 'q', payload: { n } })),
    )
  let settled = 0
  let resolveAll!: () => void
  const all = new Promise<void>((resolve) => (resolveAll = resolve))
  const runner = createRunner({
    engine,
    queues: () => ['q'],
    concurrency: CONCURRENCY,
    execute: mode === 'main thread' ? async () => null : (job) => pool.run(key, job, hooks).done,
    onSettled: () => {
      settled += 1
      if (settled === JOBS) resolveAll()
    },
    onError: (error) => console.error('bench runner:', error),
  })
  const cpuBefore = process.cpuUsage()
  const startedAt = performance.now()
  runner.start()
  await all
  const seconds = (performance.now() - startedAt) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  await runner.stop({ drainMs: 1000 })
  await pool.close()
  await engine.close()
  await db.close()
  rmSync(dataDir, { recursive: true, force: true })
  return { perS: JOBS / seconds, cpuUsPerJob: (cpu.user + cpu.system) / JOBS }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const results: Record<Mode, Array<{ perS: number; cpuUsPerJob: number }>> = {
  'main thread': [],
  'job threads': [],
}
const loadBefore = loadavg()[0]
for (let round = 0; round < ROUNDS; round++)
  for (const mode of ['main thread', 'job threads'] as const) results[mode].push(await drain(mode))
const loadAfter = loadavg()[0]

console.log(
  `bench:job-threads — ${JOBS} no-op jobs on SQLite, runner concurrency ${CONCURRENCY}, ${THREADS} job threads, median of ${ROUNDS}`,
)
console.log(`load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`)
console.log('mode          jobs/s     CPU µs/job')
for (const mode of ['main thread', 'job threads'] as const) {
  const perS = median(results[mode].map((r) => r.perS))
  const cpu = median(results[mode].map((r) => r.cpuUsPerJob))
  console.log(
    `${mode.padEnd(12)}  ${Math.round(perS).toString().padStart(8)}  ${cpu.toFixed(1).padStart(10)}`,
  )
}
const ratio =
  median(results['job threads'].map((r) => r.cpuUsPerJob)) /
  median(results['main thread'].map((r) => r.cpuUsPerJob))
console.log(`CPU per job, job threads / main thread: ${ratio.toFixed(2)}x`)
