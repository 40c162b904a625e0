/**
 * The job queue engine: plain async functions over the store. The in-process runner, the HTTP
 * routes and the remote-worker protocol are adapters over this object, so they cannot drift.
 *
 * State machine (one row per job; every transition is one guarded UPDATE):
 *
 *   enqueue ──► queued ──claim──► running ──complete──► succeeded
 *                 ▲ │                │ │
 *                 │ │ cancel         │ ├─fail, attempts left──► queued (run_at = now + backoff)
 *                 │ ▼                │ ├─fail, attempts used up──► failed
 *                 │ cancelled        │ ├─fail(unrecoverable)──► dead
 *                 │                  │ ├─cancel──► running + cancel_requested ─(runner aborts, fails)─► cancelled
 *                 │                  │ ├─release (shutdown)──► queued, attempt not counted
 *                 │                  │ └─lease expired (reaper)──► queued | failed | cancelled
 *                 └──── retry ◄──── failed | dead | cancelled     (attempts reset to 0)
 *
 * - `attempts` counts claims: the claim increments it, so a lost lease costs an attempt too.
 * - `failed` is final for ordinary errors once max_attempts is used up; `dead` is final because
 *   the handler said retrying cannot help (UnrecoverableError). Both are retryable by hand.
 * - complete/fail/release apply only to a `running` job under the caller's lease (owner, and the
 *   attempt when given); anything else gets `{ ok: false, reason: 'lease_lost' }`.
 * - A cancel on a finished job changes nothing; a job that completes while its cancel is pending
 *   ends `succeeded` (its work is done), one that fails or is reaped ends `cancelled`.
 * - The sweeper deletes succeeded, dead and cancelled jobs past the queue's retention; failed
 *   jobs wait for a person (retry or delete).
 * - Priority orders jobs within a queue (higher first, then run_at, then id); a claim over several
 *   queues visits them round-robin.
 */
import { EventEmitter } from 'node:events'
import { v7 as uuidv7 } from 'uuid'
import type { Db } from '../../store/index.ts'
import { invalid } from '../errors.ts'
import { EventRecorder } from '../events/recorder.ts'
import { EnqueueRateLimiter } from '../rate-limit.ts'
import { claimQueue } from '../sql/claim.ts'
import type { EngineContext } from '../sql/context.ts'
import { insertJob, insertJobs, type PreparedJob } from '../sql/enqueue.ts'
import {
  type Completion,
  completeMany,
  type FailOptions,
  fail,
  heartbeatMany,
  release,
} from '../sql/finish.ts'
import { type HeldSuccess, holdJobs } from '../sql/hold.ts'
import { deleteInputs, InputNotices, insertInput, readInputs, runStart, sweepInputs } from '../sql/inputs.ts'
import { appendLogLines, nextLogOffset, readLog } from '../sql/logs.ts'
import { overview as queueOverview, reapExpired, sweepFinished } from '../sql/maintenance.ts'
import * as manage from '../sql/manage.ts'
import { createNotifier, type Notifier } from '../sql/notifier.ts'
import { DEFAULT_QUEUE_SETTINGS, type QueueDefaults, QueueSettingsStore } from '../sql/settings.ts'
import { announceWorker, retireWorker, sweepWorkers } from '../sql/workers.ts'
import type {
  ClaimInput,
  EnqueueInput,
  EnqueueResult,
  FinishOutcome,
  HeartbeatResult,
  Job,
  LeaseRef,
  QueueSettingsPatch,
} from '../types.ts'
import { checkInteger, checkQueueName, normalizeEnqueue, toJson } from '../validate.ts'
import { InputCursor, type InputCursorOptions } from './inputs.ts'
import { LogWriter } from './log-writer.ts'

export interface QueueEngineOptions {
  /** Attempts of a job that does not say; 3 = the first run and two retries. */
  defaultMaxAttempts?: number
  /** Serialized payload and result bound, in bytes (default 1 MiB). */
  maxPayloadBytes?: number
  /** Settings of queues that have none stored. */
  queueDefaults?: Partial<QueueDefaults>
  /** How old a cached copy of a queue's settings may be (rate limit, backoff, claim path). Default 1000. */
  settingsCacheMs?: number
  /** Store errors of log writes that nobody awaits. Default: console.error. */
  onLogError?: (error: unknown) => void
  /** Defaults to LISTEN/NOTIFY on PostgreSQL and an in-process emitter on SQLite. */
  notifier?: Notifier
  /**
   * Where state changes are recorded as events (one recorder per engine). Default: a recorder on
   * `db`; `false` records none.
   */
  events?: EventRecorder | false
  now?: () => number
  random?: () => number
}

export const DEFAULT_MAX_ATTEMPTS = 3
export const MAX_BATCH = 10_000
export const MAX_LOG_PAGE = 10_000

export type QueueEngine = ReturnType<typeof createQueueEngine>

export function createQueueEngine(db: Db, options: QueueEngineOptions = {}) {
  const queueDefaults: QueueDefaults = {
    ...DEFAULT_QUEUE_SETTINGS,
    ...options.queueDefaults,
    backoff: { ...DEFAULT_QUEUE_SETTINGS.backoff, ...options.queueDefaults?.backoff },
  }
  const ctx: EngineContext = {
    db,
    settings: new QueueSettingsStore(db, queueDefaults, options.settingsCacheMs ?? 1000),
    notifier: options.notifier ?? createNotifier(db),
    limiter: new EnqueueRateLimiter(),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    defaultMaxAttempts: options.defaultMaxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    maxPayloadBytes: options.maxPayloadBytes ?? 1024 * 1024,
  }
  const events = options.events === false ? null : (options.events ?? new EventRecorder(db, { now: ctx.now }))
  const logs = new LogWriter(
    ctx,
    options.onLogError ?? ((error: unknown) => console.error('edgeforge job log:', error)),
    events === null ? undefined : (jobId, offset, count) => events.recordLog(jobId, null, offset, count),
  )
  const cancels = new EventEmitter()
  cancels.setMaxListeners(0)
  const inputNotices = new InputNotices(db)
  let rotation = 0

  function prepare(input: EnqueueInput, now: number): PreparedJob {
    const normalized = normalizeEnqueue(input, now, {
      maxAttempts: ctx.defaultMaxAttempts,
      maxPayloadBytes: ctx.maxPayloadBytes,
    })
    return { ...normalized, id: uuidv7(), now, value: input.payload }
  }

  async function enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    const now = ctx.now()
    const job = prepare(input, now)
    const settings = await ctx.settings.cached(job.queue, now)
    ctx.limiter.take(job.queue, settings.rateLimit, 1, now)
    const result = await insertJob(db, job)
    if (!result.deduplicated || result.replaced) ctx.notifier.wake(job.queue, result.job.runAt)
    if (!result.deduplicated)
      events?.record('enqueued', job.queue, job.id, enqueuedData(result.job.runAt, now))
    return result
  }

  /** All or nothing, in one transaction; results in input order. */
  async function enqueueBatch(inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
    if (!Array.isArray(inputs)) throw invalid('a batch is an array of jobs', 'jobs')
    if (inputs.length === 0) return []
    if (inputs.length > MAX_BATCH)
      throw invalid(`a batch holds at most ${MAX_BATCH} jobs (got ${inputs.length})`, 'jobs')
    const now = ctx.now()
    const jobs = inputs.map((input) => prepare(input, now))
    const perQueue = new Map<string, number>()
    for (const job of jobs) perQueue.set(job.queue, (perQueue.get(job.queue) ?? 0) + 1)
    for (const [queue, count] of perQueue) {
      ctx.limiter.take(queue, (await ctx.settings.cached(queue, now)).rateLimit, count, now)
    }
    const results = await db.transaction((tx) => insertJobs(tx, jobs))
    const earliest = new Map<string, number>()
    for (const { job } of results)
      earliest.set(job.queue, Math.min(earliest.get(job.queue) ?? job.runAt, job.runAt))
    for (const [queue, runAt] of earliest) ctx.notifier.wake(queue, runAt)
    if (events)
      for (const { job, deduplicated } of results)
        if (!deduplicated) events.record('enqueued', job.queue, job.id, enqueuedData(job.runAt, now))
    return results
  }

  /** Claims up to `limit` due jobs over `queues` for `owner`, each with a lease of `leaseMs`. */
  async function claim(input: ClaimInput): Promise<Job[]> {
    if (typeof input.owner !== 'string' || input.owner.length === 0)
      throw invalid('owner must be a non-empty string')
    checkInteger(input.limit, 'limit', 0, MAX_BATCH)
    checkInteger(input.leaseMs, 'leaseMs', 1, 86_400_000)
    const queues = input.queues
    if (queues.length === 0 || input.limit === 0) return []
    for (const queue of queues) checkQueueName(queue)
    const now = ctx.now()
    const claimed: Job[] = []
    const start = rotation++ % queues.length
    for (let offset = 0; offset < queues.length && claimed.length < input.limit; offset += 1) {
      const queue = queues[(start + offset) % queues.length]
      const capped = db.dialect === 'postgres' && (await ctx.settings.cached(queue, now)).maxWorkers !== null
      const jobs = await claimQueue(db, {
        queue,
        owner: input.owner,
        limit: input.limit - claimed.length,
        leaseMs: input.leaseMs,
        now,
        capped,
      })
      for (const job of jobs) {
        claimed.push(job)
        events?.record('started', queue, job.id, { attempt: job.attempts, worker: input.owner })
      }
    }
    return claimed
  }

  /**
   * A held claim (PostgreSQL, queues without max_workers; else null: claim instead). The jobs are
   * locked in an open transaction instead of marked running; `settle` records the finished ones as
   * succeeded and leases the rest, in that transaction. A job that ends within the hold costs one
   * row version instead of two. See sql/hold.ts and docs/architecture.md, "Held claims".
   */
  async function hold(input: ClaimInput) {
    if (db.dialect !== 'postgres') return null
    if (typeof input.owner !== 'string' || input.owner.length === 0)
      throw invalid('owner must be a non-empty string')
    checkInteger(input.limit, 'limit', 1, MAX_BATCH)
    checkInteger(input.leaseMs, 'leaseMs', 1, 86_400_000)
    if (input.queues.length === 0) return null
    const now = ctx.now()
    for (const queue of input.queues) {
      checkQueueName(queue)
      // max_workers counts running rows, which a held job is not: such queues claim.
      if ((await ctx.settings.cached(queue, now)).maxWorkers !== null) return null
    }
    const start = rotation++ % input.queues.length
    const queues = input.queues.map((_, offset) => input.queues[(start + offset) % input.queues.length])
    const held = await holdJobs(ctx, {
      queues,
      owner: input.owner,
      limit: input.limit,
      leaseMs: input.leaseMs,
    })
    const settle = async (
      done: readonly { id: string; queue: string; result?: unknown }[],
      leaseMs: number,
    ) => {
      const stored: HeldSuccess[] = []
      const refused = new Map<string, unknown>()
      for (const item of done) {
        try {
          stored.push({
            id: item.id,
            queue: item.queue,
            json: toJson(item.result, 'result', ctx.maxPayloadBytes),
          })
        } catch (error) {
          refused.set(item.id, error)
        }
      }
      const written = await held.settle(stored, leaseMs)
      // The jobs' `started` events go out once the hold committed, dated when they started, in
      // the same write as their `succeeded`: a hold that rolled back started nothing the table
      // counts, so the stream does not say it did either.
      if (events)
        for (const job of held.jobs)
          events.record(
            'started',
            job.queue,
            job.id,
            { attempt: job.attempts, worker: input.owner },
            job.startedAt ?? undefined,
          )
      const outcomes: FinishOutcome[] = []
      let next = 0
      for (const item of done) {
        const error = refused.get(item.id)
        if (error === undefined) {
          const outcome = written[next++]
          if (outcome.ok) events?.record('succeeded', item.queue, item.id)
          outcomes.push(outcome)
          continue
        }
        const attempt = held.jobs.find((job) => job.id === item.id)?.attempts
        const outcome = await fail(ctx, { id: item.id, owner: input.owner, attempt }, error)
        recordFinish(item.id, outcome, 'attempt_failed', error)
        outcomes.push(outcome)
      }
      return outcomes
    }
    let settling: Promise<FinishOutcome[]> | null = null
    return {
      jobs: held.jobs,
      /**
       * Ends the hold: `done` succeeded, every other job is leased for `leaseMs` and runs on as a
       * claimed job. Outcomes in `done`'s order, once committed. A result that cannot be stored
       * fails its job instead (leased first), as any other error of the handler's would. Later
       * calls return the first call's promise.
       */
      settle(done: readonly { id: string; queue: string; result?: unknown }[], leaseMs: number) {
        settling ??= settle(done, leaseMs)
        return settling
      },
    }
  }

  async function heartbeat(jobId: string, owner: string, leaseMs: number): Promise<HeartbeatResult> {
    const answer = await heartbeatMany(ctx, [jobId], owner, leaseMs)
    return answer.get(jobId) ?? { held: false, cancelRequested: false }
  }

  async function complete(
    jobId: string,
    owner: string,
    result?: unknown,
    attempt?: number,
  ): Promise<FinishOutcome> {
    return (await completeAll([{ id: jobId, owner, attempt, result }]))[0]
  }

  async function completeAll(items: readonly Completion[]): Promise<FinishOutcome[]> {
    const outcomes = await completeMany(ctx, items, ctx.maxPayloadBytes)
    if (events)
      for (const [index, outcome] of outcomes.entries())
        if (outcome.ok) events.record('succeeded', items[index].queue ?? null, items[index].id)
    return outcomes
  }

  /** The event a finished attempt becomes: retried (queued again), failed, or cancelled. */
  function recordFinish(jobId: string, outcome: FinishOutcome, reason: string, error?: unknown): void {
    if (!events || !outcome.ok) return
    if (outcome.status === 'queued')
      events.record('retried', null, jobId, {
        reason,
        run_at: new Date(outcome.runAt ?? ctx.now()).toISOString(),
      })
    else if (outcome.status === 'cancelled') events.record('cancelled', null, jobId)
    else if (outcome.status === 'failed' || outcome.status === 'dead')
      events.record('failed', null, jobId, { status: outcome.status, error: errorText(error) })
  }

  async function cancel(jobId: string) {
    const outcome = await manage.cancel(ctx, jobId)
    if (outcome.changed && outcome.status === 'running') cancels.emit('cancel', jobId)
    if (outcome.changed && outcome.status === 'cancelled') events?.record('cancelled', null, jobId)
    return outcome
  }

  async function reap() {
    const counts = await reapExpired(ctx)
    if (events)
      for (const job of counts.jobs) {
        if (job.status === 'queued')
          events.record('retried', job.queue, job.id, {
            reason: 'lease_expired',
            run_at: new Date(ctx.now()).toISOString(),
          })
        else if (job.status === 'cancelled') events.record('cancelled', job.queue, job.id)
        else events.record('failed', job.queue, job.id, { status: job.status, error: 'lease expired' })
      }
    return { requeued: counts.requeued, failed: counts.failed, cancelled: counts.cancelled }
  }

  return {
    db,
    dialect: db.dialect,
    notifier: ctx.notifier,
    enqueue,
    enqueueBatch,
    claim,
    hold,
    heartbeat,
    /** One statement for many jobs of one owner: what a runner sends every heartbeat interval. */
    heartbeatMany: (jobIds: readonly string[], owner: string, leaseMs: number) =>
      heartbeatMany(ctx, jobIds, owner, leaseMs),
    complete,
    /** Completes many jobs in one statement; outcomes in input order. */
    completeMany: completeAll,
    fail: async (
      jobId: string,
      owner: string,
      error: unknown,
      failOptions: FailOptions & { attempt?: number } = {},
    ) => {
      const outcome = await fail(ctx, { id: jobId, owner, attempt: failOptions.attempt }, error, failOptions)
      recordFinish(jobId, outcome, 'attempt_failed', error)
      return outcome
    },
    release: async (ref: LeaseRef) => {
      const outcome = await release(ctx, ref)
      if (outcome.ok && outcome.status === 'queued')
        events?.record('enqueued', null, ref.id, { reason: 'released' })
      else recordFinish(ref.id, outcome, 'released')
      return outcome
    },
    cancel,
    /** Calls `listener(jobId)` when this process requests the cancel of a running job. */
    onCancel(listener: (jobId: string) => void): () => void {
      cancels.on('cancel', listener)
      return () => cancels.off('cancel', listener)
    },
    /**
     * Stores a message for a running job's `ctx.input` (404 unknown job, 409 not running) and
     * tells the process holding the run, wherever it is; answers the message's seq in the job.
     */
    sendInput: async (jobId: string, message: unknown): Promise<{ seq: number }> => {
      const seq = await insertInput(ctx, jobId, message)
      inputNotices.emit(jobId)
      return { seq }
    },
    /** Calls `listener(jobId)` when a job got input (from any process on PostgreSQL); `*`: maybe any. */
    onInput: (listener: (jobId: string) => void): (() => void) => inputNotices.subscribe(listener),
    /** True once input sent by other processes is heard (LISTEN in place on PostgreSQL). */
    get inputListening(): boolean {
      return inputNotices.listening
    },
    /** A pushed run's first log offset and the job's highest input seq, in one statement. */
    runStart: (jobId: string) => runStart(ctx, jobId),
    /** A cursor over the job's stored input, for the run that delivers it (see engine/inputs.ts). */
    inputCursor: (jobId: string, options: Omit<InputCursorOptions, 'read'>) =>
      new InputCursor({ ...options, read: (afterSeq, limit) => readInputs(ctx, jobId, afterSeq, limit) }),
    retry: async (jobId: string) => {
      const job = await manage.retry(ctx, jobId)
      events?.record('retried', job.queue, job.id, {
        reason: 'manual',
        run_at: new Date(job.runAt).toISOString(),
      })
      return job
    },
    retryFailed: async (queue: string) => {
      const count = await manage.retryFailed(ctx, queue)
      if (count > 0) events?.record('retried', queue, null, { reason: 'manual', count })
      return count
    },
    deleteJob: async (jobId: string) => {
      await manage.deleteJob(ctx, jobId)
      await deleteInputs(ctx, jobId)
    },
    getJob: (jobId: string) => manage.getJob(ctx, jobId),
    listJobs: (input?: Parameters<typeof manage.listJobs>[1]) => manage.listJobs(ctx, input),
    appendLog: async (jobId: string, line: string) => {
      await manage.appendLog(ctx, jobId, line)
      if (events) events.recordLog(jobId, null, (await nextLogOffset(ctx, jobId)) - 1, 1)
    },
    /** Ordered, batched log lines that the caller does not wait for (the in-process runner). */
    logs,
    /** Stores lines at their offsets; offsets already stored are kept (a resent chunk). */
    appendLogChunk: async (
      jobId: string,
      offset: number,
      lines: ReadonlyArray<readonly [number, string]>,
    ) => {
      const stored = await appendLogLines(ctx, jobId, offset, lines)
      if (stored && lines.length > 0) events?.recordLog(jobId, null, offset, lines.length)
      return stored
    },
    nextLogOffset: (jobId: string) => nextLogOffset(ctx, jobId),
    readLog: (jobId: string, start: number, limit: number) => {
      checkInteger(start, 'start', 0, Number.MAX_SAFE_INTEGER)
      checkInteger(limit, 'limit', 1, MAX_LOG_PAGE)
      return readLog(ctx, jobId, start, limit)
    },
    setProgress: async (jobId: string, fraction: number) => {
      const running = await manage.setProgress(ctx, jobId, fraction)
      if (running) events?.record('progress', null, jobId, { fraction })
      return running
    },
    getQueueSettings: (queue: string) => ctx.settings.get(queue),
    setQueueSettings: (queue: string, patch: QueueSettingsPatch) => ctx.settings.set(queue, patch),
    overview: () => queueOverview(ctx),
    /** `owner` serves `queues` for the next `ttlMs` (the overview's live workers, cluster-wide). */
    announceWorker: (owner: string, queues: readonly string[], ttlMs: number) =>
      announceWorker(ctx, owner, queues, ttlMs),
    retireWorker: (owner: string) => retireWorker(ctx, owner),
    reapExpired: () => reap(),
    /** Deletes finished jobs past their queue's retention, then the input of jobs that are gone. */
    sweepFinished: async () => {
      const swept = await sweepFinished(ctx)
      await sweepInputs(ctx)
      return swept
    },
    /** Runs the reaper and the sweeper on timers until the returned function is called. */
    startMaintenance(
      intervals: { reapMs?: number; sweepMs?: number; onError?: (error: unknown) => void } = {},
    ): () => void {
      const onError =
        intervals.onError ?? ((error: unknown) => console.error('edgeforge job maintenance:', error))
      const guarded = (work: () => Promise<unknown>) => () => void work().catch(onError)
      const reaper = setInterval(
        guarded(() => reap()),
        intervals.reapMs ?? 5000,
      )
      const sweeper = setInterval(
        guarded(async () => {
          await sweepFinished(ctx)
          await sweepInputs(ctx)
          await sweepWorkers(ctx)
        }),
        intervals.sweepMs ?? 60_000,
      )
      reaper.unref()
      sweeper.unref()
      return () => {
        clearInterval(reaper)
        clearInterval(sweeper)
      }
    },
    /** The recorder state changes go to (null when the engine records none). */
    events,
    /** Writes the events recorded so far, then closes the notifier's connection; the store belongs to the caller. */
    close: async () => {
      await events?.close()
      await inputNotices.close()
      await ctx.notifier.close()
    },
    /** For the scheduler and adapters in this folder. */
    context: ctx,
  }
}

function enqueuedData(runAt: number, now: number): Record<string, unknown> {
  return runAt > now ? { run_at: new Date(runAt).toISOString() } : {}
}

function errorText(error: unknown): string {
  const text = typeof error === 'string' ? error : error instanceof Error ? error.message : String(error)
  return text.length > 500 ? `${text.slice(0, 500)}…` : text
}
