import { ApiError } from '@edgeforge/protocol'
import { HandlerError, type JobsClient } from '@edgeforge/sdk'
import type { JobHandlerPort, JobVersion, LifecycleEndpoint } from '../../deploy/index.ts'
import { type DrainReport, HandlerRegistry, HandlerVersion } from '../../gateway/index.ts'
import type { EndpointLogs } from '../../observability/endpoint-logs.ts'
import type { Logger } from '../../observability/logger.ts'
import type { Db } from '../../store/index.ts'
import { type CronScheduler, createCronScheduler } from '../engine/cron.ts'
import { createQueueEngine, type QueueEngine } from '../engine/engine.ts'
import type { InputCursor } from '../engine/inputs.ts'
import type { Job, JobStatus } from '../types.ts'
import { JobPool, type JobPoolOptions, type RunHandle } from './job-pool.ts'
import {
  createRunner,
  JobReleasedError,
  type Runner,
  type RunnerJobContext,
  type SettledJob,
} from './runner.ts'

type RunOutcome = 'succeeded' | 'failed' | 'retried' | 'dead' | 'cancelled'

/** What the runtime reports to metrics: a job's start, and its outcome once the store took it. */
export interface JobObserver {
  observeStart(job: Job, startedAt: number): void
  observeFinish(job: Job, outcome: RunOutcome, runSeconds: number): void
}

// A stored finish as metrics name it: a failure queued again is a retry.
const OUTCOME_OF: Partial<Record<JobStatus, RunOutcome>> = {
  succeeded: 'succeeded',
  queued: 'retried',
  failed: 'failed',
  dead: 'dead',
  cancelled: 'cancelled',
}

export interface JobRuntimeOptions {
  db: Db
  logger: Logger
  endpointLogs: EndpointLogs
  /** Jobs this process runs at once; 0 runs none (enqueue only). */
  concurrency: number
  leaseMs: number
  /** How long a PostgreSQL claim stays held (runner.ts, holdMs). Default 50. */
  holdMs?: number
  observer?: JobObserver
  /** The job threads the handlers run in (see job-pool.ts). */
  threads: Omit<JobPoolOptions, 'logger' | 'endpointLogs'>
}

/** A job version as the main thread holds it: bookkeeping only, its code runs in a job thread. */
type JobSlotVersion = HandlerVersion<() => never>

function runsElsewhere(): never {
  throw new Error('job handlers run in job threads')
}

/**
 * Jobs in this process: the queue engine, the deployed job handlers (one per queue, each version
 * draining like an HTTP handler's — jobs already running finish on the version they started on),
 * the runner that feeds them, the job threads their code runs in, the cron scheduler and the
 * `ctx.jobs` client handlers enqueue with. Claims, leases and finishes stay on this thread.
 */
export class JobRuntime implements JobHandlerPort {
  readonly engine: QueueEngine
  readonly cron: CronScheduler
  readonly runner: Runner
  readonly pool: JobPool
  /** Job handler versions, keyed by endpoint id; the slot's route path is its queue. */
  private readonly handlers = new HandlerRegistry<() => never>()
  private readonly byQueue = new Map<string, string>()
  private readonly options: JobRuntimeOptions
  private stopMaintenance: (() => void) | undefined
  /** Each installed version's artifact and the key the pool runs it by. */
  private readonly artifacts = new WeakMap<JobSlotVersion, { artifact: JobVersion; key: number }>()
  /** The bookkeeping version of an artifact, so installing the same artifact again swaps nothing. */
  private readonly slotVersions = new WeakMap<JobVersion, JobSlotVersion>()
  /** The jobs running in this process, for abort and `ctx.input`. */
  private readonly runs = new Map<string, RunHandle>()
  /** Each running job's cursor over its stored input, read on every input notice. */
  private readonly inputs = new Map<string, InputCursor>()
  private stopInput: (() => void) | undefined

  constructor(options: JobRuntimeOptions) {
    this.options = options
    this.engine = createQueueEngine(options.db, {
      onLogError: (error) => options.logger.error({ err: error }, 'job log: lines not stored'),
    })
    this.cron = createCronScheduler(this.engine)
    this.pool = new JobPool({
      ...options.threads,
      logger: options.logger,
      endpointLogs: options.endpointLogs,
    })
    this.runner = createRunner({
      engine: this.engine,
      queues: () => [...this.byQueue.keys()],
      execute: (job, ctx) => this.execute(job, ctx),
      onSettled: (settled) => this.settled(settled),
      onAbort: (job, cause) => this.runs.get(job.id)?.abort(cause),
      // The job thread mapped the stack to the handler's sources and removed the server's frames.
      describeFailure: (error) => (error instanceof Error ? error.stack : undefined),
      concurrency: Math.max(1, options.concurrency),
      leaseMs: options.leaseMs,
      holdMs: options.holdMs,
      onError: (error) =>
        options.logger.error({ err: error }, 'job runner: store error, retrying at the next poll'),
    })
  }

  start(): void {
    const onError = (error: unknown) => this.options.logger.error({ err: error }, 'job maintenance failed')
    this.stopMaintenance = this.engine.startMaintenance({ onError })
    this.cron.start({
      onError: (error) =>
        this.options.logger.error({ err: error }, 'cron tick failed, retrying at the next tick'),
    })
    // Input sent to a job running here, from this process or (PostgreSQL) any other.
    this.stopInput = this.engine.onInput((jobId) => {
      if (jobId === '*') for (const cursor of this.inputs.values()) void cursor.pull()
      else void this.inputs.get(jobId)?.pull()
    })
    if (this.options.concurrency > 0) this.runner.start()
  }

  async stop(drainMs: number): Promise<void> {
    this.cron.stop()
    this.stopMaintenance?.()
    this.stopInput?.()
    await this.runner.stop({ drainMs })
    await this.pool.close()
    await this.engine.close()
  }

  /** Loads the version once in a job thread and drops it; throws with why it cannot load. */
  validate(version: JobVersion): Promise<void> {
    return this.pool.validate(version)
  }

  /** The job endpoint serving `queue` in this process and its current version, if one runs. */
  deployedFor(queue: string): { endpointId: string; endpointName: string; version: number } | undefined {
    const endpointId = this.byQueue.get(queue)
    const current = endpointId ? this.handlers.get(endpointId)?.current : undefined
    return (
      current && {
        endpointId: current.endpointId,
        endpointName: current.endpointName,
        version: current.version,
      }
    )
  }

  install(endpoint: LifecycleEndpoint, artifact: JobVersion): DrainReport[] {
    const queue = endpoint.queue
    if (!queue) throw new ApiError('validation_failed', `job endpoint ${endpoint.name} has no queue`)
    const owner = this.byQueue.get(queue)
    if (owner && owner !== endpoint.id) {
      const other = this.handlers.get(owner)?.current.endpointName ?? owner
      throw new ApiError(
        'conflict',
        `queue ${queue} is already handled by running job endpoint ${other}; stop it first`,
        {
          endpoint_id: owner,
        },
      )
    }
    const previousQueue = this.handlers.get(endpoint.id)?.route.path
    if (previousQueue && previousQueue !== queue) this.byQueue.delete(previousQueue)
    const version = this.slotVersionOf(artifact)
    const result = this.handlers.install(
      endpoint.id,
      { host: '*', method: 'JOB', path: queue },
      endpoint.limits,
      version,
    )
    this.byQueue.set(queue, endpoint.id)
    void this.runner.poke()
    return result.draining
  }

  remove(endpointId: string): DrainReport[] {
    const slot = this.handlers.get(endpointId)
    if (slot && this.byQueue.get(slot.route.path) === endpointId) this.byQueue.delete(slot.route.path)
    // The runner tells the store it no longer serves the queue (the cluster's live workers).
    void this.runner.poke()
    return this.handlers.remove(endpointId).draining
  }

  drainingOf(endpointId: string): DrainReport[] {
    return this.handlers.drainingOf(endpointId)
  }

  /** The queue an installed job endpoint serves, if it is installed. */
  queueOf(endpointId: string): string | undefined {
    return this.handlers.get(endpointId)?.route.path
  }

  current(endpointId: string): JobVersion | undefined {
    const current = this.handlers.get(endpointId)?.current
    return current && this.artifacts.get(current)?.artifact
  }

  /** The main thread's bookkeeping for an artifact: one per artifact, unloaded from the threads once drained. */
  private slotVersionOf(artifact: JobVersion): JobSlotVersion {
    const known = this.slotVersions.get(artifact)
    if (known) return known
    const version: JobSlotVersion = new HandlerVersion({
      endpointId: artifact.endpointId,
      endpointName: artifact.endpointName,
      version: artifact.version,
      fn: runsElsewhere,
      mapStack: (stack) => stack,
    })
    version.bindingKey = artifact.bindingKey
    const key = this.pool.register(artifact)
    this.artifacts.set(version, { artifact, key })
    this.slotVersions.set(artifact, version)
    void version.drained.then(() => this.pool.unregister(key))
    return version
  }

  installed(): Iterable<string> {
    return this.handlers.slots.keys()
  }

  stats() {
    return this.handlers.stats()
  }

  /** `ctx.jobs` of HTTP handlers and jobs: enqueue with the engine's validation and limits. */
  readonly client: JobsClient = {
    enqueue: async (queue, payload, options = {}) => {
      try {
        const runAt = options.runAt === undefined ? undefined : new Date(options.runAt)
        const result = await this.engine.enqueue({
          queue,
          payload,
          priority: options.priority,
          runAt,
          delayMs: options.delaySeconds === undefined ? undefined : Math.round(options.delaySeconds * 1000),
          maxAttempts: options.maxAttempts,
          dedupKey: options.dedupKey,
          dedupMode: options.dedupMode,
        })
        return {
          id: result.job.id,
          queue: result.job.queue,
          status: result.job.status,
          deduplicated: result.deduplicated,
        }
      } catch (error) {
        // A handler that does not catch this answers its client with the right status; a store
        // that is down is the client's to retry too (503 store_unavailable), not a handler bug.
        // A rate limit's wait travels with it, so a handler that passes it on sends retry-after.
        if (error instanceof ApiError) throw HandlerError.fromRefusal(error) ?? error
        throw error
      }
    },
  }

  private async execute(job: Job, runnerCtx: RunnerJobContext): Promise<unknown> {
    const endpointId = this.byQueue.get(job.queue)
    const slot = endpointId ? this.handlers.get(endpointId) : undefined
    // Claimed just as its endpoint was stopped or quarantined: back to the queue, no attempt used.
    if (!slot) throw new JobReleasedError(`no job handler is deployed for queue ${job.queue} any more`)
    const version = slot.current
    const { key } = this.artifacts.get(version)!
    version.acquire()
    const startedAt = Date.now()
    this.options.observer?.observeStart(job, startedAt)
    const logs = this.options.endpointLogs
    const run = this.pool.run(key, job, {
      log: (line) => {
        runnerCtx.log(line)
        logs.append(version.endpointId, {
          time: Date.now(),
          level: 'info',
          requestId: job.id,
          version: version.version,
          message: line,
        })
      },
      progress: (fraction) => runnerCtx.progress(fraction),
      // Read from the store once the handler reads ctx.input (most jobs never do), from the job's
      // first message: a retried attempt reads what the earlier one did.
      inputWanted: () => {
        if (this.inputs.has(job.id) || !this.runs.has(job.id)) return
        const cursor = this.engine.inputCursor(job.id, {
          deliver: (row) => {
            run.input(row.message)
            return true
          },
          onError: (error) =>
            this.options.logger.error({ err: error, jobId: job.id }, 'job input: read failed, retrying'),
        })
        this.inputs.set(job.id, cursor)
        void cursor.pull()
      },
    })
    this.runs.set(job.id, run)
    try {
      return await run.done
    } catch (error) {
      const stack = error instanceof Error ? (error.stack ?? error.message) : String(error)
      const released = error instanceof JobReleasedError
      logs.append(version.endpointId, {
        time: Date.now(),
        level: released ? 'warn' : 'error',
        requestId: job.id,
        version: version.version,
        message: released
          ? `job ${job.id} attempt ${runnerCtx.attempt} goes back to the queue without using an attempt: ${error.message}`
          : `job ${job.id} attempt ${runnerCtx.attempt} failed: ${stack}`,
      })
      throw error
    } finally {
      this.inputs.get(job.id)?.close()
      this.inputs.delete(job.id)
      this.runs.delete(job.id)
      version.release()
    }
  }

  /**
   * Counts a run once the store holds its outcome. A finish the store refused (the lease went to
   * another worker: this process was frozen or cut off past it, and the job was reaped) is not
   * this run's outcome — the other worker's is — so it is logged, not counted.
   */
  private settled({ job, outcome, released, runMs }: SettledJob): void {
    if (!outcome.ok) {
      this.options.logger.warn(
        {
          jobId: job.id,
          queue: job.queue,
          attempt: job.attempts,
          reason: outcome.reason,
          statusNow: outcome.status,
        },
        'job finish refused by the store: the lease is no longer ours (expired or taken by another worker), this run is not counted',
      )
      return
    }
    const counted = released ? undefined : OUTCOME_OF[outcome.status]
    if (counted) this.options.observer?.observeFinish(job, counted, runMs / 1000)
  }
}
