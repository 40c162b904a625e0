import { type PgQueryable, pgValues, prepared } from '../../store/postgres.ts'
import type { FinishOutcome, Job } from '../types.ts'
import { CLAIMED, LIMIT_PG } from './claim.ts'
import type { EngineContext } from './context.ts'
import { dropped, pgArray } from './finish.ts'
import { claimedJobFromValues, inQueueOrder } from './rows.ts'

// A held claim (PostgreSQL): the jobs are locked, not updated, in a transaction that stays open
// while they run; when they are done (or the hold's time is up) one statement in the same
// transaction writes each finished job straight from `queued` to `succeeded` (or deletes it, for a
// queue that keeps nothing) and another gives the ones still running an ordinary lease. A short
// job so costs one row version instead of two (the claim's `running` version, with its primary-key
// and `jobs_running` entries, is never written): docs/architecture.md, "Held claims".
//
// While held, a job's row says `queued`: other claimers skip it (SKIP LOCKED), the reaper does not
// see it, and a cancel or a dedup replace waits on its row lock until the hold commits. If the
// process or the connection dies first, the transaction rolls back and the jobs are queued again at
// once, their attempt not counted.
//
// The lock is FOR NO KEY UPDATE, which conflicts with every writer of the row and with the claim's
// FOR UPDATE, but not with the FOR KEY SHARE a log write takes on its job (sql/logs.ts): a held job
// can log while it runs (under FOR UPDATE each log write waited for the hold to end, and the hold
// for the job's log).
const HOLD_PG =
  prepared(`SELECT ${CLAIMED}, ctid::text FROM jobs WHERE queue = ? AND status = 'queued' AND run_at <= ?
  ORDER BY priority DESC, run_at, id LIMIT ${LIMIT_PG}
  FOR NO KEY UPDATE SKIP LOCKED`)

// The hold's end finds its rows by ctid: the row lock keeps each where it was picked, and keeps
// every other writer out (so no statement needs to check the status again). A TID scan is the
// plan wanted whatever the table's size, and the planner does not always pick it: it took a bitmap
// scan of every queued job's claim-index entry when the statement also said `status = 'queued'`,
// and a scan of the whole table when that is under a few thousand pages. TID_SCANS_ONLY, run in
// the hold's transaction before these, leaves it no other choice for a ctid condition (until the
// commit: SET LOCAL). Index scans stay allowed: the delete's trigger finds the job's logs by index.
const TID_SCANS_ONLY = 'SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off'
const SUCCEED_PG =
  prepared(`UPDATE jobs SET status = 'succeeded', attempts = jobs.attempts + 1, lease_owner = ?,
    started_at = ?, result = c.result, finished_at = ?, updated_at = ?, progress = NULL, lease_expires_at = NULL
  FROM unnest(?::text[], ?::text[]) AS c(id, result)
  WHERE jobs.ctid = ANY(?::tid[]) AND jobs.id = c.id
`)
// The same when every job returned the same (a handler that returns nothing: `null`), as most do:
// one result parameter, no list of ids and results to join with.
const SUCCEED_SAME_PG =
  prepared(`UPDATE jobs SET status = 'succeeded', attempts = attempts + 1, lease_owner = ?,
    started_at = ?, result = ?, finished_at = ?, updated_at = ?, progress = NULL, lease_expires_at = NULL
  WHERE ctid = ANY(?::tid[])`)
const DROP_PG = prepared('DELETE FROM jobs WHERE ctid = ANY(?::tid[])')
const LEASE_PG = prepared(`UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?,
    lease_expires_at = ?, started_at = ?, updated_at = ?, progress = NULL
  WHERE ctid = ANY(?::tid[])`)

/** Where HOLD_PG's ctid column is: after the claim's columns. */
const CLAIMED_COLUMNS = CLAIMED.split(',').length

export interface HoldInput {
  /** Visited in this order until `limit` jobs are held. None may have max_workers (see engine.hold). */
  queues: readonly string[]
  owner: string
  limit: number
  /** The lease a held job gets if it is still running when the hold settles. */
  leaseMs: number
}

/** A finished job of the hold and what it returned, as JSON text (validate.ts's toJson). */
export interface HeldSuccess {
  id: string
  queue: string
  json: string
}

export interface HeldClaim {
  /** As a claim returns them: attempt already counted, `startedAt` the time of the hold. */
  readonly jobs: readonly Job[]
  /**
   * Ends the hold: each of `done` succeeded (with its result), every other job of the hold gets a
   * lease of `leaseMs` from now and runs on as a claimed job. Resolves once committed, with each
   * `done` item's outcome; rejects when the store failed, and then nothing of the hold was written
   * (its jobs are queued again). Later calls return the first call's promise.
   */
  settle(done: readonly HeldSuccess[], leaseMs: number): Promise<FinishOutcome[]>
}

interface Settlement {
  done: readonly HeldSuccess[]
  leaseMs: number
}

/** Locks up to `limit` due jobs over `queues` in a transaction that `settle` ends. */
export async function holdJobs(ctx: EngineContext, input: HoldInput): Promise<HeldClaim> {
  const now = ctx.now()
  let handOver: (jobs: Job[]) => void = () => {}
  let refuse: (error: unknown) => void = () => {}
  const held = new Promise<Job[]>((resolve, reject) => {
    handOver = resolve
    refuse = reject
  })
  let end: (settlement: Settlement) => void = () => {}
  const ended = new Promise<Settlement>((resolve) => {
    end = resolve
  })

  const committed = ctx.db.transaction(async (tx) => {
    const pg = pgValues(tx)
    if (!pg) throw new Error('held claims need PostgreSQL')
    const jobs: Job[] = []
    const ctids = new Map<string, string>()
    for (const queue of input.queues) {
      const limit = input.limit - jobs.length
      if (limit <= 0) break
      const rows = await pg.values(HOLD_PG, [queue, now, limit, limit, queue, limit])
      for (const row of rows) {
        const job = claimedJobFromValues(row, queue, input.owner, now, now + input.leaseMs)
        job.attempts += 1
        jobs.push(job)
        ctids.set(job.id, row[CLAIMED_COLUMNS] as string)
      }
    }
    handOver(inQueueOrder(jobs))
    if (jobs.length > 0) await write(ctx, pg, input.owner, now, jobs, ctids, await ended)
  })
  committed.catch(refuse)
  const jobs = await held

  let settling: Promise<FinishOutcome[]> | null = null
  return {
    jobs,
    settle(done, leaseMs) {
      if (!settling) {
        end({ done, leaseMs })
        settling = committed.then(() => done.map((): FinishOutcome => ({ ok: true, status: 'succeeded' })))
      }
      return settling
    },
  }
}

/**
 * The hold's end, in its transaction. Every statement must touch every row it names (the hold's
 * lock keeps them as they were picked); one that does not throws, and the hold rolls back: its
 * jobs are queued again rather than half written.
 */
async function write(
  ctx: EngineContext,
  tx: PgQueryable,
  owner: string,
  startedAt: number,
  jobs: readonly Job[],
  ctids: ReadonlyMap<string, string>,
  { done, leaseMs }: Settlement,
): Promise<void> {
  const now = ctx.now()
  const finished = new Set<string>()
  const drops = await dropped(ctx, done, now)
  const kept: HeldSuccess[] = []
  const deleted: string[] = []
  done.forEach((item, index) => {
    finished.add(item.id)
    if (drops[index]) deleted.push(item.id)
    else kept.push(item)
  })
  const expect = async (what: string, rows: number, statement: Promise<{ changes: number }>) => {
    const { changes } = await statement
    if (changes !== rows) throw new Error(`held claim: ${what} wrote ${changes} of its ${rows} jobs`)
  }
  await tx.run(TID_SCANS_ONLY)
  const at = (ids: readonly string[]) => pgArray(ids.map((id) => ctids.get(id) ?? null))
  if (kept.length > 0) {
    const where = at(kept.map((item) => item.id))
    const result = kept[0].json
    await expect(
      'the success',
      kept.length,
      kept.every((item) => item.json === result)
        ? tx.run(SUCCEED_SAME_PG, [owner, startedAt, result, now, now, where])
        : tx.run(SUCCEED_PG, [
            owner,
            startedAt,
            now,
            now,
            pgArray(kept.map((item) => item.id)),
            pgArray(kept.map((item) => item.json)),
            where,
          ]),
    )
  }
  if (deleted.length > 0) await expect('the delete', deleted.length, tx.run(DROP_PG, [at(deleted)]))
  const running = jobs.filter((job) => !finished.has(job.id)).map((job) => job.id)
  if (running.length > 0)
    await expect(
      'the lease',
      running.length,
      tx.run(LEASE_PG, [owner, now + leaseMs, startedAt, now, at(running)]),
    )
}
