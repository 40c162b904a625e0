import { ApiError } from '@edgeforge/protocol'

/**
 * Driver errors that mean "the store cannot serve right now" (the PostgreSQL server is
 * unreachable or shutting down, a disk is full) become one ApiError a client can act on: 503
 * `store_unavailable` with a retry hint. The message names the condition in plain words and never
 * carries the driver's text; the original error stays as `cause`, for the server log.
 */

/** What `Retry-After` says for a store that is unavailable: long enough for a restart to begin. */
export const STORE_RETRY_AFTER_SECONDS = 5

export class StoreUnavailableError extends ApiError {
  /** The condition in plain words, e.g. "the PostgreSQL server refuses connections". */
  readonly reason: string

  constructor(reason: string, cause: unknown) {
    super(
      'store_unavailable',
      `the database is unavailable (${reason}); nothing was changed, retry in ${STORE_RETRY_AFTER_SECONDS} s`,
      { retry_after_seconds: STORE_RETRY_AFTER_SECONDS },
    )
    this.reason = reason
    this.cause = cause
  }
}

/** A data dir or database file that cannot be opened at start: names the path and the OS error. */
export class StoreOpenError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause })
    this.name = 'StoreOpenError'
  }
}

// SQLite primary result codes (the low byte of extended ones).
const SQLITE_REASONS: Record<number, string> = {
  8: 'the database file is read-only',
  10: 'a disk I/O error in the data dir',
  13: 'the disk holding the data dir is full',
  14: 'the database file cannot be opened',
}

// PostgreSQL SQLSTATEs that are about the server's condition, not the statement.
const PG_REASONS: Record<string, string> = {
  '53100': 'the PostgreSQL server is out of disk space',
  '53200': 'the PostgreSQL server is out of memory',
  '53300': 'the PostgreSQL server has no connection slots left',
  '57P01': 'the PostgreSQL server is shutting down',
  '57P02': 'the PostgreSQL server is shutting down',
  '57P03': 'the PostgreSQL server is starting up or shutting down',
  '58030': 'an I/O error on the PostgreSQL server',
}

// Socket errors while reaching the PostgreSQL server.
const NET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'the PostgreSQL server refuses connections',
  ECONNRESET: 'the connection to the PostgreSQL server was reset',
  EPIPE: 'the connection to the PostgreSQL server was cut',
  ETIMEDOUT: 'the PostgreSQL server does not answer',
  EHOSTUNREACH: 'the PostgreSQL server cannot be reached',
  ENETUNREACH: 'the PostgreSQL server cannot be reached',
  ENOTFOUND: "the PostgreSQL server's host name does not resolve",
  EAI_AGAIN: "the PostgreSQL server's host name does not resolve",
}

// What pg says when a connection ends under a query or a client is reused after it broke.
const PG_CONNECTION_LOST =
  /^Connection terminated|connection timeout|Client has encountered a connection error|Client was closed/i

/** The plain-words reason an error means the store is unavailable; undefined when it does not. */
export function unavailableReason(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, errcode, message } = error as { code?: unknown; errcode?: unknown; message?: unknown }
  if (typeof errcode === 'number') return SQLITE_REASONS[errcode & 0xff]
  if (typeof code === 'string') {
    if (code.startsWith('08')) return 'the connection to the PostgreSQL server failed'
    const reason = PG_REASONS[code] ?? NET_REASONS[code]
    if (reason) return reason
  }
  if (typeof message === 'string' && PG_CONNECTION_LOST.test(message))
    return 'the connection to the PostgreSQL server was lost'
  return undefined
}

/** The error to throw for a driver error: a StoreUnavailableError, or the error unchanged. */
export function storeError(error: unknown): unknown {
  if (error instanceof ApiError) return error
  const reason = unavailableReason(error)
  return reason === undefined ? error : new StoreUnavailableError(reason, error)
}
