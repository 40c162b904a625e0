import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { MAX_BATCH, type QueueEngine } from '../engine/engine.ts'
import { isUnrecoverable } from '../errors.ts'
import type { Completion } from '../sql/finish.ts'
import type { FinishOutcome, Job } from '../types.ts'

/** Why a runner aborted a job's signal; `signal.reason` is a JobAbortError carrying it. */
export type AbortCause = 'cancelled' | 'lease_lost' | 'shutdown'

export class JobAbortError extends Error {
  readonly abortCause: AbortCause

  constructor(cause: AbortCause) {
    super(`job aborted: ${cause.replace('_', ' ')}`)
    this.name = 'AbortError'
    this.abortCause = cause
  }
}

const RELEASE = Symbol.for('edgeforge.JobReleased')

type EngineHold = NonNullable<Awaited<ReturnType<QueueEngine['hold']>>>

/** Held claims open at once per runner: each keeps a store connection in a transaction. */
const MAX_HOLDS = 2

/**
 * Thrown by `execute` when a job did not fail but could not run to its end here (its job thread
 * was stopped for another job's code): it goes back to the queue without using up an attempt.
 */
export class JobReleasedError extends Error {
  readonly [RELEASE] = true

  constructor(message: string) {
    super(message)
    this.name = 'JobReleasedError'
  }
}

function isReleased(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RELEASE] === true
}

/** What the runner hands the code that runs a job. */
export interface RunnerJobContext {
  /** Aborted on cancel, lease loss and shutdown; the reason is a JobAbortError. */
  signal: AbortSignal
  attempt: number
  log(line: string): void
  progress(fraction: number): void
}

export interface RunnerOptions {
  engine: QueueEngine
  /** Who holds the leases; unique per runner. Default: host, pid and a random suffix. */
  owner?: string
  /** The queues this runner serves right now (those that have a deployed handler). */
  queues: () => readonly string[]
  /** Runs one job; its return value becomes the job's result. */
  execute: (job: Job, ctx: RunnerJobContext) => Promise<unknown>
  /** Jobs run at once by this runner. Default 10. */
  concurrency?: number
  /** Default 30 s. */
  leaseMs?: number
  /** Default a third of the lease. */
  heartbeatMs?: number
  /** The fallback poll for delayed jobs and lost wake-ups. Default 1 s. */
  pollMs?: number
  /**
   * PostgreSQL: how long a claim may stay held (engine.hold) before the jobs still running get a
   * lease; jobs that finish sooner are written once, queued to succeeded. 0 always claims with a
   * lease. Default 50 ms. Queues with max_workers, and SQLite, always claim with a lease.
   */
  holdMs?: number
  /**
   * The text stored as a failed job's last_error for what `execute` threw, if the caller knows
   * better than the error's own stack (the job runtime maps it to the handler's sources).
   */
  describeFailure?: (error: unknown) => string | undefined
  /**
   * Called once the store answered a job's finish: its completion, failure or shutdown release,
   * accepted or refused (the lease had gone to another worker). Not called when the store could
   * not be reached (that goes to onError, and the outcome is unknown). `runMs` is the handler's.
   */
  onSettled?: (settled: SettledJob) => void
  /**
   * Called when the runner aborts a running job (before its signal is aborted): how a job that
   * runs elsewhere (a job thread) hears of it without the runner making a signal per job.
   */
  onAbort?: (job: Job, cause: AbortCause) => void
  /** Store errors the runner survives (it retries at the next poll). Default: console.error. */
  onError?: (error: unknown) => void
}

export interface SettledJob {
  job: Job
  outcome: FinishOutcome
  /** The job was handed back at shutdown: its attempt did not count, it is not a run's end. */
  released: boolean
  runMs: number
}

export interface RunnerStats {
  claimed: number
  succeeded: number
  failed: number
  /** Finishes the store rejected because the lease was gone. */
  leaseLost: number
}

/**
 * The in-process adapter over the engine: claims up to its free slots whenever a queue it serves
 * is woken (and on a slow poll), heartbeats every running job in one statement, aborts a job's
 * signal on cancel, lease loss or shutdown, and reports each outcome. Completions are batched:
 * those that arrive while one write is in flight go out together in the next.
 */
export function createRunner(options: RunnerOptions) {
  const { engine, execute } = options
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const concurrency = options.concurrency ?? 10
  const leaseMs = options.leaseMs ?? 30_000
  const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(leaseMs / 3))
  const pollMs = options.pollMs ?? 1000
  const holdMs = options.holdMs ?? 50
  const onError = options.onError ?? ((error: unknown) => console.error('edgeforge job runner:', error))
  const running = new Map<string, JobRun>()
  const stats: RunnerStats = { claimed: 0, succeeded: 0, failed: 0, leaseLost: 0 }
  let started = false
  let stopping = false
  /** A claim is with the store and not answered yet. */
  let claiming = false
  let again = false
  let finishing = 0
  let settled: (() => void) | null = null
  let pollTimer: NodeJS.Timeout | null = null
  let heartbeatTimer: NodeJS.Timeout | null = null
  let dueTimer: NodeJS.Timeout | null = null
  let dueAt = Number.POSITIVE_INFINITY
  const unsubscribers: Array<() => void> = []

  /** Held claims not settled yet; each keeps one store connection in a transaction. */
  const holds = new Set<Hold>()

  /** Completions waiting for the next write, and the jobs they belong to (same index). */
  let batch: Completion[] = []
  let batchRuns: JobRun[] = []
  let flushing = false

  async function flush(): Promise<void> {
    if (flushing || batch.length === 0) return
    flushing = true
    while (batch.length > 0) {
      const items = batch
      const runs = batchRuns
      batch = []
      batchRuns = []
      let outcomes: FinishOutcome[] | null = null
      try {
        outcomes = await engine.completeMany(items)
      } catch (error) {
        // The leases stay with us; the reaper re-queues the jobs if the store stays away. Whether
        // any of them were stored is unknown: none is counted either way.
        onError(error)
      }
      for (let index = 0; index < runs.length; index += 1) {
        try {
          if (outcomes) settle(runs[index], outcomes[index], false)
        } catch (error) {
          onError(error)
        }
        finished()
      }
    }
    flushing = false
  }

  let flushScheduled = false
  /**
   * Queues a successful job's completion for the next write, without a promise per job: flush
   * settles it. One flush runs for every job that finishes in this turn (a running flush takes
   * them as well).
   */
  function completeLater(entry: JobRun, result: unknown): void {
    const { job } = entry
    batch.push({ id: job.id, owner, attempt: job.attempts, queue: job.queue, result })
    batchRuns.push(entry)
    if (flushing || flushScheduled) return
    flushScheduled = true
    setImmediate(() => {
      flushScheduled = false
      void flush()
    })
  }

  /**
   * One running job: its state and the context its code gets, in one object (a runner allocates
   * per job only what it must: thousands run per second).
   */
  class JobRun implements RunnerJobContext {
    readonly job: Job
    /** Made when the job first reads its signal: most jobs never do. */
    controller: AbortController | null = null
    cause: AbortCause | null = null
    /** How long the handler ran, ms (set when it returns). */
    runMs = 0
    /** The held claim the job came in, until that hold has leased it (then null: a claimed job). */
    hold: Hold | null = null

    constructor(job: Job) {
      this.job = job
    }

    get attempt(): number {
      return this.job.attempts
    }

    get signal(): AbortSignal {
      if (!this.controller) {
        this.controller = new AbortController()
        if (this.cause) this.controller.abort(new JobAbortError(this.cause))
      }
      return this.controller.signal
    }

    log(line: string): void {
      engine.logs.append(this.job.id, line)
    }

    progress(fraction: number): void {
      engine.setProgress(this.job.id, fraction).catch(onError)
    }
  }

  /** A held claim's jobs, as the runner tracks them until the hold settles. */
  class Hold {
    readonly held: EngineHold
    /** Jobs of the hold whose handler has not returned. */
    readonly runs = new Set<JobRun>()
    readonly done: Array<{ id: string; queue: string; result: unknown }> = []
    readonly doneRuns: JobRun[] = []
    settling: Promise<void> | null = null
    readonly timer: NodeJS.Timeout

    constructor(held: EngineHold) {
      this.held = held
      this.timer = setTimeout(() => void settleHold(this), holdMs)
    }

    /** A job of the hold returned: written when the hold settles, at the latest when the last one returns. */
    succeeded(entry: JobRun, result: unknown): void {
      this.runs.delete(entry)
      this.done.push({ id: entry.job.id, queue: entry.job.queue, result })
      this.doneRuns.push(entry)
      if (this.runs.size === 0) void settleHold(this)
    }
  }

  /**
   * Ends a hold: its finished jobs are stored as succeeded and settled, the ones still running are
   * leased (they go on as claimed jobs: heartbeats, the usual finish). If the store fails, nothing
   * of the hold was written: the jobs are queued again, and the ones still running here are
   * aborted as having lost their lease.
   */
  function settleHold(hold: Hold): Promise<void> {
    if (hold.settling) return hold.settling
    clearTimeout(hold.timer)
    const runs = hold.doneRuns
    const leased = [...hold.runs]
    hold.settling = hold.held.settle(hold.done, leaseMs).then(
      (outcomes) => {
        for (const entry of leased) entry.hold = null
        for (let index = 0; index < runs.length; index += 1) {
          try {
            settle(runs[index], outcomes[index], false)
          } catch (error) {
            onError(error)
          }
        }
      },
      (error: unknown) => {
        onError(error)
        for (const entry of leased) abort(entry, 'lease_lost')
      },
    )
    hold.settling = hold.settling.finally(() => {
      holds.delete(hold)
      for (let index = 0; index < runs.length; index += 1) finished()
    })
    return hold.settling
  }

  function abort(entry: JobRun, cause: AbortCause): void {
    if (entry.cause) return
    entry.cause = cause
    options.onAbort?.(entry.job, cause)
    entry.controller?.abort(new JobAbortError(cause))
  }

  /** The store's answer to a job's finish: counted, and told to onSettled. */
  function settle(entry: JobRun, outcome: FinishOutcome, released: boolean): void {
    if (!outcome.ok) stats.leaseLost += 1
    else if (outcome.status === 'succeeded') stats.succeeded += 1
    else if (!released) stats.failed += 1
    if (outcome.ok && outcome.runAt !== undefined) wakeAt(outcome.runAt)
    options.onSettled?.({ job: entry.job, outcome, released, runMs: entry.runMs })
  }

  /** A finish the store answered (or could not): the job no longer holds the runner back. */
  function finished(): void {
    finishing -= 1
    if (settled && running.size === 0 && finishing === 0) settled()
    // The claim that followed the handler's return ran while this job's row was still `running`,
    // so a queue at its max_workers cap gave nothing; now that the store has the outcome the slot
    // is free for the cap as well.
    if (!stopping) pumpSoon()
  }

  /** Every finish but a plain success: release, failure, cancellation, a lost lease. */
  async function report(entry: JobRun, ok: boolean, value: unknown): Promise<void> {
    const { job, cause } = entry
    let outcome: FinishOutcome
    const release = cause === 'shutdown' || (!ok && cause === null && isReleased(value))
    // Once we aborted the signal, a return is not proof the work was done.
    if (cause === 'lease_lost') outcome = { ok: false, reason: 'lease_lost', status: null }
    else if (release) outcome = await engine.release({ id: job.id, owner, attempt: job.attempts })
    else {
      const error =
        cause === 'cancelled' ? 'cancelled on request' : (options.describeFailure?.(value) ?? value)
      outcome = await engine.fail(job.id, owner, error, {
        unrecoverable: isUnrecoverable(value),
        attempt: job.attempts,
      })
    }
    settle(entry, outcome, release)
  }

  async function run(job: Job, hold: Hold | null): Promise<void> {
    const entry = new JobRun(job)
    if (hold) {
      entry.hold = hold
      hold.runs.add(entry)
    }
    running.set(job.id, entry)
    let ok = true
    let value: unknown
    const startedAt = performance.now()
    try {
      value = await execute(job, entry)
    } catch (error) {
      ok = false
      value = error
    }
    entry.runMs = performance.now() - startedAt
    // The log is complete before the outcome is stored: whoever sees the job finished sees all of it.
    if (engine.logs.open(job.id)) await engine.logs.close(job.id)
    running.delete(job.id)
    finishing += 1
    if (!stopping) pumpSoon()
    // The common case: the handler returned and nothing aborted it. Its completion joins the next
    // batch write, which settles it.
    if (ok && entry.cause === null && entry.hold?.settling === null) {
      entry.hold.succeeded(entry, value)
      return
    }
    // Any other end needs the job's lease first: the hold leases it (with the others still running),
    // or is leasing it now. Until that commits the row still reads `queued`, and a finish would find
    // nothing to update.
    if (entry.hold) await settleHold(entry.hold)
    if (ok && entry.cause === null) {
      completeLater(entry, value)
      return
    }
    try {
      await report(entry, ok, value)
    } catch (error) {
      onError(error)
    }
    finished()
  }

  let pumpScheduled = false
  /** Jobs that finish in the same turn share one claim instead of claiming one slot each. */
  function pumpSoon(): void {
    if (pumpScheduled) return
    pumpScheduled = true
    setImmediate(() => {
      pumpScheduled = false
      void pump()
    })
  }

  /**
   * Claims every free slot while there are jobs to take, one claim at a time: a call that finds a
   * claim in flight is folded into it (it claims again when it returns). On PostgreSQL two claims
   * in flight, each for half the slots, cost more and ran no faster: the second walks over the
   * rows the first holds locked, failing to lock each (docs/performance.md, "Issue 14, one claim
   * in flight").
   */
  async function pump(): Promise<void> {
    if (stopping || !started) return
    if (claiming) {
      again = true
      return
    }
    claiming = true
    try {
      do {
        again = false
        // A claim takes at most the engine's batch limit; more free slots claim again.
        const limit = Math.min(concurrency - running.size, MAX_BATCH)
        const queues = options.queues()
        if (limit <= 0 || queues.length === 0) break
        const held =
          holdMs > 0 && holds.size < MAX_HOLDS ? await engine.hold({ queues, owner, limit, leaseMs }) : null
        const hold = held && held.jobs.length > 0 ? new Hold(held) : null
        if (hold) holds.add(hold)
        const jobs = held ? held.jobs : await engine.claim({ queues, owner, limit, leaseMs })
        stats.claimed += jobs.length
        for (const job of jobs) void run(job, hold)
        if (jobs.length === limit) again = true
      } while (again && !stopping)
    } catch (error) {
      onError(error)
    } finally {
      claiming = false
    }
  }

  /** Pumps when a delayed job becomes due (in-process wake-ups and our own retries tell us when). */
  function wakeAt(runAt: number): void {
    const delay = runAt - Date.now()
    if (delay <= 0) {
      void pump()
      return
    }
    if (runAt >= dueAt || delay > pollMs) return
    if (dueTimer) clearTimeout(dueTimer)
    dueAt = runAt
    dueTimer = setTimeout(() => {
      dueTimer = null
      dueAt = Number.POSITIVE_INFINITY
      void pump()
    }, delay + 1)
  }

  // What this runner last told the store it serves; announcements run one after the other, so
  // a periodic one and one for a changed queue list never interleave their rewrite of our rows.
  let announced: string | null = null
  let presence: Promise<void> = Promise.resolve()
  function announce(force: boolean): Promise<void> {
    presence = presence.then(async () => {
      if (!started || stopping) return
      const queues = [...options.queues()].sort()
      const key = queues.join('\n')
      if (!force && key === announced) return
      try {
        // Two refreshes may be missed before the others count this runner gone.
        await engine.announceWorker(owner, queues, leaseMs)
        announced = key
      } catch (error) {
        onError(error)
      }
    })
    return presence
  }

  async function beat(): Promise<void> {
    void announce(true)
    if (running.size === 0) return
    try {
      // A held job has no lease to renew (its hold leases it when it settles).
      const leased: string[] = []
      for (const [id, entry] of running) if (entry.hold === null) leased.push(id)
      const answer = await engine.heartbeatMany(leased, owner, leaseMs)
      for (const [id, state] of answer) {
        const entry = running.get(id)
        if (!entry) continue
        if (!state.held) abort(entry, 'lease_lost')
        else if (state.cancelRequested) abort(entry, 'cancelled')
      }
    } catch (error) {
      onError(error)
    }
  }

  return {
    owner,
    stats,
    /** Jobs whose handler is running now. */
    get active(): number {
      return running.size
    },
    start(): void {
      if (started) return
      started = true
      unsubscribers.push(
        engine.notifier.subscribe((queue, runAt) => {
          if (queue === '*' || options.queues().includes(queue)) wakeAt(runAt)
        }),
        engine.onCancel((jobId) => {
          const entry = running.get(jobId)
          if (entry) abort(entry, 'cancelled')
        }),
      )
      pollTimer = setInterval(() => void pump(), pollMs)
      heartbeatTimer = setInterval(() => void beat(), heartbeatMs)
      void announce(true)
      void pump()
    },
    /**
     * Wakes the runner now (tests, or a caller that knows better than the poll), and tells the
     * store at once when the queues it serves changed.
     */
    poke: () => Promise.all([announce(false), pump()]).then(() => undefined),
    /**
     * Stops claiming, lets running jobs finish for up to `drainMs`, then aborts the rest (they are
     * released to the queue without using up an attempt) and waits for every outcome to be stored.
     */
    async stop(stopOptions: { drainMs?: number } = {}): Promise<void> {
      if (!started || stopping) return
      stopping = true
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe()
      if (pollTimer) clearInterval(pollTimer)
      if (dueTimer) clearTimeout(dueTimer)
      while (claiming) await new Promise((resolve) => setTimeout(resolve, 1))
      // Holds end now: what finished is stored, the rest is leased and drains as claimed jobs.
      await Promise.all([...holds].map(settleHold))
      const done = new Promise<void>((resolve) => {
        settled = resolve
        if (running.size === 0 && finishing === 0) resolve()
      })
      const drainMs = stopOptions.drainMs ?? 10_000
      let drainTimer: NodeJS.Timeout | undefined
      await Promise.race([done, new Promise((resolve) => (drainTimer = setTimeout(resolve, drainMs)))])
      clearTimeout(drainTimer)
      for (const entry of running.values()) abort(entry, 'shutdown')
      await done
      await flush()
      if (heartbeatTimer) clearInterval(heartbeatTimer)
      await presence
      await engine.retireWorker(owner).catch(onError)
    },
  }
}

export type Runner = ReturnType<typeof createRunner>
