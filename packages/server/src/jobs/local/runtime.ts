import { ApiError, JobInputQueue } from '@edgeforge/protocol'
import {
  HandlerError,
  type JobArtifacts,
  type JobContext,
  type JobFunction,
  type JobsClient,
} from '@edgeforge/sdk'
import type { JobHandlerPort, LifecycleEndpoint } from '../../deploy/index.ts'
import {
  type DrainReport,
  HandlerRegistry,
  type HandlerVersion,
  requestScope,
  serviceMethods,
} from '../../gateway/index.ts'
import { type EndpointLogs, formatLogLine } from '../../observability/endpoint-logs.ts'
import type { Logger } from '../../observability/logger.ts'
import type { Db } from '../../store/index.ts'
import { type CronScheduler, createCronScheduler } from '../engine/cron.ts'
import { createQueueEngine, type QueueEngine } from '../engine/engine.ts'
import { withoutServerFrames } from '../errors.ts'
import type { Job, JobStatus } from '../types.ts'
import { createRunner, type Runner, type RunnerJobContext, type SettledJob } from './runner.ts'

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
  observer?: JobObserver
  /**
   * `ctx.artifacts` of a run (main.ts: an upload to this server's own API with a job-scoped
   * credential, see jobs/artifacts/). Without it, a job's put fails saying artifacts are off.
   */
  artifacts?: (jobId: string) => JobArtifacts
}

/**
 * Jobs in this process: the queue engine, the deployed job handlers (one per queue, each version
 * draining like an HTTP handler's — jobs already running finish on the version they started on),
 * the runner that feeds them, the cron scheduler and the `ctx.jobs` client handlers enqueue with.
 */
export class JobRuntime implements JobHandlerPort {
  readonly engine: QueueEngine
  readonly cron: CronScheduler
  readonly runner: Runner
  /** Job handler versions, keyed by endpoint id; the slot's route path is its queue. */
  private readonly handlers = new HandlerRegistry<JobFunction>()
  private readonly byQueue = new Map<string, string>()
  private readonly options: JobRuntimeOptions
  private stopMaintenance: (() => void) | undefined
  /** What a handler threw, mapped to its sources: the runner stores this as last_error. */
  private readonly failures = new WeakMap<object, string>()
  /** `ctx.input` of the jobs running in this process. */
  private readonly inputs = new Map<string, JobInputQueue>()

  constructor(options: JobRuntimeOptions) {
    this.options = options
    this.engine = createQueueEngine(options.db, {
      onLogError: (error) => options.logger.error({ err: error }, 'job log: lines not stored'),
    })
    this.cron = createCronScheduler(this.engine)
    this.runner = createRunner({
      engine: this.engine,
      queues: () => [...this.byQueue.keys()],
      execute: (job, ctx) => this.execute(job, ctx),
      onSettled: (settled) => this.settled(settled),
      describeFailure: (error) =>
        typeof error === 'object' && error !== null ? this.failures.get(error) : undefined,
      concurrency: Math.max(1, options.concurrency),
      leaseMs: options.leaseMs,
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
    if (this.options.concurrency > 0) this.runner.start()
  }

  async stop(drainMs: number): Promise<void> {
    this.cron.stop()
    this.stopMaintenance?.()
    await this.runner.stop({ drainMs })
    await this.engine.close()
  }

  /** Delivers a message to `ctx.input` of a job running in this process; false when none runs here. */
  deliverInput(jobId: string, message: unknown): boolean {
    const input = this.inputs.get(jobId)
    if (!input) return false
    input.push(message)
    return true
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

  install(endpoint: LifecycleEndpoint, version: HandlerVersion<JobFunction>): DrainReport[] {
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

  current(endpointId: string): HandlerVersion<JobFunction> | undefined {
    return this.handlers.get(endpointId)?.current
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
        if (error instanceof ApiError && (error.status < 500 || error.code === 'store_unavailable')) {
          // A rate limit's wait travels with it, so a handler that passes it on sends retry-after.
          const retryAfter = (error.details as { retry_after_seconds?: unknown } | undefined)
            ?.retry_after_seconds
          throw new HandlerError(error.status, error.code, error.message, {
            cause: error,
            retryAfterSeconds: typeof retryAfter === 'number' ? retryAfter : undefined,
          })
        }
        throw error
      }
    },
  }

  private async execute(job: Job, runnerCtx: RunnerJobContext): Promise<unknown> {
    const endpointId = this.byQueue.get(job.queue)
    const slot = endpointId ? this.handlers.get(endpointId) : undefined
    if (!slot) throw new Error(`no job handler is deployed for queue ${job.queue}`)
    const version = slot.current
    version.acquire()
    const startedAt = Date.now()
    this.options.observer?.observeStart(job, startedAt)
    const logs = this.options.endpointLogs
    const input = new JobInputQueue()
    this.inputs.set(job.id, input)
    const ctx: JobContext = {
      input,
      jobId: job.id,
      queue: job.queue,
      attempt: runnerCtx.attempt,
      // Read through: the runner makes the signal only when the handler asks for it.
      get signal() {
        return runnerCtx.signal
      },
      jobs: this.client,
      log: (...args: unknown[]) => {
        const line = formatLogLine(args)
        runnerCtx.log(line)
        logs.append(version.endpointId, {
          time: Date.now(),
          level: 'info',
          requestId: job.id,
          version: version.version,
          message: line,
        })
      },
      progress: (fraction: number) => runnerCtx.progress(fraction),
      artifacts: this.options.artifacts?.(job.id) ?? NO_ARTIFACTS,
      ...serviceMethods(version, job.id),
    }
    try {
      return await requestScope.run({ requestId: job.id, version }, () => version.fn(job.payload, ctx))
    } catch (error) {
      const stack =
        error instanceof Error
          ? withoutServerFrames(version.mapStack(error.stack ?? String(error)))
          : String(error)
      if (error instanceof Error) this.failures.set(error, stack)
      logs.append(version.endpointId, {
        time: Date.now(),
        level: 'error',
        requestId: job.id,
        version: version.version,
        message: `job ${job.id} attempt ${runnerCtx.attempt} failed: ${stack}`,
      })
      throw error
    } finally {
      input.close()
      this.inputs.delete(job.id)
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

const NO_ARTIFACTS: JobArtifacts = {
  put: async () => {
    throw new Error('ctx.artifacts is not available: this job runtime was built without an artifact store')
  },
}
