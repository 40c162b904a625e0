import { Counter, Gauge } from 'prom-client'
import type { DrainReport, EndpointLimits, Route, SwapResult } from '../gateway/index.ts'
import type { EndpointLogs } from '../observability/endpoint-logs.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import { judge, newLivenessBuffer } from './liveness.ts'
import type { Event, ServedEndpoint, ThreadStats, VersionArtifact } from './protocol.ts'
import { Strikes } from './strikes.ts'
import { GONE, HandlerThread } from './thread.ts'
import { CallAnswerer } from './wire.ts'

/** How often the watchdog reads every thread's liveness cells. */
const WATCH_MS = 50
/** How long a stats or metrics pull waits for a thread before counting without it. */
const STATS_WAIT_MS = 1000

export interface SupervisorOptions {
  threads: number
  gatewayPort: number
  gatewayHost: string
  headersTimeoutMs: number
  requestTimeoutMs: number
  /** How long a thread reuses a protected endpoint's caller before asking again. */
  authCacheMs: number
  heapLimitMb: number
  /** How far past a request's timeout a thread may be stuck before it is stopped. */
  stuckGraceMs: number
  /** How long a thread's event loop may not turn at all, whatever it runs, before it is stopped. */
  stallMs: number
  quarantineAfter: number
  quarantineWindowMs: number
  logger: Logger
  endpointLogs: EndpointLogs
  metrics: Metrics
  /** What threads may ask of the main thread, by method name (today `jobs.enqueue`). */
  calls: Record<string, (...args: never[]) => Promise<unknown>>
  /** An endpoint stopped its thread `quarantineAfter` times within the window. */
  onQuarantine: (endpointId: string, reason: string) => void
}

export interface GatewayStats {
  loaded: number
  draining: number
  active_requests: number
  draining_requests: number
  quarantined: number
  threads: number
  thread_restarts: number
}

/**
 * The main thread's side of the data plane. It keeps what every handler thread must serve (the
 * bookkeeping a replacement thread starts from), broadcasts every change to every thread and
 * answers once all of them applied it, watches their liveness, and stops and replaces a thread
 * that a handler holds past its timeout or that runs out of heap.
 */
export class ThreadSupervisor {
  private readonly options: SupervisorOptions
  private readonly served = new Map<string, ServedEndpoint>()
  private readonly slotIds = new Map<number, string>()
  private nextSlot = 1
  private readonly threads: Array<HandlerThread | undefined> = []
  private readonly strikes: Strikes
  /** Per thread, what runs its calls into the main thread and batches their answers. */
  private readonly answerers = new WeakMap<HandlerThread, CallAnswerer>()
  private port = 0
  private watchdog: NodeJS.Timeout | undefined
  private closing = false
  private listening = false
  private requestsHandled = 0
  private restarts = 0

  constructor(options: SupervisorOptions) {
    this.options = options
    this.strikes = new Strikes(options.quarantineAfter, options.quarantineWindowMs)
    options.metrics.collectGateway = async () => {
      await this.stats()
    }
    this.registerMetrics(options.metrics)
  }

  private registerMetrics(metrics: Metrics): void {
    const supervisor = this
    const registers = [metrics.registry]
    new Gauge({
      name: 'edgeforge_gateway_threads',
      help: 'Handler threads running the data plane',
      registers,
      collect() {
        this.set(supervisor.threadCount)
      },
    })
    new Counter({
      name: 'edgeforge_gateway_thread_restarts_total',
      help: 'Handler threads stopped (stuck, out of heap or crashed) and replaced',
      registers,
      collect() {
        this.reset()
        this.inc(supervisor.restarts)
      },
    })
    new Gauge({
      name: 'edgeforge_gateway_quarantined_endpoints',
      help: 'Endpoints answered 503 endpoint_quarantined because their handler kept stopping its thread',
      registers,
      collect() {
        this.set([...supervisor.served.values()].filter((served) => served.quarantined).length)
      },
    })
  }

  /** Starts every thread; they load endpoints but accept no connection before `listen`. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.threads }, (_, i) => this.spawn(i, false)))
    this.watchdog = setInterval(() => this.watch(), WATCH_MS)
    this.watchdog.unref()
  }

  /** Every thread listens on the gateway's port; resolves with it (the one picked, for port 0). */
  async listen(): Promise<number> {
    const [first, ...others] = this.threads
    if (!first) throw new Error('the handler threads are not running')
    // The first thread picks the port when it is 0; the others then share it through reusePort.
    const port = await first.request<number>({ type: 'listen', port: this.options.gatewayPort })
    if (port === GONE) throw new Error('the first handler thread stopped before it listened')
    this.port = port
    await Promise.all(others.map((thread) => thread?.request<number>({ type: 'listen', port })))
    this.listening = true
    return port
  }

  get threadCount(): number {
    return this.threads.filter(Boolean).length
  }

  /** The version served for an endpoint, as every thread serves it. */
  get(
    endpointId: string,
  ): { route: Route; version: number; endpointName: string; bindingKey: string } | undefined {
    const served = this.served.get(endpointId)
    return (
      served && {
        bindingKey: served.artifact.bindingKey,
        route: served.route,
        version: served.artifact.version,
        endpointName: served.artifact.endpointName,
      }
    )
  }

  ids(): string[] {
    return [...this.served.keys()]
  }

  /** Loads a version in one thread and drops it: the compile-time check that it loads at all. */
  async validate(artifact: VersionArtifact): Promise<void> {
    const thread = this.threads.find((t) => t?.ready) ?? this.threads.find(Boolean)
    if (!thread) throw new Error('no handler thread is running')
    const reply = await thread.request({ type: 'validate', artifact })
    if (reply === GONE) throw new Error(`the handler thread stopped while loading ${artifact.endpointName}`)
  }

  async install(
    endpointId: string,
    route: Route,
    limits: EndpointLimits,
    artifact: VersionArtifact,
  ): Promise<SwapResult> {
    const previous = this.served.get(endpointId)
    const slot = previous?.slot ?? this.nextSlot++
    this.slotIds.set(slot, endpointId)
    const endpoint: ServedEndpoint = {
      slot,
      route,
      limits,
      artifact,
      env: artifact.env,
      quarantined: false,
    }
    const replies = await this.broadcast<SwapResult>({ type: 'install', endpoint })
    this.served.set(endpointId, endpoint)
    return { swapped: replies.some((r) => r.swapped), draining: mergeDrains(replies.map((r) => r.draining)) }
  }

  async remove(endpointId: string): Promise<SwapResult> {
    if (!this.served.delete(endpointId)) return { swapped: false, draining: [] }
    const replies = await this.broadcast<SwapResult>({ type: 'remove', endpointId })
    return { swapped: false, draining: mergeDrains(replies.map((r) => r.draining)) }
  }

  async update(endpointId: string, route: Route, limits: EndpointLimits): Promise<void> {
    const served = this.served.get(endpointId)
    if (!served) return
    served.route = route
    served.limits = limits
    await this.broadcast({ type: 'update', endpointId, route, limits })
  }

  /** Keeps the endpoint routed but answered 503 `endpoint_quarantined`, in every thread. */
  async quarantine(endpointId: string): Promise<void> {
    const served = this.served.get(endpointId)
    if (!served) return
    served.quarantined = true
    await this.broadcast({ type: 'quarantine', endpointId })
  }

  /** Drops every thread's cached callers of protected endpoints; resolves once all answered. */
  async forgetCredentials(): Promise<void> {
    await this.broadcast({ type: 'auth-forget' }, STATS_WAIT_MS)
  }

  async drainingOf(endpointId: string): Promise<DrainReport[]> {
    return mergeDrains(await this.broadcast<DrainReport[]>({ type: 'draining', endpointId }, STATS_WAIT_MS))
  }

  /** Sums every thread's numbers, and folds what they counted since the last pull into the metrics. */
  async stats(): Promise<GatewayStats & { requests_handled: number }> {
    const replies = await this.broadcast<ThreadStats>({ type: 'stats' }, STATS_WAIT_MS)
    const out: GatewayStats = {
      loaded: this.served.size,
      draining: 0,
      active_requests: 0,
      draining_requests: 0,
      quarantined: [...this.served.values()].filter((s) => s.quarantined).length,
      threads: this.threadCount,
      thread_restarts: this.restarts,
    }
    for (const reply of replies) {
      this.requestsHandled += reply.requestsHandled
      out.draining += reply.draining
      out.active_requests += reply.activeRequests
      out.draining_requests += reply.drainingRequests
      for (const [name, counts] of Object.entries(reply.series)) this.options.metrics.series(name).add(counts)
    }
    return { ...out, requests_handled: this.requestsHandled }
  }

  /** Stops accepting in every thread, lets them drain for `drainMs`, then ends whatever is left. */
  async close(drainMs: number): Promise<void> {
    this.closing = true
    if (this.watchdog) clearInterval(this.watchdog)
    await Promise.all(
      this.threads.map(async (thread) => {
        if (!thread) return
        thread.stopping = true
        // A stuck thread never answers: it does not hold shutdown past the drain timeout.
        await thread.request({ type: 'close', drainMs }, drainMs + 1000).catch(() => undefined)
        await thread.terminate()
      }),
    )
  }

  private async broadcast<T>(
    command: Parameters<HandlerThread['request']>[0],
    timeoutMs?: number,
  ): Promise<T[]> {
    const replies: Array<T | typeof GONE | undefined> = await Promise.all(
      this.threads.map((thread) => thread?.request<T>(command, timeoutMs)),
    )
    const answered: T[] = []
    for (const reply of replies) if (reply !== undefined && reply !== GONE) answered.push(reply)
    return answered
  }

  private spawn(index: number, listen: boolean): Promise<number> {
    const init = {
      listen,
      index,
      gatewayPort: this.port,
      gatewayHost: this.options.gatewayHost,
      headersTimeoutMs: this.options.headersTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      authCacheMs: this.options.authCacheMs,
      liveness: newLivenessBuffer(),
      endpoints: [...this.served.values()],
    }
    return new Promise((resolve, reject) => {
      const thread = new HandlerThread(init, { heapLimitMb: this.options.heapLimitMb }, (from, event) => {
        if (event.type === 'ready') {
          from.ready = true
          resolve(event.port)
        } else this.onEvent(from, event)
      })
      this.threads[index] = thread
      let outOfMemory = false
      thread.worker.on('error', (error: Error & { code?: string }) => {
        outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        if (!thread.ready) reject(error)
        else this.options.logger.error({ thread: index, err: error }, 'a handler thread failed')
      })
      thread.worker.on('exit', (code) => {
        if (this.threads[index] === thread) this.threads[index] = undefined
        if (!thread.ready)
          reject(new Error(`handler thread ${index} exited with code ${code} before listening`))
        if (this.closing) return
        if (outOfMemory) this.struck(thread, 'its handler thread ran out of heap (EDGEFORGE_THREAD_HEAP_MB)')
        else if (!thread.verdict)
          this.options.logger.error({ thread: index, code }, 'a handler thread exited')
        this.replace(index)
      })
    })
  }

  private replace(index: number): void {
    this.restarts += 1
    this.spawn(index, this.listening).then(
      () => this.options.logger.info({ thread: index }, 'handler thread replaced'),
      (error: unknown) => {
        this.options.logger.error(
          { thread: index, err: error },
          'a replacement handler thread failed to start; retrying',
        )
        if (!this.closing) setTimeout(() => this.replace(index), 1000).unref()
      },
    )
  }

  private watch(): void {
    const now = Date.now()
    for (const thread of this.threads) {
      if (!thread?.ready || thread.stopping) continue
      const verdict = judge(thread.liveness, now, this.options.stuckGraceMs, this.options.stallMs)
      if (!verdict) continue
      thread.verdict = verdict.reason
      this.options.logger.error(
        {
          thread: thread.index,
          endpointId: verdict.slot === undefined ? undefined : this.slotIds.get(verdict.slot),
        },
        `stopping a handler thread: ${verdict.reason}`,
      )
      // The exit handler replaces it; the strike is counted now, while the cells still say whose code it was.
      this.struck(thread, `its handler held the thread: ${verdict.reason}`, verdict.slot)
      void thread.terminate(verdict.reason)
    }
  }

  /** Counts a stopped thread against the endpoint whose code held it; quarantines a repeat offender. */
  private struck(thread: HandlerThread, reason: string, slot?: number): void {
    const endpointId = this.slotIds.get(slot ?? culprit(thread.liveness))
    if (!endpointId || !this.served.has(endpointId)) return
    const name = this.served.get(endpointId)?.artifact.endpointName
    this.options.endpointLogs.append(endpointId, {
      time: Date.now(),
      level: 'error',
      requestId: null,
      version: this.served.get(endpointId)?.artifact.version ?? null,
      message: `handler thread stopped and replaced: ${reason}`,
    })
    const count = this.strikes.add(endpointId, Date.now())
    if (count >= this.options.quarantineAfter) {
      this.strikes.clear(endpointId)
      const why = `quarantined: its handler needed its thread stopped ${count} times within ${Math.round(this.options.quarantineWindowMs / 1000)} s (last: ${reason})`
      this.options.logger.error({ endpoint: name, endpointId }, why)
      this.options.onQuarantine(endpointId, why)
    }
  }

  private onEvent(thread: HandlerThread, event: Event): void {
    switch (event.type) {
      case 'log':
        this.options.endpointLogs.append(event.endpointId, event.entry)
        return
      case 'server-log':
        this.options.logger[event.level](event.fields, event.message)
        return
      case 'calls': {
        let answerer = this.answerers.get(thread)
        if (!answerer) {
          answerer = new CallAnswerer(
            this.options.calls,
            (batch) => thread.send(batch),
            (fields, message) => this.options.logger.error(fields, message),
            'a handler thread call failed',
          )
          this.answerers.set(thread, answerer)
        }
        answerer.answer(event)
        return
      }
      default:
        return
    }
  }
}

/** The endpoint slot the liveness cells blame: the running call's, else the oldest pending request's. */
function culprit(buffer: SharedArrayBuffer): number {
  const cells = new Float64Array(buffer)
  return cells[1] !== 0 ? cells[2] : cells[4]
}

/** One report per old version, its in-flight requests summed over the threads. */
function mergeDrains(lists: DrainReport[][]): DrainReport[] {
  const byVersion = new Map<number, number>()
  for (const list of lists)
    for (const report of list)
      byVersion.set(report.version, (byVersion.get(report.version) ?? 0) + report.in_flight)
  return [...byVersion].map(([version, inFlight]) => ({ version, in_flight: inFlight }))
}
