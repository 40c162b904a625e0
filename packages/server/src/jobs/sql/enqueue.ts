import type { Dialect, Queryable } from '../../store/index.ts'
import { conflict } from '../errors.ts'
import type { EnqueueResult, Job } from '../types.ts'
import type { NormalizedEnqueue } from '../validate.ts'
import { JOBS_CHANNEL } from './notifier.ts'
import { type JobRow, toJob } from './rows.ts'

/** A validated job plus the id and clock it is inserted with. */
export interface PreparedJob extends NormalizedEnqueue {
  id: string
  now: number
  /** The caller's payload value, handed back in the result without parsing the JSON again. */
  value: unknown
}

const COLUMNS =
  'id, queue, payload, priority, run_at, attempts, max_attempts, status, dedup_key, cancel_requested, created_at, updated_at'
const VALUES = "VALUES (?, ?, ?, ?, ?, 0, ?, 'queued', ?, 0, ?, ?)"
// PostgreSQL: the notice rides in the insert's own statement and is delivered on commit.
const VALUES_NOTIFY = `SELECT ?::text, ?::text, ?::text, ?::int, ?::bigint, 0, ?::int, 'queued', ?::text, 0, ?::bigint, ?::bigint
  FROM (SELECT pg_notify('${JOBS_CHANNEL}', ?::text)) AS wake`
const ON_LIVE_KEY =
  "ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running')"
const KEEP = `${ON_LIVE_KEY} DO NOTHING`
const REPLACE = `${ON_LIVE_KEY} DO UPDATE SET payload = excluded.payload, priority = excluded.priority,
  run_at = excluded.run_at, max_attempts = excluded.max_attempts, updated_at = excluded.updated_at
  WHERE jobs.status = 'queued' RETURNING *`

type Mode = 'plain' | 'keep' | 'replace'

function insertSql(notify: boolean, mode: Mode): string {
  const tail = mode === 'keep' ? ` ${KEEP}` : mode === 'replace' ? ` ${REPLACE}` : ''
  return `INSERT INTO jobs (${COLUMNS}) ${notify ? VALUES_NOTIFY : VALUES}${tail}`
}

/** Whether an insert should wake runners: only jobs due now; delayed ones are found by the poll. */
function notifies(dialect: Dialect, job: PreparedJob): boolean {
  return dialect === 'postgres' && job.runAt <= job.now
}

function params(job: PreparedJob, notify: boolean) {
  const values = [
    job.id,
    job.queue,
    job.payload,
    job.priority,
    job.runAt,
    job.maxAttempts,
    job.dedupKey,
    job.now,
    job.now,
  ]
  if (notify) values.push(job.queue)
  return values
}

export function freshJob(job: PreparedJob): Job {
  return {
    id: job.id,
    queue: job.queue,
    payload: job.value === undefined ? null : job.value,
    priority: job.priority,
    runAt: job.runAt,
    attempts: 0,
    maxAttempts: job.maxAttempts,
    status: 'queued',
    result: null,
    lastError: null,
    progress: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    dedupKey: job.dedupKey,
    createdAt: job.now,
    startedAt: null,
    finishedAt: null,
    updatedAt: job.now,
  }
}

/**
 * Inserts one job, honouring its dedup key: while a job with the same key is queued or running
 * in the queue, `keep` returns that job and `replace` updates it if it is still queued (a running
 * job cannot be replaced, so it is returned as is). The partial unique index makes the check and
 * the insert one atomic step on both backends.
 */
export async function insertJob(q: Queryable, job: PreparedJob): Promise<EnqueueResult> {
  const notify = notifies(q.dialect, job)
  if (job.dedupKey === null) {
    await q.run(insertSql(notify, 'plain'), params(job, notify))
    return { job: freshJob(job), deduplicated: false, replaced: false }
  }
  // The live job may finish between our insert and our look-up; then the insert wins next round.
  for (let round = 0; round < 5; round += 1) {
    if (job.dedupMode === 'replace') {
      const row = await q.get<JobRow>(insertSql(notify, 'replace'), params(job, notify))
      if (row) {
        const replaced = row.id !== job.id
        return { job: replaced ? toJob(row) : freshJob(job), deduplicated: replaced, replaced }
      }
    } else {
      const { changes } = await q.run(insertSql(notify, 'keep'), params(job, notify))
      if (changes === 1) return { job: freshJob(job), deduplicated: false, replaced: false }
    }
    const live = await q.get<JobRow>(
      "SELECT * FROM jobs WHERE queue = ? AND dedup_key = ? AND status IN ('queued', 'running')",
      [job.queue, job.dedupKey],
    )
    if (live) return { job: toJob(live), deduplicated: true, replaced: false }
  }
  throw conflict(`dedup key ${job.dedupKey} kept changing hands; try again`, { dedup_key: job.dedupKey })
}

const BATCH_PG = `INSERT INTO jobs (${COLUMNS})
  SELECT t.id, t.queue, t.payload, t.priority, t.run_at, 0, t.max_attempts, 'queued', NULL, 0, ?::bigint, ?::bigint
  FROM json_to_recordset(?::json) AS t(id text, queue text, payload text, priority int, run_at bigint, max_attempts int)`

/**
 * Inserts many jobs inside the caller's transaction. Jobs without a dedup key go in one statement
 * on PostgreSQL (a prepared statement per row on SQLite, which costs microseconds); jobs with one
 * go one by one so each sees the ones before it.
 */
export async function insertJobs(q: Queryable, jobs: readonly PreparedJob[]): Promise<EnqueueResult[]> {
  const results: EnqueueResult[] = new Array(jobs.length)
  const plain: PreparedJob[] = []
  for (let index = 0; index < jobs.length; index += 1) {
    const job = jobs[index]
    if (job.dedupKey !== null) {
      results[index] = await insertJob(q, job)
    } else {
      plain.push(job)
      results[index] = { job: freshJob(job), deduplicated: false, replaced: false }
    }
  }
  if (plain.length === 0) return results
  if (q.dialect === 'postgres') {
    const rows = plain.map((job) => ({
      id: job.id,
      queue: job.queue,
      payload: job.payload,
      priority: job.priority,
      run_at: job.runAt,
      max_attempts: job.maxAttempts,
    }))
    await q.run(BATCH_PG, [plain[0].now, plain[0].now, JSON.stringify(rows)])
    const due = new Set(plain.filter((job) => job.runAt <= job.now).map((job) => job.queue))
    for (const queue of due) await q.run(`SELECT pg_notify('${JOBS_CHANNEL}', ?)`, [queue])
  } else {
    for (const job of plain) await q.run(insertSql(false, 'plain'), params(job, false))
  }
  return results
}
