import { QUEUE_NAME_PATTERN } from '@edgeforge/protocol'
import { invalid } from './errors.ts'
import type { BackoffSettings, EnqueueInput, JobStatus, RateLimitSettings } from './types.ts'
import { JOB_STATUSES } from './types.ts'

export const QUEUE_NAME = new RegExp(QUEUE_NAME_PATTERN)
export const PRIORITY_MIN = -32768
export const PRIORITY_MAX = 32767
export const MAX_ATTEMPTS_LIMIT = 100
export const DEDUP_KEY_MAX = 256
export const LOG_LINE_MAX = 4096

export function checkQueueName(queue: unknown, field = 'queue'): string {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw invalid(
      `${field} must be 1-64 characters of a-z, 0-9, '_', '.', '-' starting with a letter or digit (got ${JSON.stringify(queue)})`,
      field,
    )
  }
  return queue
}

export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`, field)
  }
  return value
}

export function checkNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${field} must be a number from ${min} to ${max} (got ${JSON.stringify(value)})`, field)
  }
  return value
}

export function checkStatus(value: unknown): JobStatus {
  if (!JOB_STATUSES.includes(value as JobStatus)) {
    throw invalid(`status must be one of ${JOB_STATUSES.join(', ')} (got ${JSON.stringify(value)})`, 'status')
  }
  return value as JobStatus
}

/** Serializes a payload or result, rejecting what JSON cannot carry and what exceeds the size bound. */
export function toJson(value: unknown, field: string, maxBytes: number): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value === undefined ? null : value)
  } catch (error) {
    throw invalid(`${field} must be JSON-serializable: ${(error as Error).message}`, field)
  }
  if (text === undefined) throw invalid(`${field} must be JSON-serializable (got a ${typeof value})`, field)
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip the exact count while that bound is under the limit.
  if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) {
    throw invalid(`${field} is ${Buffer.byteLength(text)} bytes of JSON; the limit is ${maxBytes}`, field)
  }
  return text
}

export interface NormalizedEnqueue {
  queue: string
  payload: string
  priority: number
  runAt: number
  maxAttempts: number
  dedupKey: string | null
  dedupMode: 'keep' | 'replace'
}

export function normalizeEnqueue(
  input: EnqueueInput,
  now: number,
  defaults: { maxAttempts: number; maxPayloadBytes: number },
): NormalizedEnqueue {
  if (typeof input !== 'object' || input === null) throw invalid('a job needs at least { queue }')
  const queue = checkQueueName(input.queue)
  const priority =
    input.priority === undefined ? 0 : checkInteger(input.priority, 'priority', PRIORITY_MIN, PRIORITY_MAX)
  const maxAttempts =
    input.maxAttempts === undefined
      ? defaults.maxAttempts
      : checkInteger(input.maxAttempts, 'maxAttempts', 1, MAX_ATTEMPTS_LIMIT)
  let runAt = now
  if (input.runAt !== undefined) {
    const at = input.runAt instanceof Date ? input.runAt.getTime() : input.runAt
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw invalid('runAt must be a Date or UTC milliseconds', 'runAt')
    }
    runAt = Math.round(at)
  } else if (input.delayMs !== undefined) {
    runAt = now + checkInteger(input.delayMs, 'delayMs', 0, 10 * 365 * 86_400_000)
  }
  let dedupKey: string | null = null
  if (input.dedupKey !== undefined && input.dedupKey !== null) {
    if (
      typeof input.dedupKey !== 'string' ||
      input.dedupKey.length === 0 ||
      input.dedupKey.length > DEDUP_KEY_MAX
    ) {
      throw invalid(`dedupKey must be a string of 1 to ${DEDUP_KEY_MAX} characters`, 'dedupKey')
    }
    dedupKey = input.dedupKey
  }
  const dedupMode = input.dedupMode ?? 'keep'
  if (dedupMode !== 'keep' && dedupMode !== 'replace') {
    throw invalid(`dedupMode must be 'keep' or 'replace' (got ${JSON.stringify(dedupMode)})`, 'dedupMode')
  }
  const payload = toJson(input.payload, 'payload', defaults.maxPayloadBytes)
  return { queue, payload, priority, runAt, maxAttempts, dedupKey, dedupMode }
}

export function checkBackoff(backoff: BackoffSettings): BackoffSettings {
  checkNumber(backoff.baseSeconds, 'backoff.base_seconds', 0, 86_400 * 30)
  checkNumber(backoff.factor, 'backoff.factor', 1, 100)
  checkNumber(backoff.maxSeconds, 'backoff.max_seconds', 0, 86_400 * 365)
  checkNumber(backoff.jitter, 'backoff.jitter', 0, 1)
  if (backoff.maxSeconds < backoff.baseSeconds) {
    throw invalid('backoff.max_seconds must be at least backoff.base_seconds', 'backoff.max_seconds')
  }
  return backoff
}

export function checkRateLimit(rateLimit: RateLimitSettings | null): RateLimitSettings | null {
  if (rateLimit === null) return null
  checkNumber(rateLimit.perSecond, 'rate_limit.per_second', 0.001, 1_000_000)
  checkInteger(rateLimit.burst, 'rate_limit.burst', 1, 1_000_000)
  return rateLimit
}
