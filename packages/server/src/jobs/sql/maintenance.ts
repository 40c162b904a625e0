import type { JobStatus, QueueOverview } from '../types.ts'
import { JOB_STATUSES } from '../types.ts'
import { type EngineContext, wakeQueue } from './context.ts'
import { liveWorkers } from './workers.ts'

const EXPIRED_SQLITE = "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < ?"
// SKIP LOCKED: a job a worker is finishing right now is left to that worker.
const EXPIRED_PG = `${EXPIRED_SQLITE} FOR UPDATE SKIP LOCKED`

/**
 * Takes back running jobs whose lease expired (their worker died, hung or lost the database).
 * The lost attempt counts: with attempts left the job is queued again at once (the worker failed,
 * not necessarily the job, so no backoff), without it ends `failed`; with a cancel pending it ends
 * `cancelled`. A stale worker that comes back finds its lease gone and its finish rejected.
 */
export async function reapExpired(ctx: EngineContext): Promise<{
  requeued: number
  failed: number
  cancelled: number
  /** Each reaped job and where it went (the engine records them as events). */
  jobs: Array<{ id: string; queue: string; status: JobStatus }>
}> {
  const now = ctx.now()
  const rows = await ctx.db.all<{ id: string; queue: string; status: JobStatus }>(
    `UPDATE jobs SET
       status = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
       finished_at = CASE WHEN cancel_requested = 1 OR attempts >= max_attempts THEN CAST(? AS BIGINT) ELSE NULL END,
       last_error = 'lease expired: worker ' || coalesce(lease_owner, 'unknown') || ' stopped renewing it',
       run_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL
     WHERE id IN (${ctx.db.dialect === 'postgres' ? EXPIRED_PG : EXPIRED_SQLITE})
       AND status = 'running' AND lease_expires_at < ?
     RETURNING id, queue, status`,
    [now, now, now, now, now],
  )
  const counts = { requeued: 0, failed: 0, cancelled: 0 }
  const queues = new Set<string>()
  for (const row of rows) {
    if (row.status === 'queued') {
      counts.requeued += 1
      queues.add(row.queue)
    } else if (row.status === 'failed') counts.failed += 1
    else counts.cancelled += 1
  }
  for (const queue of queues) await wakeQueue(ctx, ctx.db, queue, now)
  return { ...counts, jobs: rows }
}

const SWEEP_BATCH = 5000

/**
 * PostgreSQL: summarizes the block ranges of jobs_finished (BRIN, postgres 0033) that have none
 * yet, the pages written since the last sweep or vacuum, so the sweep's scan can skip them by
 * their times. (autosummarize would ask autovacuum for it a range at a time; at queue rates its
 * work list overflows and PostgreSQL logs every request it drops.) Without a summary a range is
 * always read, never skipped wrongly, so this only ever saves work: it gives up at once when a
 * vacuum holds the table (which summarizes as it ends) and when this role does not own the index.
 */
async function summarizeFinished(ctx: EngineContext): Promise<void> {
  if (ctx.db.dialect !== 'postgres') return
  try {
    await ctx.db.transaction(async (tx) => {
      await tx.run("SET LOCAL lock_timeout = '100ms'")
      await tx.get("SELECT brin_summarize_new_values('jobs_finished'::regclass) AS ranges")
    })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    // lock_not_available (a vacuum or another process's sweep has it), insufficient_privilege
    if (code !== '55P03' && code !== '42501') throw error
  }
}

/**
 * Deletes `succeeded`, `dead` and `cancelled` jobs that finished longer ago than their queue's
 * retention, in batches so a large backlog does not hold one long transaction. `failed` jobs stay
 * until someone retries or deletes them: they are the ones that need a person.
 */
export async function sweepFinished(ctx: EngineContext): Promise<number> {
  await summarizeFinished(ctx)
  const now = ctx.now()
  const defaultRetention = ctx.settings.defaultsFor('default').retentionSeconds
  // No queue keeps a finished job longer than the shortest retention of all: a constant bound on
  // finished_at that the block range index can use (postgres 0033), before each row's own queue's
  // retention is checked.
  const shortest = await ctx.db.get<{ s: number | null }>(
    'SELECT min(retention_seconds) AS s FROM queue_settings',
  )
  const bound = now - 1000 * Math.min(defaultRetention, Number(shortest?.s ?? defaultRetention))
  let total = 0
  for (;;) {
    const { changes } = await ctx.db.run(
      `DELETE FROM jobs WHERE id IN (
         SELECT j.id FROM jobs j
         WHERE j.finished_at < CAST(? AS BIGINT) AND j.status IN ('succeeded', 'dead', 'cancelled')
           AND j.finished_at < CAST(? AS BIGINT) - 1000 * coalesce(
             (SELECT s.retention_seconds FROM queue_settings s WHERE s.queue = j.queue), CAST(? AS BIGINT))
         LIMIT ${SWEEP_BATCH})`,
      [bound, now, defaultRetention],
    )
    total += changes
    if (changes < SWEEP_BATCH) return total
  }
}

/**
 * Every queue that has jobs, stored settings or a live worker: job counts by status, the
 * settings, and the runners serving it on every process (from job_workers, not this process's).
 */
export async function overview(ctx: EngineContext): Promise<QueueOverview[]> {
  const rows = await ctx.db.all<{ queue: string; status: JobStatus; n: number }>(
    'SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status',
  )
  const workers = await liveWorkers(ctx)
  const byQueue = new Map<string, QueueOverview>()
  const entry = (queue: string): QueueOverview => {
    let found = byQueue.get(queue)
    if (!found) {
      const counts = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<
        JobStatus,
        number
      >
      found = {
        queue,
        counts,
        settings: ctx.settings.defaultsFor(queue),
        liveWorkers: workers[queue] ?? 0,
      }
      byQueue.set(queue, found)
    }
    return found
  }
  for (const settings of await ctx.settings.list()) entry(settings.queue).settings = settings
  for (const row of rows) entry(row.queue).counts[row.status] = Number(row.n)
  for (const queue of Object.keys(workers)) entry(queue)
  return [...byQueue.values()].sort((a, b) => (a.queue < b.queue ? -1 : 1))
}
