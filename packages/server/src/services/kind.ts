import type { Readable } from 'node:stream'
import type { ConnectionFactory } from './actor.ts'

/** What a handler-side client is: the SDK interface a kind's operations serve. */
export type ServiceFamily = 'database' | 'cache' | 'storage' | 'files' | 'email'

export type FieldType = 'string' | 'integer' | 'boolean'

/** One config field of a kind: validated on create and update, documented in docs/services.md. */
export interface FieldSpec {
  name: string
  type: FieldType
  required?: boolean
  default?: string | number | boolean
  /** Write-only: stored, never returned by the API or written to a log. */
  secret?: boolean
  choices?: readonly string[]
  min?: number
  max?: number
  help: string
}

/** A service's config with defaults filled in and its secrets merged, as a kind reads it. */
export type ResolvedConfig = Record<string, string | number | boolean | undefined>

/** What a kind may need from the server. */
export interface KindEnvironment {
  /** Where `sqlite` files and `filesystem` objects live (under the data dir). */
  dataDir: string
  /** Signs `filesystem` presigned URLs; the control plane checks them. */
  signUrl(service: string, key: string, seconds: number): string
}

/** One operation: runs on a pooled connection with the arguments the handler passed. */
export type Operation<C> = (connection: C, args: readonly unknown[]) => Promise<unknown>

/**
 * A kind of service (`postgres`, `redis`, `s3`, …): its config fields, how it connects, and the
 * operations a handler can send it. The actor around it supplies pooling, queueing and timeouts,
 * so a kind is only the backend's own calls.
 */
export interface ServiceKind<C = unknown> {
  type: string
  family: ServiceFamily
  fields: readonly FieldSpec[]
  /** The pool size when the config gives none; 1 where the backend takes one caller at a time. */
  defaultPoolSize: number
  /** The largest pool the backend makes sense with (sqlite: 1). */
  maxPoolSize?: number
  /** Operations one connection runs at once (default 1); protocols that pipeline take more. */
  operationsPerConnection?: number
  connector(service: string, config: ResolvedConfig, env: KindEnvironment): ConnectionFactory<C>
  operations: Readonly<Record<string, Operation<C>>>
  /** A cheap round trip, for `POST /api/services/{id}/test`. */
  ping(connection: C): Promise<void>
  /**
   * For storage: objects streamed in and out without holding them whole (the built-in object
   * routes use these on the main thread; they are not operations, so the caller seam cannot
   * reach them with a stream it could not clone).
   */
  streams?: ObjectStreams<C>
  /** For databases: statements that begin, commit and roll back a transaction. */
  transactions?: {
    begin(connection: C): Promise<void>
    commit(connection: C): Promise<void>
    rollback(connection: C): Promise<void>
  }
}

/** An object read as a stream: its bytes, type and length. */
export interface ObjectStream {
  body: Readable
  contentType: string
  size: number
}

export interface ObjectStreams<C> {
  /** Writes `source` to `key` to its end; a reader never sees half an object. Resolves with the bytes written. */
  write(connection: C, key: string, source: Readable, contentType: string): Promise<{ size: number }>
  /** Opens `key` for reading; null when missing. */
  read(connection: C, key: string): Promise<ObjectStream | null>
}

/** Fields every kind has: the actor's knobs. */
export const ACTOR_FIELDS: readonly FieldSpec[] = [
  {
    name: 'pool_size',
    type: 'integer',
    min: 1,
    max: 1000,
    help: 'Connections at most (the default depends on the kind)',
  },
  {
    name: 'max_queue',
    type: 'integer',
    default: 100,
    min: 0,
    max: 100_000,
    help: 'Operations that may wait for a connection; past it a handler gets 503 service_busy',
  },
  {
    name: 'operation_timeout_ms',
    type: 'integer',
    default: 10_000,
    min: 1,
    max: 600_000,
    help: 'Time from submitting an operation to its answer, queue wait included; past it 504 service_timeout',
  },
]

/** Reads a string field that validation has already checked. */
export function str(config: ResolvedConfig, name: string): string {
  const value = config[name]
  return value === undefined ? '' : String(value)
}

export function int(config: ResolvedConfig, name: string): number {
  return Number(config[name])
}

export function bool(config: ResolvedConfig, name: string): boolean {
  return config[name] === true
}

/** Error codes of Node's sockets that mean the connection is gone, not that the call was refused. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
])

export function isSocketError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && SOCKET_CODES.has(code)
}
