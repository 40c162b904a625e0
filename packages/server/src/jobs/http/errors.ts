import { ApiError } from '@edgeforge/protocol'
import type { QueueEngine } from '../engine/engine.ts'
import type { EnqueueInput } from '../types.ts'
import { normalizeEnqueue } from '../validate.ts'
import { WIRE_FIELDS } from './dto.ts'

/*
 * Error handling of the job routes on top of the control-plane shell's: transient store failures
 * become a 409 to retry, the engine's field names become the wire's, and database locations lose
 * their secrets before they are shown.
 */

// SQLite result codes (the low byte also covers their extended codes): BUSY, LOCKED.
const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6
// PostgreSQL: lock_not_available (lock_timeout, NOWAIT), serialization_failure, deadlock_detected.
const PG_TRANSIENT = new Set(['55P03', '40001', '40P01'])
const TRANSIENT_MESSAGE = /database (table )?is locked|timeout exceeded when trying to connect/i

/** Whether a store error says "busy right now", not "wrong": the same request may well succeed again. */
export function isTransientStoreError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, errcode, message } = error as { code?: unknown; errcode?: unknown; message?: unknown }
  if (typeof errcode === 'number' && ((errcode & 0xff) === SQLITE_BUSY || (errcode & 0xff) === SQLITE_LOCKED))
    return true
  if (typeof code === 'string' && (PG_TRANSIENT.has(code) || code === 'SQLITE_BUSY')) return true
  return typeof message === 'string' && TRANSIENT_MESSAGE.test(message)
}

/**
 * Turns a transient store failure (SQLite busy or locked, a PostgreSQL lock timeout, deadlock or
 * serialization failure, a pool checkout timeout) into a 409 `conflict` that says to retry; any
 * other error is returned as it is, for the shell's mapping (which hides driver messages).
 */
export function mapStoreError(error: unknown): unknown {
  if (!isTransientStoreError(error)) return error
  return new ApiError(
    'conflict',
    'the database is busy (a lock or a connection wait timed out) and the request was not carried out; retry it',
    { retryable: true },
  )
}

/** Renames the engine's field (`maxAttempts`, `backoff.max_seconds`) to where it sits on the wire. */
export function toWire(error: unknown, prefix: string): unknown {
  if (!(error instanceof ApiError) || error.code !== 'validation_failed') return error
  const details = (error.details ?? {}) as { field?: unknown }
  if (typeof details.field !== 'string') return error
  const field = `${prefix}.${WIRE_FIELDS[details.field] ?? details.field}`
  const message = error.message.startsWith(details.field)
    ? field + error.message.slice(details.field.length)
    : error.message
  return new ApiError(error.code, message, { ...details, field })
}

export async function onWire<T>(work: Promise<T>, prefix = 'body'): Promise<T> {
  try {
    return await work
  } catch (error) {
    throw toWire(error, prefix)
  }
}

/** A batch's validation error names no job: find the first one that fails, to say `body.jobs.<i>.<field>`. */
export function locateBatchError(
  engine: QueueEngine,
  error: unknown,
  inputs: readonly EnqueueInput[],
): unknown {
  if (!(error instanceof ApiError) || error.code !== 'validation_failed') return error
  const defaults = {
    maxAttempts: engine.context.defaultMaxAttempts,
    maxPayloadBytes: engine.context.maxPayloadBytes,
  }
  for (const [index, input] of inputs.entries()) {
    try {
      normalizeEnqueue(input, Date.now(), defaults)
    } catch (itemError) {
      return toWire(itemError, `body.jobs.${index}`)
    }
  }
  return toWire(error, 'body')
}
