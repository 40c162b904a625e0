import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  ApiError,
  type HelloMessage,
  type JobRunRef,
  type ServerMessage,
  SUPPORTED_WORKER_PROTOCOL_VERSIONS,
  WORKER_CLOSE,
  WORKER_PROTOCOL_VERSION,
} from '@edgeforge/protocol'
import { type WebSocket, WebSocketServer } from 'ws'
import type { Job } from '../types.ts'
import { SessionInbox } from './inbox.ts'
import { parseAgentMessage } from './messages.ts'
import { announceAgent, retireAgent, sweepAgents } from './presence.ts'
import {
  type Live,
  ownerOf,
  type RemoteRun,
  refuseUpgrade,
  snapshotOf,
  type WorkerCredential,
  type WorkerHubOptions,
  type WorkerSession,
} from './session.ts'

/**
 * The third adapter over the queue engine, beside the in-process runner and the HTTP routes: it
 * claims for each connected agent up to its free slots and pushes the jobs down the socket,
 * renews their leases while the socket lives (so a lease is the socket's liveness, checked with
 * pings), stores log chunks at their offsets and acknowledges them, records finishes fenced by the
 * lease and the attempt, and pushes cancellation and lease loss to the agent. An agent that goes
 * away keeps its leases until they expire; the reaper then re-queues its jobs for someone else.
 */
export class WorkerHub {
  private readonly options: WorkerHubOptions
  private readonly sessions = new Map<string, Live>()
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 })
  private timers: NodeJS.Timeout[] = []
  private unsubscribers: Array<() => void> = []
  private stopped = false
  private readonly inbox: SessionInbox

  constructor(options: WorkerHubOptions) {
    this.options = options
    this.inbox = new SessionInbox({
      engine: options.engine,
      logger: options.logger,
      send: (session, message) => this.send(session, message),
      pump: (session) => void this.pump(session),
    })
  }

  start(): void {
    const { engine } = this.options
    const heartbeatMs = Math.max(10, Math.floor(this.options.leaseMs / 3))
    this.timers.push(
      setInterval(() => void this.renewAll(), heartbeatMs),
      setInterval(() => this.pumpAll(), this.options.pollMs ?? 1000),
      // Rows of agents whose process died without deleting them.
      setInterval(() => {
        sweepAgents(engine.db).catch((error) =>
          this.options.logger.error({ err: error }, 'worker hub: agent sweep failed'),
        )
      }, 60_000),
    )
    for (const timer of this.timers) timer.unref()
    this.unsubscribers.push(
      engine.notifier.subscribe((queue) => {
        for (const session of this.sessions.values())
          if (queue === '*' || session.queues.includes(queue)) void this.pump(session)
      }),
      // Input stored for a job one of these agents runs, by this process or (PostgreSQL) another.
      engine.onInput((jobId) => {
        for (const session of this.sessions.values()) {
          if (jobId === '*') for (const run of session.running.values()) void run.input?.pull()
          else void session.running.get(jobId)?.input?.pull()
        }
      }),
      engine.onCancel((jobId) => {
        for (const session of this.sessions.values()) {
          const run = session.running.get(jobId)
          if (run) this.abort(session, jobId, run, 'cancelled')
        }
      }),
    )
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const timer of this.timers) clearInterval(timer)
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe()
    for (const session of this.sessions.values())
      session.socket.close(WORKER_CLOSE.shutdown, 'server stopping')
    await Promise.all([...this.sessions.values()].map((session) => session.inbox))
    this.sessions.clear()
  }

  /** For the control listener's `upgrade` event: takes `/workers/connect`, leaves other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const stopping = { ok: false, error: { code: 'service_unavailable', message: 'the server is stopping' } }
    if (this.stopped) {
      refuseUpgrade(socket, 503, stopping)
      return
    }
    this.options.auth.authenticate(req).then(
      (credential) => {
        if (credential instanceof ApiError)
          return refuseUpgrade(socket, credential.status, credential.toBody())
        if (this.stopped) return refuseUpgrade(socket, 503, stopping)
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, credential))
      },
      (error) => {
        this.options.logger.error({ err: error }, 'worker hub: authentication failed')
        refuseUpgrade(socket, 500, {
          ok: false,
          error: { code: 'internal', message: 'authentication failed' },
        })
      },
    )
  }

  list(): WorkerSession[] {
    return [...this.sessions.values()].map(snapshotOf)
  }

  get(id: string): WorkerSession | undefined {
    const session = this.sessions.get(id)
    return session && snapshotOf(session)
  }

  /** Finish running jobs, take no new ones. */
  drain(id: string): boolean {
    const session = this.sessions.get(id)
    if (!session) return false
    session.draining = true
    this.send(session, { type: 'drain' })
    void announceAgent(this.options.engine.db, session, this.options.leaseMs).catch((error) =>
      this.options.logger.error({ err: error }, 'worker hub: announce failed'),
    )
    return true
  }

  disconnect(id: string): boolean {
    const session = this.sessions.get(id)
    if (!session) return false
    session.socket.close(WORKER_CLOSE.disconnected, 'disconnected by an operator')
    return true
  }

  /** Connected agents per queue, as the overview and metrics count them. */
  liveWorkers(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const session of this.sessions.values())
      for (const queue of session.queues) counts[queue] = (counts[queue] ?? 0) + 1
    return counts
  }

  private accept(socket: WebSocket, req: IncomingMessage, credential: WorkerCredential): void {
    const helloTimer = setTimeout(
      () => this.refuse(socket, 'validation_failed', 'no hello within the time allowed'),
      this.options.helloTimeoutMs ?? 10_000,
    )
    socket.once('message', (data, isBinary) => {
      clearTimeout(helloTimer)
      const message = isBinary ? 'a frame must be text' : parseAgentMessage(data.toString())
      if (typeof message === 'string') return this.refuse(socket, 'validation_failed', message)
      if (message.type !== 'hello')
        return this.refuse(socket, 'validation_failed', 'the first message is hello')
      void this.welcome(socket, req, message, credential).catch((error) => {
        this.options.logger.error({ err: error }, 'worker hub: hello failed')
        this.refuse(socket, 'internal', 'the server could not take this worker; it will be retried')
      })
    })
    socket.on('error', () => {})
  }

  private refuse(socket: WebSocket, code: string, message: string): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'refused', code, message }))
    socket.close(WORKER_CLOSE.refused, code)
  }

  private async welcome(
    socket: WebSocket,
    req: IncomingMessage,
    hello: HelloMessage,
    credential: WorkerCredential,
  ): Promise<void> {
    const { engine, logger, leaseMs } = this.options
    if (!SUPPORTED_WORKER_PROTOCOL_VERSIONS.includes(hello.protocol)) {
      return this.refuse(
        socket,
        'worker_protocol_unsupported',
        `this server speaks worker protocol ${SUPPORTED_WORKER_PROTOCOL_VERSIONS.join(', ')}; the agent spoke ${hello.protocol}: run an @edgeforge/worker that matches the server`,
      )
    }
    const forbidden = this.options.auth.mayWork(credential, hello.queues)
    if (forbidden) return this.refuse(socket, forbidden.code, forbidden.message)
    if (this.sessions.has(hello.worker_id))
      return this.refuse(socket, 'conflict', `a worker with id ${hello.worker_id} is already connected`)
    const owner = ownerOf(hello.worker_id)
    const now = Date.now()
    const session: Live = {
      id: hello.worker_id,
      owner,
      group: hello.group ?? null,
      queues: hello.queues,
      concurrency: hello.concurrency,
      agentVersion: hello.agent_version,
      protocol: hello.protocol,
      remoteAddress: req.socket.remoteAddress ?? 'unknown',
      connectedAt: now,
      lastSeenAt: now,
      draining: false,
      running: new Map(),
      socket,
      claiming: false,
      again: false,
      inbox: Promise.resolve(),
      pending: [],
      processing: false,
      pongPending: false,
    }
    // Jobs the agent kept running through a network cut: still ours if the lease is still held.
    const claimed = hello.running ?? []
    const held = await engine.heartbeatMany(
      claimed.map((run) => run.job_id),
      owner,
      leaseMs,
    )
    const resumed: JobRunRef[] = []
    const logAcks: Record<string, number> = {}
    const inputSeqs = new Map<string, number>()
    for (const run of claimed) {
      if (!held.get(run.job_id)?.held) continue
      const job = await engine.getJob(run.job_id).catch(() => undefined)
      if (!job || job.attempts !== run.attempt) continue
      session.running.set(run.job_id, { attempt: run.attempt, queue: job.queue, aborted: null, input: null })
      resumed.push({ job_id: run.job_id, attempt: run.attempt })
      inputSeqs.set(run.job_id, run.input_seq ?? 0)
      logAcks[run.job_id] = await engine.nextLogOffset(run.job_id)
    }
    if (socket.readyState !== socket.OPEN) return
    this.sessions.set(session.id, session)
    socket.on('message', (data) => {
      session.lastSeenAt = Date.now()
      const message = parseAgentMessage(data.toString())
      if (typeof message === 'string') {
        socket.close(WORKER_CLOSE.protocolError, message.slice(0, 120))
        return
      }
      session.pending.push(message)
      if (!session.processing) {
        session.processing = true
        session.inbox = this.inbox.process(session)
      }
    })
    socket.on('pong', () => {
      session.pongPending = false
      session.lastSeenAt = Date.now()
    })
    socket.on('close', () => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id)
      for (const run of session.running.values()) run.input?.close()
      void Promise.all([engine.retireWorker(owner), retireAgent(engine.db, session.id)]).catch((error) =>
        logger.error({ err: error }, 'worker hub: retire failed'),
      )
      logger.info({ worker: session.id, running: session.running.size }, 'worker disconnected')
      engine.events?.record('worker.disconnected', null, null, { worker: session.id, queues: session.queues })
    })
    // Live workers are counted from the store, so every process's overview sees this agent.
    await engine.announceWorker(owner, session.queues, leaseMs)
    await announceAgent(engine.db, session, leaseMs, true)
    engine.events?.record('worker.connected', null, null, {
      worker: session.id,
      group: session.group,
      queues: session.queues,
      concurrency: session.concurrency,
    })
    this.send(session, {
      type: 'welcome',
      protocol: WORKER_PROTOCOL_VERSION,
      worker_id: session.id,
      lease_ms: leaseMs,
      resumed,
      log_acks: logAcks,
    })
    // After the welcome: the input a resumed run missed while the agent was away, and nothing it has.
    for (const [jobId, after] of inputSeqs) this.followInput(session, jobId, after)
    logger.info(
      {
        worker: session.id,
        queues: session.queues,
        concurrency: session.concurrency,
        resumed: resumed.length,
      },
      'worker connected',
    )
    void this.pump(session)
  }

  /** Claims up to the agent's free slots and pushes what it got; never more than the free slots. */
  private async pump(session: Live): Promise<void> {
    if (session.claiming) {
      session.again = true
      return
    }
    session.claiming = true
    try {
      do {
        session.again = false
        const free = session.concurrency - session.running.size
        if (free <= 0 || session.draining || this.stopped || !this.isLive(session)) break
        const jobs = await this.options.engine.claim({
          queues: session.queues,
          owner: session.owner,
          limit: free,
          leaseMs: this.options.leaseMs,
        })
        for (const job of jobs) await this.push(session, job)
        if (jobs.length === free) session.again = true
      } while (session.again)
    } catch (error) {
      this.options.logger.error(
        { err: error, worker: session.id },
        'worker hub: claim failed, retrying at the next poll',
      )
    } finally {
      session.claiming = false
    }
  }

  private async push(session: Live, job: Job): Promise<void> {
    const run: RemoteRun = { attempt: job.attempts, queue: job.queue, aborted: null, input: null }
    session.running.set(job.id, run)
    // Held until the job message is out: input stored meanwhile is read once it is.
    this.followInput(session, job.id, 0, true)
    const [start, handler] = await Promise.all([
      this.options.engine.runStart(job.id),
      this.options.handlers.deployedFor(job.queue),
    ])
    // A socket that closed meanwhile leaves the job leased: it expires and is run elsewhere.
    this.send(session, {
      type: 'job',
      job_id: job.id,
      attempt: job.attempts,
      queue: job.queue,
      payload: job.payload,
      max_attempts: job.maxAttempts,
      lease_expires_at: job.leaseExpiresAt ?? Date.now() + this.options.leaseMs,
      log_offset: start.logOffset,
      handler: handler ?? null,
      artifact_credential:
        this.options.artifactCredential?.(job.id, job.leaseExpiresAt ?? Date.now() + this.options.leaseMs) ??
        null,
    })
    // Every attempt reads the job's input from the first message (as it gets the payload again);
    // a job with none yet costs no read.
    run.input?.release(start.inputSeq > 0)
  }

  /**
   * Sends the run the job's stored input after `after`, in order, now (unless `held`) and at
   * every input notice for it; stops once the run is no longer this session's or the socket
   * closed (the agent says what it has when it reconnects, and the session that takes it resends
   * from there).
   */
  private followInput(session: Live, jobId: string, after: number, held = false): void {
    const run = session.running.get(jobId)
    if (!run) return
    run.input = this.options.engine.inputCursor(jobId, {
      after,
      held,
      deliver: (row) =>
        session.running.get(jobId) === run &&
        this.isLive(session) &&
        this.send(session, {
          type: 'input',
          job_id: jobId,
          attempt: run.attempt,
          seq: row.seq,
          message: row.message,
        }),
      onError: (error) =>
        this.options.logger.error(
          { err: error, worker: session.id, jobId },
          'worker hub: reading job input failed, retrying',
        ),
    })
    if (!held) void run.input.pull()
  }

  private pumpAll(): void {
    for (const session of this.sessions.values()) void this.pump(session)
  }

  /** Renews every live agent's leases in one statement each, and pushes what it learns. */
  private async renewAll(): Promise<void> {
    for (const session of [...this.sessions.values()]) {
      if (session.pongPending) {
        // No pong since the last round: the peer is gone without a close. Its leases lapse.
        session.socket.terminate()
        continue
      }
      session.pongPending = true
      session.socket.ping()
      try {
        await this.options.engine.announceWorker(session.owner, session.queues, this.options.leaseMs)
        // A drain or disconnect another process asked for, in case its notice was missed.
        const control = await announceAgent(this.options.engine.db, session, this.options.leaseMs)
        if (control === 'disconnect') {
          this.disconnect(session.id)
          continue
        }
        if (control === 'drain' && !session.draining) this.drain(session.id)
        if (session.running.size === 0) continue
        const answer = await this.options.engine.heartbeatMany(
          [...session.running.keys()],
          session.owner,
          this.options.leaseMs,
        )
        for (const [jobId, state] of answer) {
          const run = session.running.get(jobId)
          if (!run) continue
          if (!state.held) {
            this.abort(session, jobId, run, 'lease_lost')
            session.running.delete(jobId)
          } else if (state.cancelRequested) this.abort(session, jobId, run, 'cancelled')
          else this.sendCredential(session, jobId, run)
        }
        if (session.running.size < session.concurrency) void this.pump(session)
      } catch (error) {
        this.options.logger.error({ err: error, worker: session.id }, 'worker hub: lease renewal failed')
      }
    }
  }

  /** The renewed lease's artifact credential, so uploads keep working for as long as the job runs. */
  private sendCredential(session: Live, jobId: string, run: RemoteRun): void {
    const credential = this.options.artifactCredential?.(jobId, Date.now() + this.options.leaseMs)
    if (credential)
      this.send(session, {
        type: 'credential',
        job_id: jobId,
        attempt: run.attempt,
        artifact_credential: credential,
      })
  }

  private abort(session: Live, jobId: string, run: RemoteRun, reason: 'cancelled' | 'lease_lost'): void {
    if (run.aborted === reason || run.aborted === 'lease_lost') return
    run.aborted = reason
    this.send(session, { type: 'abort', job_id: jobId, attempt: run.attempt, reason })
  }

  private isLive(session: Live): boolean {
    return this.sessions.get(session.id) === session && session.socket.readyState === session.socket.OPEN
  }

  private send(session: Live, message: ServerMessage): boolean {
    if (session.socket.readyState !== session.socket.OPEN) return false
    session.socket.send(JSON.stringify(message))
    return true
  }
}
