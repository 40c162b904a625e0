import { format } from 'node:util'
import { Edgeforge, EdgeforgeError, jobArtifacts } from '@edgeforge/client'
import {
  type FinishMessage,
  JobInputQueue,
  type JobMessage,
  type ServerMessage,
  WORKER_CLOSE,
  WORKER_PROTOCOL_VERSION,
  WORKER_SOCKET_PATH,
} from '@edgeforge/protocol'
import { HandlerError, isUnrecoverableError, type JobContext, type JobsClient } from '@edgeforge/sdk'
import WebSocket from 'ws'
import { HandlerLoader } from './handlers.ts'
import { LogBudget, RunLog } from './run-log.ts'

export const AGENT_VERSION = '0.1.0'

/** Services live in the gateway; a remote job that asks for one learns so at once. */
const noServices = (name: string): never => {
  throw new Error(
    `service ${name} is not available on a remote worker: services run in the gateway, so a job that needs one runs there`,
  )
}
const NO_SERVICES = {
  database: noServices,
  cache: noServices,
  storage: noServices,
  files: noServices,
  email: noServices,
  records: noServices,
}

export interface AgentOptions {
  /** The control plane, e.g. http://127.0.0.1:9081. */
  url: string
  token: string
  queues: string[]
  concurrency: number
  workerId: string
  group?: string
  cacheDir: string
  /** Run this file's `export default job(…)` instead of the deployed handler. */
  handlerFile?: string
  /** Unacknowledged log lines the agent keeps over all its jobs; past it lines are dropped and counted. */
  maxBufferedLines?: number
  /** Structured log of the agent itself (one JSON object a line by default). */
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void
  /** For tests: the protocol version the agent claims. */
  protocol?: number
}

class AbortError extends Error {
  readonly abortCause: string
  constructor(cause: string) {
    super(`job aborted: ${cause.replace('_', ' ')}`)
    this.name = 'AbortError'
    this.abortCause = cause
  }
}

interface Run {
  job: JobMessage
  controller: AbortController
  input: JobInputQueue
  log: RunLog
  /** Sent (and resent after a reconnect) until the server acknowledges it. */
  finish: FinishMessage | null
  leaseLost: boolean
  /** This job's artifact credential from the server, renewed with its lease. */
  artifactCredential: string | null
  /** The highest input seq handed to the handler: told to the server on reconnect, older ones dropped. */
  inputSeq: number
}

/**
 * The remote worker: one WebSocket to the control plane, reconnected with backoff; runs the jobs
 * the server pushes (never more than `concurrency`, which the server counts), streams their logs
 * in acknowledged chunks, reports each outcome until acknowledged, and aborts `ctx.signal` when
 * the server says the job was cancelled or its lease is gone.
 */
export class Agent {
  private readonly options: AgentOptions
  private readonly loader: HandlerLoader
  private readonly runs = new Map<string, Run>()
  private readonly budget: LogBudget
  /** The control plane's REST API with the agent's credential (enqueue, handler bundles). */
  private readonly client: Edgeforge
  private socket: WebSocket | null = null
  private welcomed = false
  private stopping = false
  private draining = false
  private backoffMs = 100
  private reconnectTimer: NodeJS.Timeout | null = null
  private idle: (() => void) | null = null
  private fatal: ((error: Error) => void) | null = null
  readonly done: Promise<void>
  /** Jobs this agent ran to a stored outcome, for its own log and tests. */
  finished = 0

  constructor(options: AgentOptions) {
    this.options = options
    this.budget = new LogBudget(options.maxBufferedLines ?? 100_000)
    this.client = new Edgeforge({ url: options.url, accessToken: options.token || undefined })
    this.loader = new HandlerLoader({
      client: this.client,
      cacheDir: options.cacheDir,
      localFile: options.handlerFile,
    })
    this.done = new Promise((_resolve, reject) => {
      this.fatal = reject
    })
    this.done.catch(() => {})
  }

  private say(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    if (this.options.log) this.options.log(level, message, fields)
    else
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`,
      )
  }

  start(): void {
    this.connect()
  }

  get running(): number {
    return this.runs.size
  }

  private connect(): void {
    this.reconnectTimer = null
    const url = new URL(WORKER_SOCKET_PATH, this.options.url)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    const socket = new WebSocket(url, {
      headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
    })
    this.socket = socket
    socket.on('open', () => {
      socket.send(
        JSON.stringify({
          type: 'hello',
          protocol: this.options.protocol ?? WORKER_PROTOCOL_VERSION,
          worker_id: this.options.workerId,
          group: this.options.group,
          queues: this.options.queues,
          concurrency: this.options.concurrency,
          agent_version: AGENT_VERSION,
          running: [...this.runs.values()].map((run) => ({
            job_id: run.job.job_id,
            attempt: run.job.attempt,
            input_seq: run.inputSeq,
          })),
        }),
      )
    })
    socket.on('message', (data) => this.handle(JSON.parse(data.toString()) as ServerMessage))
    socket.on('unexpected-response', (_req, res) => {
      this.say('error', `the server refused the connection: HTTP ${res.statusCode}`)
      if (res.statusCode === 401 || res.statusCode === 403)
        this.fail(new Error(`refused: HTTP ${res.statusCode}`))
    })
    socket.on('error', (error) => this.say('warn', 'connection error', { err: error.message }))
    socket.on('close', (code, reason) => {
      if (this.socket === socket) this.socket = null
      this.welcomed = false
      if (code === WORKER_CLOSE.refused) return
      if (this.stopping && this.runs.size === 0) return
      this.say('warn', 'disconnected; reconnecting', {
        code,
        reason: reason.toString(),
        in_ms: this.backoffMs,
      })
      this.reconnectTimer = setTimeout(() => this.connect(), this.backoffMs)
      this.backoffMs = Math.min(5000, this.backoffMs * 2)
    })
  }

  private fail(error: Error): void {
    this.stopping = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.fatal?.(error)
  }

  private send(message: object): void {
    if (this.welcomed && this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case 'refused':
        this.say('error', `the server refused this worker: ${message.message}`, { code: message.code })
        this.fail(new Error(`${message.code}: ${message.message}`))
        return
      case 'welcome': {
        this.welcomed = true
        this.backoffMs = 100
        const resumed = new Set(message.resumed.map((run) => `${run.job_id}:${run.attempt}`))
        for (const run of [...this.runs.values()]) {
          if (!resumed.has(`${run.job.job_id}:${run.job.attempt}`)) {
            this.loseLease(run)
            continue
          }
          run.log.resumeFrom(message.log_acks[run.job.job_id] ?? 0)
          this.flushLog(run)
          if (run.finish) this.send(run.finish)
        }
        this.say('info', 'connected', { worker_id: message.worker_id, resumed: resumed.size })
        if (this.draining) this.send({ type: 'draining' })
        return
      }
      case 'job':
        this.begin(message)
        return
      case 'log_ack':
        this.runs.get(message.job_id)?.log.ack(message.offset)
        return
      case 'abort': {
        const run = this.runs.get(message.job_id)
        if (!run || run.job.attempt !== message.attempt) return
        if (message.reason === 'lease_lost') this.loseLease(run)
        else run.controller.abort(new AbortError(message.reason))
        return
      }
      case 'finish_ack': {
        const run = this.runs.get(message.job_id)
        if (run && run.job.attempt === message.attempt) this.forget(run)
        if (message.ok) this.finished += 1
        return
      }
      case 'input': {
        // In seq order; one this run already has (resent around a reconnect) is dropped.
        const run = this.runs.get(message.job_id)
        if (!run || run.job.attempt !== message.attempt || message.seq <= run.inputSeq) return
        run.inputSeq = message.seq
        run.input.push(message.message)
        return
      }
      case 'drain':
        this.draining = true
        return
      case 'credential': {
        const run = this.runs.get(message.job_id)
        if (run && run.job.attempt === message.attempt) run.artifactCredential = message.artifact_credential
        return
      }
    }
  }

  /** The lease is gone: stop the handler, and never report it (the server would refuse it anyway). */
  private loseLease(run: Run): void {
    run.leaseLost = true
    run.controller.abort(new AbortError('lease_lost'))
    run.log.discard()
    if (run.finish) this.forget(run)
  }

  private forget(run: Run): void {
    run.log.discard()
    this.runs.delete(run.job.job_id)
    if (this.runs.size === 0) this.idle?.()
  }

  private flushLog(run: Run): void {
    if (!this.welcomed) return
    for (const chunk of run.log.unsent(run.job.job_id, run.job.attempt)) this.send(chunk)
  }

  private begin(job: JobMessage): void {
    const run: Run = {
      job,
      controller: new AbortController(),
      input: new JobInputQueue(),
      log: new RunLog(job.log_offset, this.budget),
      finish: null,
      leaseLost: false,
      artifactCredential: job.artifact_credential ?? null,
      inputSeq: 0,
    }
    this.runs.set(job.job_id, run)
    if (this.stopping) {
      this.report(run, { outcome: 'released' })
      return
    }
    void this.execute(run)
  }

  private async execute(run: Run): Promise<void> {
    const { job } = run
    let flushScheduled = false
    const ctx: JobContext = {
      jobId: job.job_id,
      queue: job.queue,
      attempt: job.attempt,
      signal: run.controller.signal,
      // A remote worker's handlers are its own code: they read its process.env, not an endpoint's.
      env: {},
      jobs: this.jobsClient(),
      input: run.input,
      // Over REST, as the gateway's own jobs do: with the job's credential when the server sent one.
      artifacts: jobArtifacts({
        url: this.options.url,
        jobId: job.job_id,
        credential: () => run.artifactCredential ?? (this.options.token || undefined),
      }),
      ...NO_SERVICES,
      log: (...args: unknown[]) => {
        if (run.leaseLost || run.finish) return
        run.log.append(format(...args))
        if (!flushScheduled) {
          flushScheduled = true
          setImmediate(() => {
            flushScheduled = false
            this.flushLog(run)
          })
        }
      },
      progress: (fraction: number) =>
        this.send({ type: 'progress', job_id: job.job_id, attempt: job.attempt, fraction }),
    }
    try {
      const fn = await this.loader.functionFor(job.handler, job.queue)
      const result = await fn(job.payload, ctx)
      const reason = run.controller.signal.reason as AbortError | undefined
      if (reason?.abortCause === 'shutdown') this.report(run, { outcome: 'released' })
      else if (run.controller.signal.aborted) this.report(run, { outcome: 'failed', error: reason?.message })
      else this.report(run, { outcome: 'succeeded', result: result === undefined ? null : result })
    } catch (error) {
      const reason = run.controller.signal.reason as AbortError | undefined
      if (reason?.abortCause === 'shutdown') this.report(run, { outcome: 'released' })
      else
        this.report(run, {
          outcome: 'failed',
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          unrecoverable: isUnrecoverableError(error),
        })
    } finally {
      run.input.close()
    }
  }

  private report(run: Run, outcome: Omit<FinishMessage, 'type' | 'job_id' | 'attempt'>): void {
    if (run.leaseLost) {
      this.forget(run)
      return
    }
    this.flushLog(run)
    run.finish = { type: 'finish', job_id: run.job.job_id, attempt: run.job.attempt, ...outcome }
    this.send(run.finish)
  }

  /**
   * `ctx.jobs` of a remote job: `POST /jobs` through @edgeforge/client with the agent's
   * credential. A refusal (4xx, or the store unavailable) is a HandlerError with the server's
   * status and code, as `ctx.jobs.enqueue` throws in the gateway.
   */
  private jobsClient(): JobsClient {
    return {
      enqueue: async (queue, payload, options = {}) => {
        try {
          const { data } = await this.client.jobs.create({
            queue,
            payload,
            priority: options.priority,
            run_at: options.runAt === undefined ? undefined : new Date(options.runAt).toISOString(),
            delay_seconds: options.delaySeconds,
            max_attempts: options.maxAttempts,
            dedup_key: options.dedupKey,
            dedup_mode: options.dedupMode,
          })
          if (!('job' in data)) throw new Error(`enqueue into ${queue}: the server answered a batch`)
          return {
            id: data.job.id,
            queue: data.job.queue,
            status: data.job.status,
            deduplicated: data.deduplicated,
          }
        } catch (error) {
          if (error instanceof EdgeforgeError)
            throw HandlerError.fromRefusal(error, `enqueue into ${queue} failed: ${error.message}`) ?? error
          throw error
        }
      },
    }
  }

  /**
   * Graceful stop (SIGTERM): takes no new jobs, lets the running ones finish for up to
   * `timeoutMs`, then aborts the rest and hands them back unrun; closes once every outcome is
   * acknowledged (or `timeoutMs` more has passed).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true
    this.draining = true
    this.send({ type: 'draining' })
    const settled = () =>
      new Promise<void>((resolve) => {
        if (this.runs.size === 0) resolve()
        else this.idle = resolve
      })
    const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())
    await Promise.race([settled(), wait(timeoutMs)])
    for (const run of this.runs.values()) run.controller.abort(new AbortError('shutdown'))
    await Promise.race([settled(), wait(Math.min(timeoutMs, 5000))])
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.socket?.close(1000, 'agent stopping')
  }
}
