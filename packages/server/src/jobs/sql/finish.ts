import type { Queryable } from '../../store/index.ts'
import { prepared } from '../../store/postgres.ts'
import { SqliteDb } from '../../store/sqlite.ts'
import { backoffDelayMs } from '../backoff.ts'
import { describeError } from '../errors.ts'
import type { FinishOutcome, HeartbeatResult, JobStatus, LeaseRef } from '../types.ts'
import { toJson } from '../validate.ts'
import { type EngineContext, wakeQueue } from './context.ts'
import { clipError } from './rows.ts'

// A finish touches a job only while it is running under the caller's lease (and attempt, when
// given): after a reap and re-claim the stale worker's finish matches no row.
// SQLite: one indexed statement per job inside one transaction. (An UPDATE … FROM json_each lets the
// planner scan every running job for each entry: quadratic in the batch, measured 100× slower.)
const GUARD = "lease_owner = ? AND status = 'running' AND attempts = coalesce(?, attempts)"
const COMPLETE_ONE = `UPDATE jobs SET status = 'succeeded', result = ?, finished_at = ?, updated_at = ?, lease_expires_at = NULL
  WHERE id = ? AND ${GUARD}`
const DELETE_ONE = `DELETE FROM jobs WHERE id = ? AND ${GUARD}`
// PostgreSQL: one statement per owner for the whole batch, the jobs as array parameters (cheaper
// for the server to read than a JSON document of objects). The guard holds per row: the id's lease
// owner, status running, and the attempt when given. Parameters: ids, attempts, [results,] owner.
const BATCH_PG = `WHERE jobs.id = c.id AND jobs.lease_owner = ? AND jobs.status = 'running'
    AND (c.attempt IS NULL OR jobs.attempts = c.attempt)
  RETURNING jobs.id`
const COMPLETE_PG =
  prepared(`UPDATE jobs SET status = 'succeeded', result = c.result, finished_at = ?, updated_at = ?,
    lease_expires_at = NULL
  FROM unnest(?::text[], ?::int[], ?::text[]) AS c(id, attempt, result)
  ${BATCH_PG}`)
const DELETE_PG = prepared(`DELETE FROM jobs USING unnest(?::text[], ?::int[]) AS c(id, attempt) ${BATCH_PG}`)

const NEEDS_ESCAPE = /[\\"]/

/**
 * A PostgreSQL array literal of text (or integer) elements: each element double-quoted with `"` and
 * `\\` escaped, null as NULL. Parsed by the server as the `text[]` / `int[]` parameter it is cast to.
 */
export function pgArray(values: ReadonlyArray<string | number | null>): string {
  let out = '{'
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i]
    if (i > 0) out += ','
    if (value === null) out += 'NULL'
    else if (typeof value === 'number') out += String(value)
    // Ids and most results have nothing to escape: a test is a quarter of the cost of a replace.
    else out += NEEDS_ESCAPE.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`
  }
  return `${out}}`
}

const HEARTBEAT_SQLITE = `UPDATE jobs SET lease_expires_at = ?
  WHERE id IN (SELECT value FROM json_each(?)) AND lease_owner = ? AND status = 'running'
  RETURNING id, cancel_requested`
const HEARTBEAT_PG = prepared(`UPDATE jobs SET lease_expires_at = ?
  WHERE id IN (SELECT json_array_elements_text(?::json)) AND lease_owner = ? AND status = 'running'
  RETURNING id, cancel_requested`)

export interface Completion extends LeaseRef {
  result?: unknown
  /**
   * The job's queue, when the caller knows it (the runner does). A queue whose retention is 0
   * keeps no succeeded jobs: they are deleted as they finish, which also costs the store less than
   * recording them. Without it the job is recorded and the sweeper deletes it.
   */
  queue?: string
}

/** Renews the leases of `ids` held by `owner`; ids missing from the answer were lost. */
export async function heartbeatMany(
  ctx: EngineContext,
  ids: readonly string[],
  owner: string,
  leaseMs: number,
): Promise<Map<string, HeartbeatResult>> {
  const answer = new Map<string, HeartbeatResult>()
  for (const id of ids) answer.set(id, { held: false, cancelRequested: false })
  if (ids.length === 0) return answer
  const sql = ctx.db.dialect === 'postgres' ? HEARTBEAT_PG : HEARTBEAT_SQLITE
  const rows = await ctx.db.all<{ id: string; cancel_requested: number }>(sql, [
    ctx.now() + leaseMs,
    JSON.stringify(ids),
    owner,
  ])
  for (const row of rows)
    answer.set(row.id, { held: true, cancelRequested: Number(row.cancel_requested) === 1 })
  return answer
}

async function statusOf(ctx: EngineContext, id: string): Promise<JobStatus | null> {
  const row = await ctx.db.get<{ status: JobStatus }>('SELECT status FROM jobs WHERE id = ?', [id])
  return row?.status ?? null
}

/**
 * Per completion: whether its job is deleted instead of recorded (its queue, when known, keeps no
 * succeeded jobs). Retention comes from the settings cache (at most settingsCacheMs old), like the
 * rate limit.
 */
export async function dropped(
  ctx: EngineContext,
  items: readonly { queue?: string }[],
  now: number,
): Promise<boolean[]> {
  const keepsNothing = new Map<string, boolean>()
  for (const item of items)
    if (item.queue !== undefined && !keepsNothing.has(item.queue))
      keepsNothing.set(item.queue, (await ctx.settings.cached(item.queue, now)).retentionSeconds === 0)
  return items.map((item) => item.queue !== undefined && keepsNothing.get(item.queue) === true)
}

/**
 * Records `succeeded` with each result, in one statement for the whole batch, or deletes the job
 * when its queue's retention is 0. A job whose cancel was requested but which finished anyway
 * ends `succeeded`: its work is done.
 */
export async function completeMany(
  ctx: EngineContext,
  items: readonly Completion[],
  maxResultBytes: number,
): Promise<FinishOutcome[]> {
  if (items.length === 0) return []
  const now = ctx.now()
  const drops = await dropped(ctx, items, now)
  const rows = items.map((item, index) => ({
    id: item.id,
    owner: item.owner,
    attempt: item.attempt ?? null,
    result: toJson(item.result, 'result', maxResultBytes),
    drop: drops[index],
  }))
  const succeeded = new Set<string>()
  if (ctx.db.dialect === 'postgres') {
    // One statement per owner and kind (delete for retention 0, else record): a runner's batch
    // has one owner, so this is one statement, or two when its queues keep differently.
    const groups = new Map<string, typeof rows>()
    for (const row of rows) {
      const key = `${row.drop ? 'd' : 'k'}${row.owner}`
      const group = groups.get(key)
      if (group) group.push(row)
      else groups.set(key, [row])
    }
    for (const group of groups.values()) {
      const { owner, drop } = group[0]
      const ids = pgArray(group.map((row) => row.id))
      const attempts = pgArray(group.map((row) => row.attempt))
      const done = drop
        ? await ctx.db.all<{ id: string }>(DELETE_PG, [ids, attempts, owner])
        : await ctx.db.all<{ id: string }>(COMPLETE_PG, [
            now,
            now,
            ids,
            attempts,
            pgArray(group.map((row) => row.result)),
            owner,
          ])
      for (const row of done) succeeded.add(row.id)
    }
  } else if (ctx.db instanceof SqliteDb) {
    // The whole batch in one synchronous transaction: no promise and no turn of the event loop
    // per statement (on SQLite those were a large share of a completion's cost).
    const sqlite = ctx.db
    await sqlite.transactionSync(() => {
      for (const row of rows) {
        const { changes } = row.drop
          ? sqlite.runSync(DELETE_ONE, [row.id, row.owner, row.attempt])
          : sqlite.runSync(COMPLETE_ONE, [row.result, now, now, row.id, row.owner, row.attempt])
        if (changes > 0) succeeded.add(row.id)
      }
    })
  } else {
    // Another SQLite Db (a wrapper over one): the same statements through the async interface.
    const completeAll = async (q: Queryable) => {
      for (const row of rows) {
        const guard = [row.id, row.owner, row.attempt]
        const { changes } = row.drop
          ? await q.run(DELETE_ONE, guard)
          : await q.run(COMPLETE_ONE, [row.result, now, now, ...guard])
        if (changes > 0) succeeded.add(row.id)
      }
    }
    if (rows.length === 1) await completeAll(ctx.db)
    else await ctx.db.transaction(completeAll)
  }
  const outcomes: FinishOutcome[] = []
  for (const item of items) {
    if (succeeded.has(item.id)) outcomes.push({ ok: true, status: 'succeeded' })
    else outcomes.push({ ok: false, reason: 'lease_lost', status: await statusOf(ctx, item.id) })
  }
  return outcomes
}

interface FailRow {
  queue: string
  attempts: number
  max_attempts: number
  cancel_requested: number
  status: JobStatus
  lease_owner: string | null
}

export interface FailOptions {
  unrecoverable?: boolean
}

/**
 * Records a failed attempt. Where it goes: `cancelled` when a cancel was requested, `dead` when
 * unrecoverable, `failed` when the attempts are used up, else back to `queued` at now + backoff.
 * Optimistic: read the job, decide, then update guarded by the lease and the attempt we read.
 */
export async function fail(
  ctx: EngineContext,
  ref: LeaseRef,
  error: unknown,
  options: FailOptions = {},
): Promise<FinishOutcome> {
  const row = await ctx.db.get<FailRow>(
    'SELECT queue, attempts, max_attempts, cancel_requested, status, lease_owner FROM jobs WHERE id = ?',
    [ref.id],
  )
  const attempt = row ? Number(row.attempts) : -1
  if (row?.status !== 'running' || row.lease_owner !== ref.owner || (ref.attempt ?? attempt) !== attempt) {
    return { ok: false, reason: 'lease_lost', status: row?.status ?? null }
  }
  const now = ctx.now()
  const lastError = clipError(typeof error === 'string' ? error : describeError(error))
  let status: JobStatus
  let runAt: number | undefined
  if (Number(row.cancel_requested) === 1) status = 'cancelled'
  else if (options.unrecoverable) status = 'dead'
  else if (attempt >= Number(row.max_attempts)) status = 'failed'
  else {
    status = 'queued'
    const settings = await ctx.settings.cached(row.queue, now)
    runAt = now + backoffDelayMs(settings.backoff, attempt, ctx.random)
  }
  const final = status !== 'queued'
  const { changes } = await ctx.db.run(
    `UPDATE jobs SET status = ?, last_error = ?, updated_at = ?, finished_at = ?, run_at = coalesce(?, run_at),
       lease_owner = ?, lease_expires_at = NULL
     WHERE id = ? AND lease_owner = ? AND status = 'running' AND attempts = ?`,
    [
      status,
      lastError,
      now,
      final ? now : null,
      runAt ?? null,
      final ? ref.owner : null,
      ref.id,
      ref.owner,
      attempt,
    ],
  )
  if (changes === 0) return { ok: false, reason: 'lease_lost', status: await statusOf(ctx, ref.id) }
  return runAt === undefined ? { ok: true, status } : { ok: true, status, runAt }
}

/**
 * Hands a running job back without counting the attempt (graceful shutdown): queued again at
 * once, or `cancelled` if a cancel was requested meanwhile.
 */
export async function release(ctx: EngineContext, ref: LeaseRef): Promise<FinishOutcome> {
  const now = ctx.now()
  const row = await ctx.db.get<{ status: JobStatus; queue: string }>(
    `UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
       attempts = CASE WHEN cancel_requested = 1 THEN attempts ELSE attempts - 1 END,
       finished_at = CASE WHEN cancel_requested = 1 THEN CAST(? AS BIGINT) ELSE NULL END,
       run_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL
     WHERE id = ? AND lease_owner = ? AND status = 'running' AND attempts = coalesce(?, attempts)
     RETURNING status, queue`,
    [now, now, now, ref.id, ref.owner, ref.attempt ?? null],
  )
  if (!row) return { ok: false, reason: 'lease_lost', status: await statusOf(ctx, ref.id) }
  if (row.status === 'queued') await wakeQueue(ctx, ctx.db, row.queue, now)
  return { ok: true, status: row.status }
}
