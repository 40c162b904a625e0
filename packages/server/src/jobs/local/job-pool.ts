import { Worker } from 'node:worker_threads'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { EndpointLogs } from '../../observability/endpoint-logs.ts'
import type { Logger } from '../../observability/logger.ts'
import { callingSlot, judge, newLivenessBuffer } from '../../threads/liveness.ts'
import { Strikes } from '../../threads/strikes.ts'
import { CallAnswerer } from '../../threads/wire.ts'
import { UNRECOVERABLE } from '../errors.ts'
import { JobReleasedError } from './runner.ts'
import type {
  AbortCause,
  FromThread,
  JobArtifact,
  JobFailure,
  JobThreadInit,
  ToThread,
} from './thread-protocol.ts'

/** How often the watchdog reads every job thread's liveness cells. */
const WATCH_MS = 50
/** At shutdown, how long a job that ignores its aborted signal keeps its thread. */
const SHUTDOWN_GRACE_MS = 1000

/** Why a job thread was stopped: the first word of the failed attempt's last_error. */
export type StopCode =
  | 'job_handler_stuck'
  | 'job_handler_out_of_memory'
  | 'job_handler_ignored_abort'
  | 'job_thread_crashed'

/** The error a job's attempt fails with when its thread was stopped under it. */
export class JobThreadStopped extends Error {
  readonly code: StopCode

  constructor(code: StopCode, message: string) {
    super(`${code}: ${message}`)
    this.name = 'JobThreadStopped'
    this.code = code
    // Nothing of the server's: the stack is the message (the job's last_error reads it).
    this.stack = this.message
  }
}

export interface JobPoolOptions {
  threads: number
  /** Each thread's V8 old-generation limit in MB. */
  heapLimitMb: number
  /** How long a job thread's event loop may not turn before it is stopped and replaced. */
  stallMs: number
  /** How long a job may ignore its aborted signal (cancel, lease loss) before its thread is stopped. */
  abortGraceMs: number
  quarantineAfter: number
  quarantineWindowMs: number
  logger: Logger
  endpointLogs: Pick<EndpointLogs, 'append'>
  /** What job threads may ask of the main thread, by method name (`jobs.enqueue`, `services.call`). */
  calls: Record<string, (...args: never[]) => Promise<unknown>>
  /** A job endpoint stopped its thread `quarantineAfter` times within the window. */
  onQuarantine?: (endpointId: string, reason: string) => void
}

/** What the code running a job hears of it besides its end. */
export interface RunHooks {
  log(line: string): void
  progress(fraction: number): void
  /** The handler reads `ctx.input`: hand it the job's messages with `RunHandle.input` from now on. */
  inputWanted?(): void
}

/** One job handed to a thread, as the caller holds it. */
export interface RunHandle {
  readonly done: Promise<unknown>
  abort(cause: AbortCause): void
  input(message: unknown): void
}

/** A registered version: its artifact, its endpoint's watchdog slot. */
interface Registered {
  artifact: JobArtifact
  slot: number
}

class PoolRun implements RunHandle {
  readonly id: number
  readonly thread: JobThread
  readonly endpointId: string
  readonly hooks: RunHooks
  readonly done: Promise<unknown>
  resolve!: (value: unknown) => void
  reject!: (error: unknown) => void
  graceTimer: NodeJS.Timeout | undefined
  private readonly pool: JobPool

  constructor(pool: JobPool, id: number, thread: JobThread, endpointId: string, hooks: RunHooks) {
    this.pool = pool
    this.id = id
    this.thread = thread
    this.endpointId = endpointId
    this.hooks = hooks
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  abort(cause: AbortCause): void {
    this.pool.abortRun(this, cause)
  }

  input(message: unknown): void {
    this.thread.post({ type: 'input', run: this.id, message })
  }
}

/** One job thread seen from the main thread. */
class JobThread {
  readonly index: number
  readonly worker: Worker
  readonly liveness: SharedArrayBuffer
  readonly runs = new Map<number, PoolRun>()
  /** Version keys this thread has been sent. */
  readonly loaded = new Set<number>()
  /** It has loaded its modules and said so. */
  ready = false
  stopping = false
  /** Runs its calls into the main thread (made on its first call). */
  answerer: CallAnswerer | undefined
  private outbox: ToThread[] = []
  private flushScheduled = false

  constructor(index: number, heapLimitMb: number) {
    this.index = index
    this.liveness = newLivenessBuffer()
    const init: JobThreadInit = { index, liveness: this.liveness }
    this.worker = new Worker(new URL('./job-thread.ts', import.meta.url), {
      workerData: init,
      // As for HTTP handlers: none of the server's environment (tokens, database URL).
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: heapLimitMb },
      stdout: false,
      stderr: false,
    })
  }

  /** Queues a command; what one turn queues leaves as one message. */
  post(command: ToThread): void {
    if (this.stopping) return
    this.outbox.push(command)
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      const batch = this.outbox
      this.outbox = []
      if (!this.stopping) this.worker.postMessage(batch)
    })
  }

  /** Jobs it runs now, per endpoint. */
  private readonly perEndpoint = new Map<string, number>()

  add(run: PoolRun): void {
    this.runs.set(run.id, run)
    this.perEndpoint.set(run.endpointId, (this.perEndpoint.get(run.endpointId) ?? 0) + 1)
  }

  /** Takes a run off the thread; false when it was not on it (already settled). */
  take(run: PoolRun): boolean {
    if (!this.runs.delete(run.id)) return false
    const left = (this.perEndpoint.get(run.endpointId) ?? 1) - 1
    if (left === 0) this.perEndpoint.delete(run.endpointId)
    else this.perEndpoint.set(run.endpointId, left)
    return true
  }

  /** The endpoints whose jobs it runs now. */
  endpoints(): string[] {
    return [...this.perEndpoint.keys()]
  }

  /** Whether every job it runs belongs to `endpointId` (true when it runs none). */
  runsOnly(endpointId: string): boolean {
    const size = this.perEndpoint.size
    return size === 0 || (size === 1 && this.perEndpoint.has(endpointId))
  }
}

/**
 * The main thread's side of in-process jobs: a few worker threads that run job handlers, a
 * watchdog that stops a thread whose event loop stopped turning (a spinning handler), the heap
 * limit's replacement, the quarantine count, and the batched channel every job's ctx crosses.
 */
export class JobPool {
  private readonly options: JobPoolOptions
  private readonly threads: Array<JobThread | undefined> = []
  private readonly versions = new Map<number, Registered>()
  private readonly slots = new Map<string, number>()
  private readonly slotIds = new Map<number, string>()
  private readonly strikes: Strikes
  private readonly validations = new Map<
    number,
    { thread: JobThread; resolve: (error: string | undefined) => void }
  >()
  private nextKey = 1
  private nextSlot = 1
  private nextRun = 1
  private nextValidation = 1
  private watchdog: NodeJS.Timeout | undefined
  private closing = false
  /** Threads stopped (stuck, out of heap, ignoring an abort, crashed) and replaced. */
  restarts = 0

  constructor(options: JobPoolOptions) {
    this.options = options
    this.strikes = new Strikes(options.quarantineAfter, options.quarantineWindowMs)
  }

  get threadCount(): number {
    return this.threads.filter(Boolean).length
  }

  /** Makes a version runnable; returns the key its jobs name. */
  register(artifact: JobArtifact): number {
    const key = this.nextKey++
    let slot = this.slots.get(artifact.endpointId)
    if (slot === undefined) {
      slot = this.nextSlot++
      this.slots.set(artifact.endpointId, slot)
      this.slotIds.set(slot, artifact.endpointId)
    }
    this.versions.set(key, { artifact, slot })
    return key
  }

  /** Drops a version no job runs any more from every thread. */
  unregister(key: number): void {
    if (!this.versions.delete(key)) return
    for (const thread of this.threads) {
      if (thread?.loaded.delete(key)) thread.post({ type: 'unload', key })
    }
  }

  /** Loads a version in a job thread and drops it: a module that throws at top level fails here. */
  async validate(artifact: JobArtifact): Promise<void> {
    // An idle thread if there is one: a thread held by a spinning job would answer only once replaced.
    const thread = this.pick('')
    const id = this.nextValidation++
    const error = await new Promise<string | undefined>((resolve) => {
      this.validations.set(id, { thread, resolve })
      thread.post({ type: 'validate', id, artifact })
    })
    if (error !== undefined) throw new Error(error)
  }

  /** Runs a job of the version `key` in a thread; `done` settles with its result or failure. */
  run(
    key: number,
    job: { id: string; queue: string; attempts: number; payload: unknown },
    hooks: RunHooks,
  ): RunHandle {
    const registered = this.versions.get(key)
    if (!registered) throw new Error(`job handler version ${key} is not registered`)
    const endpointId = registered.artifact.endpointId
    const thread = this.pick(endpointId)
    if (!thread.loaded.has(key)) {
      thread.loaded.add(key)
      thread.post({ type: 'load', key, slot: registered.slot, artifact: registered.artifact })
    }
    const run = new PoolRun(this, this.nextRun++, thread, endpointId, hooks)
    thread.add(run)
    thread.post({
      type: 'run',
      run: run.id,
      key,
      jobId: job.id,
      queue: job.queue,
      attempt: job.attempts,
      payload: job.payload,
    })
    return run
  }

  abortRun(run: PoolRun, cause: AbortCause): void {
    if (run.graceTimer || !run.thread.runs.has(run.id)) return
    run.thread.post({ type: 'abort', run: run.id, cause })
    const graceMs =
      cause === 'shutdown'
        ? Math.min(SHUTDOWN_GRACE_MS, this.options.abortGraceMs)
        : this.options.abortGraceMs
    run.graceTimer = setTimeout(() => {
      if (!run.thread.runs.has(run.id) || run.thread.stopping) return
      this.stop(
        run.thread,
        'job_handler_ignored_abort',
        `the job went on ${graceMs} ms after its signal was aborted (${cause.replace('_', ' ')}); its thread was stopped`,
        run.endpointId,
        false,
      )
    }, graceMs)
    run.graceTimer.unref()
  }

  /** Ends every thread at once; jobs still on them are released (the runner stopped first). */
  async close(): Promise<void> {
    this.closing = true
    if (this.watchdog) clearInterval(this.watchdog)
    await Promise.all(
      this.threads.map(async (thread) => {
        if (!thread) return
        thread.stopping = true
        this.settleAll(thread, () => new JobReleasedError('the server stopped'))
        await thread.worker.terminate()
      }),
    )
  }

  /**
   * The thread for a job of `endpointId`: the least busy of those that run only that endpoint's
   * jobs (or none), else the least busy. Keeping endpoints apart keeps a stopped thread's
   * casualties few and its culprit known.
   */
  private pick(endpointId: string): JobThread {
    this.ensureStarted()
    let best: JobThread | undefined
    let bestPure = false
    for (const thread of this.threads) {
      if (!thread || thread.stopping) continue
      const pure = thread.runsOnly(endpointId)
      if (!best || (pure && !bestPure) || (pure === bestPure && thread.runs.size < best.runs.size)) {
        best = thread
        bestPure = pure
      }
    }
    if (best) return best
    // A stopped thread is replaced at once, so only a closing pool has none.
    throw new JobReleasedError('the job threads are shutting down')
  }

  private ensureStarted(): void {
    if (this.watchdog || this.closing) return
    for (let i = 0; i < this.options.threads; i++) this.spawn(i)
    this.watchdog = setInterval(() => this.watch(), WATCH_MS)
    this.watchdog.unref()
  }

  private spawn(index: number): JobThread {
    const thread = new JobThread(index, this.options.heapLimitMb)
    this.threads[index] = thread
    thread.worker.on('message', (batch: FromThread[]) => {
      for (const event of batch) this.onEvent(thread, event)
    })
    thread.worker.on('error', (error: Error & { code?: string }) => {
      if (thread.stopping) return
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY')
        this.stop(
          thread,
          'job_handler_out_of_memory',
          `the job thread ran out of heap (EDGEFORGE_THREAD_HEAP_MB=${this.options.heapLimitMb}) and was replaced`,
          undefined,
          true,
        )
      else {
        this.options.logger.error({ jobThread: index, err: error }, 'a job thread failed')
        this.stop(thread, 'job_thread_crashed', `the job thread failed: ${error.message}`, undefined, false)
      }
    })
    thread.worker.on('exit', (code) => {
      if (!thread.stopping && !this.closing)
        this.stop(thread, 'job_thread_crashed', `the job thread exited with code ${code}`, undefined, false)
    })
    return thread
  }

  private watch(): void {
    const now = Date.now()
    for (const thread of this.threads) {
      if (!thread || thread.stopping) continue
      const verdict = judge(thread.liveness, now, 0, this.options.stallMs)
      if (!verdict) continue
      const slot = callingSlot(thread.liveness)
      this.stop(
        thread,
        'job_handler_stuck',
        `${verdict.reason} (EDGEFORGE_JOB_STALL_MS=${this.options.stallMs}); the job thread was stopped and replaced`,
        slot === undefined ? undefined : this.slotIds.get(slot),
        true,
      )
    }
  }

  /**
   * Terminates a thread. Jobs of the endpoint to blame fail their attempt with `code` (the queue
   * retries them by its rules); the other jobs it ran are released without using an attempt.
   * When the culprit cannot be told (jobs of several endpoints and none inside a synchronous
   * call) every job on it fails, and no endpoint is counted a strike.
   */
  private stop(
    thread: JobThread,
    code: StopCode,
    message: string,
    blamed: string | undefined,
    strike: boolean,
  ): void {
    if (thread.stopping) return
    thread.stopping = true
    let culprit = blamed
    if (culprit === undefined) {
      const endpoints = thread.endpoints()
      if (endpoints.length === 1) culprit = endpoints[0]
    }
    this.options.logger.error(
      { jobThread: thread.index, endpointId: culprit, jobs: thread.runs.size, code },
      `stopping a job thread: ${message}`,
    )
    this.settleAll(thread, (run) =>
      culprit === undefined || run.endpointId === culprit
        ? new JobThreadStopped(code, message)
        : new JobReleasedError(
            `released: the job thread it ran on was stopped for another endpoint's job (${code})`,
          ),
    )
    void thread.worker.terminate()
    if (strike && culprit !== undefined) this.struck(culprit, `${code}: ${message}`)
    if (this.closing) return
    // Replaced at once (it loads versions again as jobs arrive): new jobs never wait for the exit.
    this.restarts += 1
    const replace = () => {
      if (this.closing) return
      this.spawn(thread.index)
      this.options.logger.info({ jobThread: thread.index }, 'job thread replaced')
    }
    // One that failed before it even started would fail again: no tight loop of spawns.
    if (thread.ready) replace()
    else setTimeout(replace, 1000).unref()
  }

  private settleAll(thread: JobThread, errorFor: (run: PoolRun) => Error): void {
    for (const run of [...thread.runs.values()]) {
      thread.take(run)
      clearTimeout(run.graceTimer)
      run.reject(errorFor(run))
    }
    for (const [id, pending] of this.validations) {
      if (pending.thread !== thread) continue
      this.validations.delete(id)
      pending.resolve('the job thread loading it was stopped (another job held it); deploy again')
    }
  }

  /** Counts a stopped thread against the endpoint whose job held it; quarantines a repeat offender. */
  private struck(endpointId: string, reason: string): void {
    const version = [...this.versions.values()].find((v) => v.artifact.endpointId === endpointId)
    this.options.endpointLogs.append(endpointId, {
      time: Date.now(),
      level: 'error',
      requestId: null,
      version: version?.artifact.version ?? null,
      message: `job thread stopped and replaced: ${reason}`,
    })
    const count = this.strikes.add(endpointId, Date.now())
    if (count < this.options.quarantineAfter) return
    this.strikes.clear(endpointId)
    const why = `quarantined: its job handler needed its thread stopped ${count} times within ${Math.round(this.options.quarantineWindowMs / 1000)} s (last: ${reason})`
    this.options.logger.error({ endpoint: version?.artifact.endpointName, endpointId }, why)
    this.options.onQuarantine?.(endpointId, why)
  }

  private onEvent(thread: JobThread, event: FromThread): void {
    switch (event.type) {
      case 'done': {
        const run = thread.runs.get(event.run)
        if (!run) return
        thread.take(run)
        if (run.graceTimer) clearTimeout(run.graceTimer)
        if (event.ok) run.resolve(event.value)
        else run.reject(toError(event.failure))
        return
      }
      case 'log':
        thread.runs.get(event.run)?.hooks.log(event.line)
        return
      case 'progress':
        thread.runs.get(event.run)?.hooks.progress(event.fraction)
        return
      case 'input-wanted':
        thread.runs.get(event.run)?.hooks.inputWanted?.()
        return
      case 'endpoint-log':
        this.options.endpointLogs.append(event.endpointId, event.entry)
        return
      case 'server-log':
        this.options.logger[event.level](event.fields, event.message)
        return
      case 'validated': {
        const pending = this.validations.get(event.id)
        this.validations.delete(event.id)
        pending?.resolve(event.error)
        return
      }
      case 'calls':
        thread.answerer ??= new CallAnswerer(
          this.options.calls,
          (batch) => thread.post(batch),
          (fields, message) => this.options.logger.error(fields, message),
          'a job thread call failed',
        )
        thread.answerer.answer(event)
        return
      case 'ready':
        thread.ready = true
        return
    }
  }
}

/** A job's failure as the runner sees it: an Error with the handler's mapped stack. */
function toError(failure: JobFailure): Error {
  const error = new Error(failure.message)
  error.name = failure.name
  error.stack = failure.stack
  if (failure.unrecoverable) Object.defineProperty(error, UNRECOVERABLE, { value: true })
  return error
}

/** `/metrics` of the job threads: how many run, how many were stopped and replaced. */
export function registerJobPoolMetrics(registry: Registry, pool: JobPool): void {
  new Gauge({
    name: 'edgeforge_job_threads',
    help: 'Job threads that in-process job handlers run in',
    registers: [registry],
    collect() {
      this.set(pool.threadCount)
    },
  })
  new Counter({
    name: 'edgeforge_job_thread_restarts_total',
    help: 'Job threads stopped (a job stuck, out of heap, ignoring its abort, or crashed) and replaced',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(pool.restarts)
    },
  })
}
