import type { Job, JobStatus } from '../types.ts'

/** A `jobs` row as both drivers return it (integers as numbers, JSON as text). */
export interface JobRow {
  id: string
  queue: string
  payload: string
  priority: number
  run_at: number
  attempts: number
  max_attempts: number
  status: string
  result: string | null
  last_error: string | null
  progress: number | null
  lease_owner: string | null
  lease_expires_at: number | null
  cancel_requested: number
  dedup_key: string | null
  created_at: number
  started_at: number | null
  finished_at: number | null
  updated_at: number
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    queue: row.queue,
    payload: JSON.parse(row.payload),
    priority: Number(row.priority),
    runAt: Number(row.run_at),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    status: row.status as JobStatus,
    result: row.result === null ? null : JSON.parse(row.result),
    lastError: row.last_error,
    progress: row.progress === null ? null : Number(row.progress),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    cancelRequested: Number(row.cancel_requested) === 1,
    dedupKey: row.dedup_key,
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    updatedAt: Number(row.updated_at),
  }
}

/** The columns a claim returns (see claim.ts): the ones it does not set itself. */
export type ClaimedRow = Pick<
  JobRow,
  | 'id'
  | 'payload'
  | 'priority'
  | 'run_at'
  | 'attempts'
  | 'max_attempts'
  | 'result'
  | 'last_error'
  | 'cancel_requested'
  | 'dedup_key'
  | 'created_at'
  | 'finished_at'
>

/** A just-claimed job: what the claim set (status, lease, start) plus the returned columns. */
export function claimedJob(
  row: ClaimedRow,
  queue: string,
  owner: string,
  now: number,
  leaseExpiresAt: number,
): Job {
  return {
    id: row.id,
    queue,
    payload: JSON.parse(row.payload),
    priority: Number(row.priority),
    runAt: Number(row.run_at),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    status: 'running',
    result: row.result === null ? null : JSON.parse(row.result),
    lastError: row.last_error,
    progress: null,
    leaseOwner: owner,
    leaseExpiresAt,
    cancelRequested: Number(row.cancel_requested) === 1,
    dedupKey: row.dedup_key,
    createdAt: Number(row.created_at),
    startedAt: now,
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    updatedAt: now,
  }
}

/**
 * claimedJob over a row returned as an array, its values in the order of claim.ts's CLAIMED list:
 * id, payload, priority, run_at, attempts, max_attempts, result, last_error, cancel_requested,
 * dedup_key, created_at, finished_at. SQLite returns integers as numbers and JSON as text.
 */
export function claimedJobFromValues(
  values: readonly unknown[],
  queue: string,
  owner: string,
  now: number,
  leaseExpiresAt: number,
): Job {
  const result = values[6] as string | null
  const finishedAt = values[11] as number | null
  return {
    id: values[0] as string,
    queue,
    payload: JSON.parse(values[1] as string),
    priority: values[2] as number,
    runAt: values[3] as number,
    attempts: values[4] as number,
    maxAttempts: values[5] as number,
    status: 'running',
    result: result === null ? null : JSON.parse(result),
    lastError: values[7] as string | null,
    progress: null,
    leaseOwner: owner,
    leaseExpiresAt,
    cancelRequested: values[8] === 1,
    dedupKey: values[9] as string | null,
    createdAt: values[10] as number,
    startedAt: now,
    finishedAt,
    updatedAt: now,
  }
}

/** Claims return rows in no particular order; runners start them in queue order. */
export function byQueueOrder(a: Job, b: Job): number {
  return b.priority - a.priority || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * `jobs` sorted by byQueueOrder, in place. A claim's rows usually come back in that order already
 * (SQLite returns them in rowid order, which is enqueue order for jobs of one priority): one pass
 * checks, and only rows out of order pay for the sort.
 */
export function inQueueOrder(jobs: Job[]): Job[] {
  for (let i = 1; i < jobs.length; i += 1)
    if (byQueueOrder(jobs[i - 1], jobs[i]) > 0) return jobs.sort(byQueueOrder)
  return jobs
}

/** Keeps stored error text bounded: the head says what failed, the stack's tail rarely matters. */
export function clipError(text: string, maxChars = 8192): string {
  return text.length <= maxChars
    ? text
    : `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)`
}
