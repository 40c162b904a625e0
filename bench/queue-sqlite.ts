// bench:queue's SQLite end-to-end phase alone, repeated: the same system (bench/queue/edgeforge.ts)
// and the same measurement (measureEndToEnd: a full queue of no-op jobs drained by the in-process
// runner, timed from the first job's start until the database records every job done), without
// PostgreSQL or graphile-worker. Prints each round's jobs/s and this process's CPU per job (µs,
// process.cpuUsage over the round, start-up included), and the best and the median of each. On a
// shared machine the CPU per job is the figure to compare: other processes only ever add to it.
//
//   npm run bench:queue-sqlite
//   npm run bench:queue-sqlite -- --jobs 40000 --rounds 7 --concurrency 1000
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { parseArgs } from 'node:util'
import { openEdgeforge } from './queue/edgeforge.ts'
import { measureEndToEnd } from './queue/phases.ts'
import type { QueueSystem } from './queue/system.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1000' },
    /** Write a V8 CPU profile of each round's timed span to <profile>.<round>.cpuprofile. */
    profile: { type: 'string' },
  },
})
const jobs = intFlag('bench:queue-sqlite', 'jobs', flags.jobs, 100, 1_000_000)
const rounds = intFlag('bench:queue-sqlite', 'rounds', flags.rounds, 1, 50)
const concurrency = intFlag('bench:queue-sqlite', 'concurrency', flags.concurrency, 1, 10_000)

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const inner = await openEdgeforge({ name: 'edgeforge sqlite' })
const session = flags.profile === undefined ? null : new Session()
if (session) {
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
}
let profiled = 0
// As in bench:queue, where the CPU meter's first PostgreSQL query lets the enqueue phase's own
// event writes land before the meter starts: here a turn of the event loop after each batch does.
const system: QueueSystem = {
  ...inner,
  name: inner.name,
  async enqueueBatch(ns) {
    await inner.enqueueBatch(ns)
    await new Promise((resolve) => setImmediate(resolve))
  },
  async startWorkers(onStart, n) {
    if (session) await session.post('Profiler.start')
    const workers = await inner.startWorkers(onStart, n)
    return {
      async stop() {
        await workers.stop()
        if (session) {
          const { profile } = await session.post('Profiler.stop')
          profiled += 1
          writeFileSync(`${flags.profile}.${profiled}.cpuprofile`, JSON.stringify(profile))
        }
      },
    }
  },
}
const rates: number[] = []
const costs: number[] = []
try {
  for (let round = 1; round <= rounds; round += 1) {
    const result = await measureEndToEnd(system, jobs, concurrency, 120_000)
    if (result.repeats > 0) throw new Error(`round ${round}: ${result.repeats} jobs ran twice`)
    const usPerJob = (result.cpu.nodeMs * 1000) / jobs
    rates.push(result.jobsPerS)
    costs.push(usPerJob)
    const other =
      result.cpu.otherMs === null ? '-' : `${((100 * result.cpu.otherMs) / result.cpu.wallMs).toFixed(0)}%`
    console.log(
      `round ${round}: ${Math.round(result.jobsPerS).toLocaleString('en-US')} jobs/s, ${usPerJob.toFixed(1)} µs CPU/job (node ${((100 * result.cpu.nodeMs) / result.cpu.wallMs).toFixed(0)}%, other ${other} of a core), start-up ${result.startupMs.toFixed(1)} ms`,
    )
  }
} finally {
  await inner.close()
}
console.log(
  `${jobs.toLocaleString('en-US')} jobs, concurrency ${concurrency}, ${rounds} rounds: jobs/s best ${Math.round(Math.max(...rates)).toLocaleString('en-US')}, median ${Math.round(median(rates)).toLocaleString('en-US')}; CPU µs/job best ${Math.min(...costs).toFixed(1)}, median ${median(costs).toFixed(1)}`,
)
