import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Job } from '../types.ts'
import type { QueueEngine } from './engine.ts'

/** How a run ended, as the runner tells it: `retried` = failed with attempts left, queued again. */
export type JobOutcome = 'succeeded' | 'failed' | 'retried' | 'dead' | 'cancelled'

/** The runner's hooks: one call when a job starts, one when its outcome is stored. */
export interface JobMetrics {
  observeStart(job: Job, startedAt: number): void
  observeFinish(job: Job, outcome: JobOutcome, runSeconds: number): void
}

export interface JobMetricsDeps {
  engine: Pick<QueueEngine, 'overview'>
  /** A failed depth query at scrape time; the scrape still answers, without the depth series. */
  onError?: (error: unknown) => void
}

/**
 * Seconds from 1 ms to 10 min, about three buckets per decade, so histogram_quantile gives
 * usable p50/p95/p99 both for sub-millisecond-scale queue latency and for minute-long jobs.
 */
export const JOB_SECONDS_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
]

type Child = ReturnType<Histogram<'queue'>['labels']>

/**
 * Adds the job queue's series to `registry` (once per registry):
 *
 * - `edgeforge_jobs_queue_depth{queue,status}` — jobs per status, read from the store at scrape
 *   time (one `engine.overview()` per scrape), so every process reports the shared truth;
 * - `edgeforge_jobs_wait_seconds{queue}` — from when a job became due (its enqueue, or its run_at
 *   when later: a delay or a retry's backoff is not waiting) to its start;
 * - `edgeforge_jobs_run_seconds{queue}` — how long the handler ran, every outcome;
 * - `edgeforge_jobs_finished_total{queue,outcome}` — runs of this process the store accepted, by outcome;
 * - `edgeforge_jobs_live_workers{queue}` — runners serving each queue right now on every process
 *   on the store, read with the depth (the same for every process, like the depth).
 *
 * The runner calls `observeStart` when it starts a job and `observeFinish` once its outcome is
 * stored; both are cheap (label children are cached per queue).
 */
export function registerJobMetrics(registry: Registry, deps: JobMetricsDeps): JobMetrics {
  const registers = [registry]
  const onError = deps.onError ?? ((error: unknown) => console.error('edgeforge job metrics:', error))

  // The registry collects every metric at once; the error counter waits for this scrape's depth
  // read (started first, as the depth gauge is registered first) so it reports this scrape's failure.
  let depthRead: Promise<void> = Promise.resolve()
  let workers: Array<{ queue: string; liveWorkers: number }> | null = null
  new Gauge({
    name: 'edgeforge_jobs_queue_depth',
    help: 'Jobs in the store by queue and status, read at scrape time',
    labelNames: ['queue', 'status'],
    registers,
    collect() {
      depthRead = (async () => {
        let overview: Awaited<ReturnType<QueueEngine['overview']>>
        try {
          overview = await deps.engine.overview()
        } catch (error) {
          this.reset()
          workers = null
          collectErrors.inc()
          onError(error)
          return
        }
        // Reset and refill with no await in between: a deleted queue's series goes away, and two
        // concurrent scrapes cannot interleave their writes.
        this.reset()
        workers = overview
        for (const queue of overview) {
          for (const [status, count] of Object.entries(queue.counts))
            this.set({ queue: queue.queue, status }, count)
        }
      })()
      return depthRead
    },
  })
  const collectErrors = new Counter({
    name: 'edgeforge_jobs_metrics_collect_errors_total',
    help: 'Scrapes whose queue depth read failed (the depth series were left out)',
    registers,
    collect: () => depthRead,
  })

  new Gauge({
    name: 'edgeforge_jobs_live_workers',
    help: 'Runners serving each queue right now, over every process on the store',
    labelNames: ['queue'],
    registers,
    // Filled from the depth gauge's read of this scrape (no second query); left out when it failed.
    async collect() {
      await depthRead
      this.reset()
      for (const queue of workers ?? []) {
        if (queue.liveWorkers > 0) this.set({ queue: queue.queue }, queue.liveWorkers)
      }
    },
  })

  const wait = new Histogram({
    name: 'edgeforge_jobs_wait_seconds',
    help: 'Time from a job becoming due (enqueue, or run_at when later) to its start, by queue',
    labelNames: ['queue'],
    buckets: JOB_SECONDS_BUCKETS,
    registers,
  })
  const run = new Histogram({
    name: 'edgeforge_jobs_run_seconds',
    help: "Time a job's handler ran, by queue (every outcome)",
    labelNames: ['queue'],
    buckets: JOB_SECONDS_BUCKETS,
    registers,
  })
  const finished = new Counter({
    name: 'edgeforge_jobs_finished_total',
    help: 'Job runs of this process whose outcome the store accepted, by queue and outcome (retried = failed, queued again)',
    labelNames: ['queue', 'outcome'],
    registers,
  })

  // prom-client resolves a label set on every call; the runner calls these per job.
  const waitChildren = new Map<string, Child>()
  const runChildren = new Map<string, Child>()
  const finishedChildren = new Map<string, ReturnType<Counter<'queue' | 'outcome'>['labels']>>()
  const child = (children: Map<string, Child>, histogram: Histogram<'queue'>, queue: string): Child => {
    let found = children.get(queue)
    if (!found) {
      found = histogram.labels(queue)
      children.set(queue, found)
    }
    return found
  }

  return {
    observeStart(job, startedAt) {
      const dueAt = Math.max(job.runAt, job.createdAt)
      child(waitChildren, wait, job.queue).observe(Math.max(0, startedAt - dueAt) / 1000)
    },
    observeFinish(job, outcome, runSeconds) {
      child(runChildren, run, job.queue).observe(Math.max(0, runSeconds))
      const key = `${outcome} ${job.queue}`
      let counter = finishedChildren.get(key)
      if (!counter) {
        counter = finished.labels(job.queue, outcome)
        finishedChildren.set(key, counter)
      }
      counter.inc()
    },
  }
}
