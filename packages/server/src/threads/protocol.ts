import type { HttpVersion } from '../deploy/ports.ts'
import type { DrainReport, EndpointLimits, Route } from '../gateway/index.ts'
import type { EndpointLogEntry } from '../observability/endpoint-logs.ts'
import type { SeriesCounts } from '../observability/series.ts'
import type { CallBatch, ResultBatch } from './wire.ts'

/**
 * The messages between the supervisor (main thread) and a handler thread. Every request from the
 * supervisor carries an `id` its reply repeats; everything a thread starts itself (log lines,
 * calls into the main thread's services) goes through the same port.
 */

/** What a thread needs to load and serve one version of an HTTP endpoint. */
export type VersionArtifact = HttpVersion

/** An endpoint as every thread serves it. */
export interface ServedEndpoint {
  /** The supervisor's small number for the endpoint: what the watchdog's shared memory names. */
  slot: number
  route: Route
  limits: EndpointLimits
  artifact: VersionArtifact
  /** Per-endpoint environment (secrets included), handed to the handler as `ctx.env`; the artifact's. */
  env: Record<string, string>
  /** Answered 503 `endpoint_quarantined` instead of being run. */
  quarantined: boolean
}

export interface ThreadInit {
  index: number
  gatewayPort: number
  gatewayHost: string
  headersTimeoutMs: number
  requestTimeoutMs: number
  /** Written by the thread, read by the supervisor's watchdog (see threads/liveness.ts). */
  liveness: SharedArrayBuffer
  /** What a replacement thread serves from its first connection on. */
  endpoints: ServedEndpoint[]
  /** How long the thread reuses a protected endpoint's caller (threads/auth-cache.ts). */
  authCacheMs: number
  /** Listen on `gatewayPort` at once (a replacement); otherwise wait for a `listen` command. */
  listen: boolean
}

/** Supervisor → thread. */
export type Command =
  | { type: 'install'; id: number; endpoint: ServedEndpoint }
  | { type: 'remove'; id: number; endpointId: string }
  | { type: 'update'; id: number; endpointId: string; route: Route; limits: EndpointLimits }
  | { type: 'quarantine'; id: number; endpointId: string }
  | { type: 'validate'; id: number; artifact: VersionArtifact }
  | { type: 'draining'; id: number; endpointId: string }
  | { type: 'stats'; id: number }
  /** A client changed: drop the cached callers of protected endpoints. */
  | { type: 'auth-forget'; id: number }
  | { type: 'listen'; id: number; port: number }
  | { type: 'close'; id: number; drainMs: number }
  /** Answers to the thread's `calls` (threads/wire.ts). */
  | ResultBatch

/** A HandlerError (or any failure) as it crosses threads. */
export interface WireError {
  /** `handler`: a HandlerError (status, code); `service`: a ServiceError (service, code); else a plain Error. */
  kind?: 'handler' | 'service'
  service?: string
  message: string
  /** The cause's message (a backend's reason): the endpoint log shows it, as on the main thread. */
  cause?: string
  status?: number
  code?: string
  retryAfterSeconds?: number
}

export interface ThreadStats {
  /** Since the last stats call. */
  requestsHandled: number
  loaded: number
  draining: number
  activeRequests: number
  drainingRequests: number
  /** Per endpoint name, what was counted since the last stats call. */
  series: Record<string, SeriesCounts>
}

/** Thread → supervisor. */
export type Event =
  | { type: 'ready'; port: number }
  | { type: 'reply'; id: number; ok: true; value?: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'log'; endpointId: string; entry: EndpointLogEntry }
  | { type: 'server-log'; level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }
  /** Calls into the main thread (services.call, jobs.enqueue, auth.principal), one turn's as one batch (threads/wire.ts). */
  | CallBatch

export type SwapReply = { swapped: boolean; draining: DrainReport[] }
