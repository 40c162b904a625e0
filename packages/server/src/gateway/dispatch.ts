import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type CallerAuth, isHandlerError, type JobsClient, Request, Response } from '@edgeforge/sdk'
import type { EndpointLogEntry, EndpointLogs } from '../observability/endpoint-logs.ts'
import { requestIdFor } from '../observability/request-id.ts'
import { Exchange, type ExchangeHost, PendingExchanges } from './exchange.ts'
import { type Head, hostOf, IncomingInit, readBody, readHead, TOO_LARGE } from './incoming.ts'
import type { HandlerVersion, RequestSeries, EndpointSlot as Slot } from './registry.ts'
import type { RouterSnapshot } from './router.ts'

/** What console.* inside a handler needs to attribute a line to its request. */
export interface RequestScope {
  /** The request id, or the job id when a job handler runs. */
  requestId: string
  version: Pick<HandlerVersion, 'endpointId' | 'version'>
}

/** The request a handler's console.* call belongs to, without threading it through user code. */
export const requestScope = new AsyncLocalStorage<RequestScope>()

export interface RequestMetrics {
  /** The series an endpoint's requests are recorded in. */
  series(endpointName: string): RequestSeries
}

/** Checks a protected endpoint's caller (auth/gate.ts): synchronous when the credential is cached. */
export interface EndpointGuard {
  check(authorization: string | undefined, required: readonly string[]): GateVerdict | Promise<GateVerdict>
}

export type GateVerdict =
  | { ok: true; auth: CallerAuth }
  | { ok: false; error: { status: number; toBody(): { error: { code: string; message: string } } } }

/** Where the dispatcher reports a handler call that runs synchronously (threads/liveness.ts). */
export interface CallWatch {
  /** `deadline` in epoch ms; `slot` the version's watchSlot. */
  enter(deadline: number, slot: number): void
  exit(): void
  /** The handler returned a promise that must settle by `deadline` (epoch ms). */
  pending(deadline: number, slot: number): void
}

/** The server log as the data plane uses it: pino's, or a handler thread's forwarder. */
export interface LogSink {
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

export interface DispatcherOptions {
  router: () => RouterSnapshot
  /** Needed by endpoints with `auth`; without it they answer 503 (closed, never open). */
  guard?: EndpointGuard
  endpointLogs: Pick<EndpointLogs, 'append'>
  logger: LogSink
  jobs: JobsClient
  metrics?: RequestMetrics
  /** Set in a handler thread: lets the supervisor see a handler call that never returns. */
  watch?: CallWatch
}

/** performance.timeOrigin is a getter into the runtime: read once, it turns monotonic ms into epoch ms. */
const TIME_ORIGIN = performance.timeOrigin
/** Reused for every request: `readHead` fills it and `handle` reads it before anything can run in between. */
const head: Head = { requestId: undefined, hasBody: false }

/**
 * The data plane's request path: match, read the body, call the current handler version, write
 * the response. It does as little as it can per request; everything else happens at deploy time.
 */
export class Dispatcher implements ExchangeHost {
  requestsHandled = 0
  readonly jobs: JobsClient
  private readonly options: DispatcherOptions
  /** Exchanges whose handler is still pending: one coarse sweep enforces their timeouts. */
  private readonly pending = new PendingExchanges()
  private sweeper: NodeJS.Timeout | undefined
  private readonly watch: CallWatch | undefined

  constructor(options: DispatcherOptions) {
    this.options = options
    this.jobs = options.jobs
    this.watch = options.watch
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.requestsHandled += 1
    readHead(req.rawHeaders, head)
    const requestId = requestIdFor(head.requestId)
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const method = req.method ?? 'GET'
    const router = this.options.router()
    const match = router.find(method, path, router.needsHost ? hostOf(req) : '')
    if (!match) {
      this.unmatched(req, res, router, method, path, hostOf(req), requestId)
      return
    }
    const { store: slot, params } = match
    if (slot.quarantined === true) {
      this.quarantined(req, res, slot.current.endpointName, requestId)
      return
    }
    const required = slot.limits.authScopes
    if (required) {
      this.guarded(req, res, slot, params, required, requestId, head.hasBody, method, path, url, q)
      return
    }
    this.serve(req, res, slot, params, requestId, head.hasBody, method, path, url, q, null)
  }

  /** Checks the caller of a protected endpoint, then serves it, or answers 401/403 (or 503). */
  private guarded(
    req: IncomingMessage,
    res: ServerResponse,
    slot: Slot,
    params: Record<string, string>,
    required: readonly string[],
    requestId: string,
    hasBody: boolean,
    method: string,
    path: string,
    url: string,
    q: number,
  ): void {
    const guard = this.options.guard
    if (!guard) {
      sendError(res, 503, 'service_unavailable', 'this gateway cannot check credentials', requestId)
      req.resume()
      return
    }
    const admit = (verdict: GateVerdict) => {
      if (verdict.ok) {
        this.serve(req, res, slot, params, requestId, hasBody, method, path, url, q, verdict.auth)
        return
      }
      const body = { ...verdict.error.toBody(), request_id: requestId }
      res.writeHead(verdict.error.status, { 'content-type': 'application/json', 'x-request-id': requestId })
      res.end(JSON.stringify(body))
      req.resume()
    }
    const verdict = guard.check(rawHeader(req.rawHeaders, 'authorization'), required)
    if (verdict instanceof Promise)
      verdict.then(admit, (error: unknown) => {
        this.options.logger.error({ err: error, requestId }, 'checking a credential failed')
        sendError(res, 500, 'internal', 'the gateway failed to check the credential', requestId)
        req.resume()
      })
    else admit(verdict)
  }

  private serve(
    req: IncomingMessage,
    res: ServerResponse,
    slot: Slot,
    params: Record<string, string>,
    requestId: string,
    hasBody: boolean,
    method: string,
    path: string,
    url: string,
    q: number,
    auth: CallerAuth | null,
  ): void {
    const version = slot.current
    version.acquire()
    const exchange = new Exchange(this, version, res, requestId, performance.now())
    if (auth) exchange.auth = auth
    const limits = slot.limits
    const init = new IncomingInit(req, method, path, q === -1 ? '' : url.slice(q + 1), params, requestId)
    if (!hasBody) {
      this.invoke(exchange, new Request(init), limits.timeoutMs)
      return
    }
    readBody(req, limits.bodyLimitBytes).then(
      (body) => {
        if (body === TOO_LARGE) {
          const message = `request body exceeds this endpoint's limit of ${limits.bodyLimitBytes} bytes`
          this.finishWithError(exchange, 413, 'payload_too_large', message)
          return
        }
        init.body = body
        this.invoke(exchange, new Request(init), limits.timeoutMs)
      },
      (error: unknown) => {
        this.options.logger.warn({ err: error, requestId }, 'reading a request body failed')
        this.finishWithError(exchange, 400, 'bad_request', 'the request body could not be read')
      },
    )
  }

  inScope<T>(exchange: Exchange, fn: () => T): T {
    return requestScope.run(exchange, fn)
  }

  private invoke(exchange: Exchange, request: Request, timeoutMs: number): void {
    const { version } = exchange
    if (version.expired) {
      // Its body arrived after the version's drain timeout: the version takes no more work.
      this.cutOff(exchange)
      return
    }
    let result: unknown
    const watch = this.watch
    watch?.enter(TIME_ORIGIN + exchange.startedAt + timeoutMs, version.watchSlot)
    try {
      result = version.usesConsole
        ? requestScope.run(exchange, version.fn, request, exchange)
        : version.fn(request, exchange)
    } catch (error) {
      watch?.exit()
      this.finish(exchange, this.errorResponse(error, exchange))
      return
    }
    watch?.exit()
    if (!isThenable(result)) {
      this.finish(exchange, result)
      return
    }
    exchange.timeoutMs = timeoutMs
    // Counted from the request's arrival (a body's read time included): no second clock read.
    exchange.deadline = exchange.startedAt + timeoutMs
    this.pending.add(exchange)
    watch?.pending(TIME_ORIGIN + exchange.deadline, version.watchSlot)
    this.sweeper ??= setInterval(this.sweep, SWEEP_MS).unref()
    result.then(
      (response) => this.finish(exchange, response),
      (error: unknown) => this.finish(exchange, this.errorResponse(error, exchange)),
    )
  }

  /** Answers 504 for every pending handler past its deadline; stops itself when none is pending. */
  private readonly sweep = (): void => {
    const now = performance.now()
    let next: Exchange | undefined
    for (let exchange = this.pending.first; exchange; exchange = next) {
      next = exchange.nextPending
      if (exchange.deadline > now) continue
      const { timeoutMs } = exchange
      exchange.abort(new Error(`handler timed out after ${timeoutMs} ms`))
      this.appendLog(
        exchange.version,
        exchange.requestId,
        'error',
        `request timed out after ${timeoutMs} ms (504)`,
      )
      this.finishWithError(
        exchange,
        504,
        'handler_timeout',
        `the handler did not answer within ${timeoutMs} ms`,
      )
    }
    if (this.pending.size === 0 && this.sweeper) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }

  /** The pending request whose deadline comes first (epoch ms), for the thread's heartbeat. */
  oldestPending(): { deadline: number; slot: number } | undefined {
    let oldest: Exchange | undefined
    for (let exchange = this.pending.first; exchange; exchange = exchange.nextPending) {
      if (!oldest || exchange.deadline < oldest.deadline) oldest = exchange
    }
    return oldest && { deadline: TIME_ORIGIN + oldest.deadline, slot: oldest.version.watchSlot }
  }

  private quarantined(req: IncomingMessage, res: ServerResponse, name: string, requestId: string): void {
    res.setHeader('retry-after', '60')
    sendError(
      res,
      503,
      'endpoint_quarantined',
      `endpoint ${name} is quarantined: its handler kept stopping its thread; an operator must start it again`,
      requestId,
    )
    req.resume()
  }

  /**
   * A draining version's drain timeout passed: its pending requests get their `ctx.signal`
   * aborted, and those that still have not answered once the abort listeners ran get a 503, which
   * releases the version.
   */
  readonly expire = (version: HandlerVersion): void => {
    const reason = new Error(
      `version ${version.version} of ${version.endpointName} was replaced and its drain timeout passed`,
    )
    for (let exchange = this.pending.first; exchange; exchange = exchange.nextPending) {
      if (exchange.version === version) exchange.abort(reason)
    }
    setImmediate(() => {
      let next: Exchange | undefined
      for (let exchange = this.pending.first; exchange; exchange = next) {
        next = exchange.nextPending
        if (exchange.version === version) this.cutOff(exchange)
      }
    })
  }

  private cutOff(exchange: Exchange): void {
    const { version } = exchange
    this.appendLog(
      version,
      exchange.requestId,
      'warn',
      `request cut off: version ${version.version} was replaced and did not finish within its drain timeout (503)`,
    )
    exchange.res.setHeader('retry-after', '1')
    this.finishWithError(
      exchange,
      503,
      'drain_timeout',
      'the version serving this request was replaced and did not finish within its drain timeout; retry the request',
    )
  }

  private finish(exchange: Exchange, outcome: unknown): void {
    if (exchange.done) return
    if (!(outcome instanceof Response)) {
      const message = `handler returned ${describe(outcome)} instead of a Response`
      this.appendLog(exchange.version, exchange.requestId, 'error', message)
      this.finishWithError(
        exchange,
        500,
        'internal',
        `handler returned no Response (request ${exchange.requestId})`,
      )
      return
    }
    this.settle(exchange, outcome.status)
    try {
      writeResponse(exchange.res, outcome, exchange.requestId)
    } catch (error) {
      this.options.logger.error({ err: error, requestId: exchange.requestId }, 'writing a response failed')
      if (!exchange.res.headersSent)
        sendError(exchange.res, 500, 'internal', 'the gateway failed to answer', exchange.requestId)
      else exchange.res.destroy()
    }
  }

  private finishWithError(exchange: Exchange, status: number, code: string, message: string): void {
    if (exchange.done) return
    this.settle(exchange, status)
    sendError(exchange.res, status, code, message, exchange.requestId)
  }

  /**
   * The request is about to be answered with `status`: release its version and count it. The
   * status is passed in because the response is written after this, so `res.statusCode` would
   * still be node's default 200.
   */
  private settle(exchange: Exchange, status: number): void {
    exchange.done = true
    if (exchange.deadline !== 0) this.pending.delete(exchange)
    const { version } = exchange
    version.release()
    const metrics = this.options.metrics
    if (metrics) {
      version.series ??= metrics.series(version.endpointName)
      version.series.observe(status, (performance.now() - exchange.startedAt) / 1000)
    }
  }

  private unmatched(
    req: IncomingMessage,
    res: ServerResponse,
    router: RouterSnapshot,
    method: string,
    path: string,
    host: string,
    requestId: string,
  ): void {
    const allowed = router.allowedMethods(path, host)
    if (allowed.length > 0) {
      res.setHeader('allow', allowed.join(', '))
      sendError(
        res,
        405,
        'method_not_allowed',
        `${method} is not allowed here; use ${allowed.join(', ')}`,
        requestId,
      )
    } else {
      sendError(res, 404, 'not_found', `no endpoint serves ${method} ${path}`, requestId)
    }
    req.resume()
  }

  private errorResponse(error: unknown, exchange: Exchange): Response {
    const { version, requestId } = exchange
    if (isHandlerError(error)) return error.toResponse(requestId)
    const stack = error instanceof Error ? version.mapStack(error.stack ?? String(error)) : String(error)
    this.appendLog(version, requestId, 'error', `unhandled error: ${stack}`)
    this.options.logger.warn(
      { endpoint: version.endpointName, version: version.version, requestId, stack },
      'handler threw',
    )
    return Response.json(500, {
      error: {
        code: 'internal',
        message: `the handler failed; the endpoint log has the details under request ${requestId}`,
      },
      request_id: requestId,
    })
  }

  appendLog(
    version: HandlerVersion,
    requestId: string | null,
    level: EndpointLogEntry['level'],
    message: string,
  ): void {
    this.options.endpointLogs.append(version.endpointId, {
      time: Date.now(),
      level,
      requestId,
      version: version.version,
      message,
    })
  }
}

/** One header from node's flat rawHeaders list, without building `req.headers`. */
function rawHeader(raw: string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return raw[i + 1]
  }
  return undefined
}

/** How often pending handlers are checked against their timeout: a 504 comes at most this late. */
const SWEEP_MS = 25

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

function writeResponse(res: ServerResponse, response: Response, requestId: string): void {
  // The Response belongs to this request alone: its header object is written in one writeHead.
  const headers: Record<string, string | number> = response.headers
  headers['x-request-id'] = requestId
  const body = response.body
  if (body === null || body === undefined) {
    res.writeHead(response.status, headers)
    res.end()
  } else {
    headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
    res.writeHead(response.status, headers)
    res.end(body)
  }
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
): void {
  const body = JSON.stringify({ error: { code, message }, request_id: requestId })
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
  })
  res.end(body)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`
  return `a ${typeof value}`
}
