import type { ServerResponse } from 'node:http'
import type {
  CacheClient,
  CallerAuth,
  Context,
  DatabaseClient,
  EmailClient,
  FilesClient,
  JobsClient,
  Logger,
  RecordsClient,
  StorageClient,
} from '@edgeforge/sdk'
import { type EndpointLogEntry, formatLogLine } from '../observability/endpoint-logs.ts'
import type { HandlerVersion } from './registry.ts'
import { NO_SERVICES } from './services.ts'

/** Where an exchange reports what it logs; the dispatcher. */
export interface ExchangeHost {
  readonly jobs: JobsClient
  appendLog(
    version: HandlerVersion,
    requestId: string | null,
    level: EndpointLogEntry['level'],
    message: string,
  ): void
  /** Runs `fn` as the request's code: console.* inside it is attributed to the request. */
  inScope<T>(exchange: Exchange, fn: () => T): T
}

/**
 * One request in flight: the handler's `Context` and the request's bookkeeping in one object.
 * What most handlers never touch — the AbortSignal, the client-disconnect listener, the logger —
 * is built on first use, so a plain request allocates none of it.
 */
export class Exchange implements Context {
  readonly requestId: string
  readonly version: HandlerVersion
  readonly res: ServerResponse
  readonly startedAt: number
  /** When a pending handler times out (ms on the monotonic clock); 0 while none is pending. */
  deadline = 0
  /** The endpoint's timeout, as configured: what a 504 reports. */
  timeoutMs = 0
  done = false
  /** The caller of a protected endpoint (ctx.auth); null on a public one. */
  auth: CallerAuth | null = null
  /** Neighbours in the dispatcher's list of pending exchanges (see PendingExchanges). */
  prevPending: Exchange | undefined = undefined
  nextPending: Exchange | undefined = undefined
  private readonly host: ExchangeHost
  private controller: AbortController | undefined
  private abortReason: Error | undefined
  private logger: Logger | undefined

  constructor(
    host: ExchangeHost,
    version: HandlerVersion,
    res: ServerResponse,
    requestId: string,
    startedAt: number,
  ) {
    this.host = host
    this.version = version
    this.res = res
    this.requestId = requestId
    this.startedAt = startedAt
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.abortReason) this.controller.abort(this.abortReason)
      else if (!this.done)
        this.res.once('close', () => {
          if (!this.res.writableFinished) this.abort(new Error('client closed the connection'))
        })
    }
    return this.controller.signal
  }

  get log(): Logger {
    if (!this.logger) {
      const write =
        (level: EndpointLogEntry['level']) =>
        (...args: unknown[]) =>
          this.host.appendLog(this.version, this.requestId, level, formatLogLine(args))
      this.logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
    }
    return this.logger
  }

  get env(): Readonly<Record<string, string>> {
    return this.version.env
  }

  get jobs(): JobsClient {
    return this.host.jobs
  }

  database(name: string): DatabaseClient {
    return (this.version.services ?? NO_SERVICES).database(name, this.requestId)
  }

  cache(name: string): CacheClient {
    return (this.version.services ?? NO_SERVICES).cache(name, this.requestId)
  }

  storage(name: string): StorageClient {
    return (this.version.services ?? NO_SERVICES).storage(name, this.requestId)
  }

  files(name: string): FilesClient {
    return (this.version.services ?? NO_SERVICES).files(name, this.requestId)
  }

  email(name: string): EmailClient {
    return (this.version.services ?? NO_SERVICES).email(name, this.requestId)
  }

  records(name: string, collection: string): RecordsClient {
    return (this.version.services ?? NO_SERVICES).records(name, collection, this.requestId)
  }

  /** Aborts the signal (if anyone asked for it) with the request's scope, so abort listeners log under its id. */
  abort(reason: Error): void {
    if (this.abortReason) return
    this.abortReason = reason
    const controller = this.controller
    if (controller) this.host.inScope(this, () => controller.abort(reason))
  }
}

/**
 * The exchanges whose handler has not answered yet, linked through the exchanges themselves:
 * adding and removing one allocates and hashes nothing, unlike a Set.
 */
export class PendingExchanges {
  first: Exchange | undefined = undefined
  size = 0

  add(exchange: Exchange): void {
    exchange.nextPending = this.first
    if (this.first) this.first.prevPending = exchange
    this.first = exchange
    this.size += 1
  }

  /** Removes an exchange that `add` put in. */
  delete(exchange: Exchange): void {
    const { prevPending: prev, nextPending: next } = exchange
    if (prev) prev.nextPending = next
    else this.first = next
    if (next) next.prevPending = prev
    exchange.prevPending = undefined
    exchange.nextPending = undefined
    this.size -= 1
  }
}
