// The three measurements, the same code for every system: enqueue throughput, end-to-end throughput
// of no-op jobs, and enqueue→start latency. Each phase starts from an empty queue.
import { type CpuUse, cpuMeter } from './cpu.ts'
import type { QueueSystem } from './system.ts'

export const BATCH_SIZE = 1000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface EnqueuePlan {
  /** Jobs enqueued one by one, each awaited before the next. */
  sequential: number
  /** Jobs enqueued one by one with `concurrency` calls in flight. */
  concurrent: number
  concurrency: number
  /** Batches of BATCH_SIZE jobs, one call each, awaited one after another. */
  batches: number
}

export interface EnqueueResult {
  sequentialPerS: number
  concurrentPerS: number
  batchPerS: number
}

/** Jobs per second of each enqueue style; checks every job landed. */
export async function measureEnqueue(system: QueueSystem, plan: EnqueuePlan): Promise<EnqueueResult> {
  const timed = async (jobs: number, work: () => Promise<void>) => {
    await system.reset()
    const started = performance.now()
    await work()
    const seconds = (performance.now() - started) / 1000
    const stored = await system.unfinished()
    if (stored !== jobs) throw new Error(`${system.name}: enqueued ${jobs} jobs but ${stored} are queued`)
    return jobs / seconds
  }
  const sequentialPerS = await timed(plan.sequential, async () => {
    for (let n = 0; n < plan.sequential; n += 1) await system.enqueue(n)
  })
  const concurrentPerS = await timed(plan.concurrent, async () => {
    let next = 0
    const lane = async () => {
      while (next < plan.concurrent) await system.enqueue(next++)
    }
    await Promise.all(Array.from({ length: plan.concurrency }, lane))
  })
  const batchPerS = await timed(plan.batches * BATCH_SIZE, async () => {
    for (let batch = 0; batch < plan.batches; batch += 1) {
      const first = batch * BATCH_SIZE
      await system.enqueueBatch(Array.from({ length: BATCH_SIZE }, (_, i) => first + i))
    }
  })
  return { sequentialPerS, concurrentPerS, batchPerS }
}

/** Counts handler starts by sequence number: how many distinct jobs ran, and how many ran again. */
class Starts {
  readonly expected: number
  private readonly seen: Uint8Array
  distinct = 0
  repeats = 0
  private readonly waiting: Array<() => void> = []

  constructor(expected: number) {
    this.expected = expected
    this.seen = new Uint8Array(expected)
  }

  record = (n: number): void => {
    if (this.seen[n]) {
      this.repeats += 1
      return
    }
    this.seen[n] = 1
    this.distinct += 1
    if (this.distinct === this.expected) for (const wake of this.waiting.splice(0)) wake()
  }

  all(timeoutMs: number, what: string): Promise<void> {
    if (this.distinct === this.expected) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`${what}: ${this.distinct} of ${this.expected} jobs started in ${timeoutMs} ms`)),
        timeoutMs,
      )
      this.waiting.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}

export interface EndToEndResult {
  jobs: number
  concurrency: number
  /** Jobs per second from the first job's start until the database records every job done. */
  jobsPerS: number
  /** From starting the workers to the first job's start: the workers' own start-up, not counted above. */
  startupMs: number
  elapsedMs: number
  /** Handlers that ran for a job that had already run (at-least-once redelivery): should be 0. */
  repeats: number
  /** From starting the workers to the end. */
  cpu: CpuUse
}

/**
 * Enqueues `jobs` no-op jobs in batches (not timed), then starts the workers and times until the
 * database has none left queued or running. The end is read from the database, so a system that
 * acknowledges jobs lazily is timed until its acknowledgements are stored.
 */
export async function measureEndToEnd(
  system: QueueSystem,
  jobs: number,
  concurrency: number,
  timeoutMs: number,
): Promise<EndToEndResult> {
  await system.reset()
  for (let first = 0; first < jobs; first += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, jobs - first)
    await system.enqueueBatch(Array.from({ length: size }, (_, i) => first + i))
  }
  const starts = new Starts(jobs)
  let firstStart = 0
  const onStart = (n: number) => {
    if (firstStart === 0) firstStart = performance.now()
    starts.record(n)
  }
  const launched = performance.now()
  const meter = await cpuMeter()
  const workers = await system.startWorkers(onStart, concurrency)
  let finished: number
  let cpu: CpuUse
  try {
    await starts.all(timeoutMs, `${system.name} end to end`)
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const left = await system.unfinished()
      if (left === 0) {
        finished = performance.now()
        cpu = await meter()
        break
      }
      if (performance.now() > deadline) throw new Error(`${system.name}: ${left} jobs still unfinished`)
      await sleep(2)
    }
  } finally {
    await workers.stop()
  }
  const elapsedMs = finished - firstStart
  return {
    jobs,
    concurrency,
    jobsPerS: jobs / (elapsedMs / 1000),
    startupMs: firstStart - launched,
    elapsedMs,
    repeats: starts.repeats,
    cpu,
  }
}

export interface LatencySamples {
  /** Per job: ms from just before the enqueue call to the handler's start. */
  waits: number[]
  /** Per job: ms the enqueue call took (the commit, mostly). */
  calls: number[]
}

export interface LatencyResult {
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** How long the enqueue call itself took, median. */
  enqueueP50Ms: number
}

/** Percentiles over every sample of several runs. */
export function summarizeLatency(runs: readonly LatencySamples[]): LatencyResult | undefined {
  if (runs.length === 0) return undefined
  const waits = runs.flatMap((run) => run.waits).sort((a, b) => a - b)
  const calls = runs.flatMap((run) => run.calls).sort((a, b) => a - b)
  return {
    samples: waits.length,
    p50Ms: percentile(waits, 50),
    p99Ms: percentile(waits, 99),
    maxMs: waits[waits.length - 1],
    enqueueP50Ms: percentile(calls, 50),
  }
}

/** The value below which `percent` of the sorted samples fall (nearest rank). */
export function percentile(sorted: readonly number[], percent: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((percent / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/**
 * With the workers idle and listening, enqueues `jobs` jobs one at a time, `gapMs` apart, and records
 * for each the time from just before the enqueue call to its handler's start.
 */
export async function measureLatency(
  system: QueueSystem,
  jobs: number,
  gapMs: number,
  concurrency: number,
): Promise<LatencySamples> {
  await system.reset()
  const sentAt = new Float64Array(jobs)
  const waits = new Float64Array(jobs).fill(Number.NaN)
  const starts = new Starts(jobs)
  const workers = await system.startWorkers((n) => {
    if (Number.isNaN(waits[n])) waits[n] = performance.now() - sentAt[n]
    starts.record(n)
  }, concurrency)
  const calls: number[] = []
  try {
    await sleep(200) // let the workers' first (empty) claim and any start-up work pass
    for (let n = 0; n < jobs; n += 1) {
      sentAt[n] = performance.now()
      await system.enqueue(n)
      calls.push(performance.now() - sentAt[n])
      await sleep(gapMs)
    }
    await starts.all(10_000, `${system.name} latency`)
  } finally {
    await workers.stop()
  }
  return { waits: [...waits], calls }
}
