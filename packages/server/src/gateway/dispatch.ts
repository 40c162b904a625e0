import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { formatWithOptions } from 'node:util'
import { type Context, isHandlerError, type JobsClient, type Logger, Request, Response } from '@edgeforge/sdk'
import { v7 as uuidv7 } from 'uuid'
import type { EndpointLogEntry, EndpointLogs } from '../observability/endpoint-logs.ts'
import type { Logger as ServerLogger } from '../observability/logger.ts'
import type { HandlerVersion } from './registry.ts'
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
  observe(endpointName: string, status: number, seconds: number): void
}

export interface DispatcherOptions {
  router: () => RouterSnapshot
  endpointLogs: EndpointLogs
  logger: ServerLogger
  jobs: JobsClient
  metrics?: RequestMetrics
}

const REQUEST_ID = /^[\w.:-]{1,128}$/

/**
 * The data plane's request path: match, read the body, call the current handler version, write
 * the response. It does as little as it can per request; everything else happens at deploy time.
 */
export class Dispatcher {
  requestsHandled = 0
  private readonly options: DispatcherOptions

  constructor(options: DispatcherOptions) {
    this.options = options
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.requestsHandled += 1
    const given = req.headers['x-request-id']
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7()
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const rawQuery = q === -1 ? '' : url.slice(q + 1)
    const host = hostOf(req)
    const method = req.method ?? 'GET'
    const router = this.options.router()
    const match = router.find(method, path, host)
    if (!match) {
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
      return
    }
    const { slot, params } = match
    const version = slot.current
    version.acquire()
    const started = performance.now()
    this.run(req, res, version, slot.limits, { method, path, rawQuery, params, requestId })
      .catch((error: unknown) => {
        this.options.logger.error({ err: error, requestId }, 'gateway failed to answer a request')
        if (!res.headersSent) sendError(res, 500, 'internal', 'the gateway failed to answer', requestId)
        else res.destroy()
      })
      .finally(() => {
        version.release()
        this.options.metrics?.observe(
          version.endpointName,
          res.statusCode,
          (performance.now() - started) / 1000,
        )
      })
  }

  private async run(
    req: IncomingMessage,
    res: ServerResponse,
    version: HandlerVersion,
    limits: { timeoutMs: number; bodyLimitBytes: number },
    parts: {
      method: string
      path: string
      rawQuery: string
      params: Record<string, string>
      requestId: string
    },
  ): Promise<void> {
    const { requestId } = parts
    const body = await readBody(req, limits.bodyLimitBytes)
    if (body === TOO_LARGE) {
      res.setHeader('connection', 'close')
      sendError(
        res,
        413,
        'payload_too_large',
        `request body exceeds this endpoint's limit of ${limits.bodyLimitBytes} bytes`,
        requestId,
      )
      return
    }
    const request = new Request({
      method: parts.method,
      path: parts.path,
      rawQuery: parts.rawQuery,
      headers: req.headers,
      params: parts.params,
      body,
      clientIp: req.socket.remoteAddress,
      requestId,
    })
    const controller = new AbortController()
    const ctx: Context = {
      requestId,
      signal: controller.signal,
      log: this.loggerFor(version, requestId),
      jobs: this.options.jobs,
    }
    const scope: RequestScope = { requestId, version }
    // Abort listeners run synchronously in the context of whoever aborts: give them the request's
    // scope, so what they write with console.* is logged under the request id.
    const abort = (reason: Error) => requestScope.run(scope, () => controller.abort(reason))
    const onClose = () => {
      if (!res.writableFinished) abort(new Error('client closed the connection'))
    }
    res.once('close', onClose)

    let outcome: unknown
    try {
      const result = requestScope.run(scope, () => version.fn(request, ctx))
      // Only a pending answer needs a timer; a synchronous Response is written at once.
      outcome = isThenable(result) ? await withTimeout(result, limits.timeoutMs) : result
    } catch (error) {
      outcome = this.errorResponse(error, version, requestId)
    }
    if (outcome === TIMED_OUT) {
      abort(new Error(`handler timed out after ${limits.timeoutMs} ms`))
      this.appendLog(version, requestId, 'error', `request timed out after ${limits.timeoutMs} ms (504)`)
      sendError(res, 504, 'timeout', `the handler did not answer within ${limits.timeoutMs} ms`, requestId)
      return
    }
    if (!(outcome instanceof Response)) {
      this.appendLog(
        version,
        requestId,
        'error',
        `handler returned ${describe(outcome)} instead of a Response`,
      )
      sendError(res, 500, 'internal', `handler returned no Response (request ${requestId})`, requestId)
      return
    }
    writeResponse(res, outcome, requestId)
  }

  private errorResponse(error: unknown, version: HandlerVersion, requestId: string): Response {
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

  private loggerFor(version: HandlerVersion, requestId: string): Logger {
    const write =
      (level: EndpointLogEntry['level']) =>
      (...args: unknown[]) =>
        this.appendLog(
          version,
          requestId,
          level,
          formatWithOptions({ breakLength: Number.POSITIVE_INFINITY }, ...args),
        )
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
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

const TIMED_OUT = Symbol('timed out')
const TOO_LARGE = Symbol('too large')
const EMPTY = new Uint8Array(0)

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

function withTimeout(result: PromiseLike<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, TIMED_OUT)
  })
  return Promise.race([result, timeout]).finally(() => clearTimeout(timer))
}

function hostOf(req: IncomingMessage): string {
  const host = req.headers.host
  if (!host) return ''
  const colon = host.lastIndexOf(':')
  // '[::1]:9080' keeps its brackets; 'example.com:9080' loses the port.
  const name = colon > host.lastIndexOf(']') ? host.slice(0, colon) : host
  return name.toLowerCase()
}

function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | typeof TOO_LARGE> {
  const length = req.headers['content-length']
  if (length === undefined && req.headers['transfer-encoding'] === undefined) return Promise.resolve(EMPTY)
  if (length !== undefined && Number(length) > limit) {
    req.resume()
    return Promise.resolve(TOO_LARGE)
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        resolve(TOO_LARGE)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function writeResponse(res: ServerResponse, response: Response, requestId: string): void {
  const headers = response.headers
  for (const name in headers) res.setHeader(name, headers[name])
  res.setHeader('x-request-id', requestId)
  const body = response.body
  res.statusCode = response.status
  if (body === null || body === undefined) {
    res.end()
  } else {
    res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength)
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
