import { conflict, invalid, notFound } from '../errors.ts'
import type { CancelOutcome, JobPage, JobStatus, JobWithLogs, ListJobsInput } from '../types.ts'
import { checkInteger, checkNumber, checkQueueName, checkStatus, LOG_LINE_MAX } from '../validate.ts'
import { type EngineContext, wakeQueue } from './context.ts'
import { LOG_TAIL, logTail } from './logs.ts'
import { type JobRow, toJob } from './rows.ts'

/**
 * Cancels a job: a queued one ends `cancelled` at once; a running one gets `cancel_requested`,
 * which its runner sees (at once in this process, else at its next heartbeat), aborts the
 * handler's signal and reports back, ending `cancelled`. A finished job is left as it is and its
 * status is reported: a late cancel never rewrites history.
 */
export async function cancel(ctx: EngineContext, id: string): Promise<CancelOutcome> {
  const now = ctx.now()
  const row = await ctx.db.get<{ status: JobStatus; cancel_requested: number }>(
    `UPDATE jobs SET
       status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
       cancel_requested = CASE WHEN status = 'running' THEN 1 ELSE cancel_requested END,
       finished_at = CASE WHEN status = 'queued' THEN CAST(? AS BIGINT) ELSE finished_at END,
       updated_at = ?
     WHERE id = ? AND status IN ('queued', 'running')
     RETURNING status, cancel_requested`,
    [now, now, id],
  )
  if (row) return { status: row.status, cancelRequested: Number(row.cancel_requested) === 1, changed: true }
  const current = await ctx.db.get<{ status: JobStatus; cancel_requested: number }>(
    'SELECT status, cancel_requested FROM jobs WHERE id = ?',
    [id],
  )
  if (!current) throw notFound(`no job with id ${id}`)
  return { status: current.status, cancelRequested: Number(current.cancel_requested) === 1, changed: false }
}

// Back to queued with a fresh set of attempts; last_error stays for the record. The NOT EXISTS
// keeps the dedup promise: a job whose key is alive again in another job is not revived.
const RETRY = `UPDATE jobs SET status = 'queued', attempts = 0, run_at = ?, updated_at = ?, finished_at = NULL,
    started_at = NULL, result = NULL, progress = NULL, cancel_requested = 0, lease_owner = NULL, lease_expires_at = NULL
  WHERE id = ? AND status IN ('failed', 'dead', 'cancelled')
    AND (dedup_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.queue = jobs.queue
      AND o.dedup_key = jobs.dedup_key AND o.status IN ('queued', 'running')))
  RETURNING *`

/** Re-queues a `failed`, `dead` or `cancelled` job with its attempts reset to zero. */
export async function retry(ctx: EngineContext, id: string) {
  const now = ctx.now()
  const row = await ctx.db.get<JobRow>(RETRY, [now, now, id])
  if (row) {
    await wakeQueue(ctx, ctx.db, row.queue, now)
    return toJob(row)
  }
  const current = await ctx.db.get<{ status: JobStatus; dedup_key: string | null }>(
    'SELECT status, dedup_key FROM jobs WHERE id = ?',
    [id],
  )
  if (!current) throw notFound(`no job with id ${id}`)
  if (current.status === 'failed' || current.status === 'dead' || current.status === 'cancelled') {
    throw conflict(
      `job ${id} cannot be retried while another job with dedup key ${current.dedup_key} is alive`,
      {
        status: current.status,
      },
    )
  }
  throw conflict(`job ${id} is ${current.status}; only failed, dead or cancelled jobs can be retried`, {
    status: current.status,
  })
}

/** Re-queues every `failed` job of a queue; returns how many. */
export async function retryFailed(ctx: EngineContext, queue: string): Promise<number> {
  checkQueueName(queue)
  const now = ctx.now()
  const { changes } = await ctx.db.run(
    `UPDATE jobs SET status = 'queued', attempts = 0, run_at = ?, updated_at = ?, finished_at = NULL,
       started_at = NULL, result = NULL, progress = NULL, lease_owner = NULL, lease_expires_at = NULL
     WHERE queue = ? AND status = 'failed' AND dedup_key IS NULL`,
    [now, now, queue],
  )
  let count = changes
  // Keyed jobs one by one: two failed jobs may share a key that only one of them may hold alive.
  const keyed = await ctx.db.all<{ id: string }>(
    "SELECT id FROM jobs WHERE queue = ? AND status = 'failed' AND dedup_key IS NOT NULL",
    [queue],
  )
  for (const { id } of keyed) {
    if (await ctx.db.get(RETRY, [now, now, id])) count += 1
  }
  if (count > 0) await wakeQueue(ctx, ctx.db, queue, now)
  return count
}

/** Deletes a job that is not running (cancel a running one first); its log goes with it. */
export async function deleteJob(ctx: EngineContext, id: string): Promise<void> {
  const { changes } = await ctx.db.run("DELETE FROM jobs WHERE id = ? AND status <> 'running'", [id])
  if (changes > 0) return
  const current = await ctx.db.get<{ status: JobStatus }>('SELECT status FROM jobs WHERE id = ?', [id])
  if (!current) throw notFound(`no job with id ${id}`)
  throw conflict(`job ${id} is running; cancel it first, then delete it`, { status: current.status })
}

/** A job with the tail of its log (the last LOG_TAIL lines); `GET /jobs/{id}/log` pages the rest. */
export async function getJob(ctx: EngineContext, id: string): Promise<JobWithLogs> {
  const row = await ctx.db.get<JobRow>('SELECT * FROM jobs WHERE id = ?', [id])
  if (!row) throw notFound(`no job with id ${id}`)
  const tail = await logTail(ctx, id, LOG_TAIL)
  return {
    ...toJob(row),
    logs: tail.lines.map((log) => ({ at: log.at, line: log.line })),
    logLines: tail.total,
  }
}

export function encodeToken(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

function decodeToken(token: string): string {
  const id = Buffer.from(token, 'base64url').toString('utf8')
  if (!/^[0-9a-f-]{36}$/.test(id))
    throw invalid('continuation_token is not one this server handed out', 'continuation_token')
  return id
}

// The listing indexes hold only the states nobody claims (migrations: sqlite 0021, postgres 0033);
// SQLite uses a partial index only when the query repeats its condition word for word, and
// PostgreSQL's generic plans only when the condition is a literal, not a parameter.
const LISTING_CONDITION = "status <> 'queued' AND status <> 'running' AND status <> 'succeeded'"
const LISTED = new Set(['failed', 'dead', 'cancelled'])

/** Jobs in id order (= creation order), optionally of one queue and status, a page at a time. */
export async function listJobs(ctx: EngineContext, input: ListJobsInput = {}): Promise<JobPage> {
  const where: string[] = []
  const params: Array<string | number> = []
  if (input.queue !== undefined) {
    where.push('queue = ?')
    params.push(checkQueueName(input.queue))
  }
  let status: JobStatus | undefined
  if (input.status !== undefined) {
    status = checkStatus(input.status)
    // A literal for the queued path: a partial index is usable only when the query's WHERE names
    // its condition (jobs_claim: status = 'queued'), not a parameter.
    if (status === 'queued') where.push("status = 'queued'")
    else {
      where.push('status = ?')
      params.push(status)
    }
    // The listing indexes leave out the hot path's states (migrations: postgres 0033, sqlite 0021).
    if (LISTED.has(status)) where.push(LISTING_CONDITION)
  }
  if (input.continuationToken) {
    where.push('id > ?')
    params.push(decodeToken(input.continuationToken))
  }
  const limit = input.limit === undefined ? 50 : checkInteger(input.limit, 'limit', 1, 1000)
  params.push(limit + 1)
  const filter = where.length ? ` WHERE ${where.join(' AND ')}` : ''
  // SQLite, queued jobs: the page's rowids from the claim index (it holds every queued row's queue,
  // id and rowid, so the ids are sorted without reading the rows), then those rows.
  const sql =
    ctx.db.dialect === 'sqlite' && status === 'queued'
      ? `SELECT * FROM jobs WHERE rowid IN (SELECT rowid FROM jobs INDEXED BY jobs_claim${filter} ORDER BY id LIMIT ?) ORDER BY id`
      : `SELECT * FROM jobs${filter} ORDER BY id LIMIT ?`
  const rows = await ctx.db.all<JobRow>(sql, params)
  const jobs = rows.slice(0, limit).map(toJob)
  return rows.length > limit ? { jobs, continuationToken: encodeToken(jobs[jobs.length - 1].id) } : { jobs }
}

/**
 * Adds a line at the end of a job's log (clipped to 4 KiB), waiting for the store. On PostgreSQL
 * the job is locked FOR KEY SHARE, as appendLogLines does (jobs/sql/logs.ts).
 */
export async function appendLog(ctx: EngineContext, jobId: string, line: string): Promise<void> {
  const text = String(line)
  const clipped = text.length > LOG_LINE_MAX ? `${text.slice(0, LOG_LINE_MAX)}…` : text
  const { changes } = await ctx.db.run(
    `INSERT INTO job_logs (job_id, seq, at, line)
       SELECT id, coalesce((SELECT max(seq) + 1 FROM job_logs WHERE job_id = ?), 0), CAST(? AS BIGINT), CAST(? AS TEXT)
       FROM jobs WHERE id = ?${ctx.db.dialect === 'postgres' ? ' FOR KEY SHARE' : ''}`,
    [jobId, ctx.now(), clipped, jobId],
  )
  if (changes === 0) throw notFound(`no job with id ${jobId}`)
}

/** Records a running job's progress (0..1); returns false when the job is no longer running. */
export async function setProgress(ctx: EngineContext, jobId: string, fraction: number): Promise<boolean> {
  checkNumber(fraction, 'progress', 0, 1)
  const { changes } = await ctx.db.run(
    "UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ? AND status = 'running'",
    [fraction, ctx.now(), jobId],
  )
  if (changes > 0) return true
  if (!(await ctx.db.get('SELECT 1 AS found FROM jobs WHERE id = ?', [jobId])))
    throw notFound(`no job with id ${jobId}`)
  return false
}
