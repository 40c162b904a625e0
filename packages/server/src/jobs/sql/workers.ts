import type { EngineContext } from './context.ts'

/**
 * Says that `owner` serves `queues` until `ttlMs` from now, replacing what it said before (a
 * queue it no longer serves drops out at once). A runner calls this every heartbeat interval.
 */
export async function announceWorker(
  ctx: EngineContext,
  owner: string,
  queues: readonly string[],
  ttlMs: number,
): Promise<void> {
  const expiresAt = ctx.now() + ttlMs
  await ctx.db.transaction(async (tx) => {
    await tx.run('DELETE FROM job_workers WHERE owner = ?', [owner])
    for (const queue of new Set(queues))
      await tx.run('INSERT INTO job_workers (owner, queue, expires_at) VALUES (?, ?, ?)', [
        owner,
        queue,
        expiresAt,
      ])
  })
}

/** A runner that stops takes its rows with it, so the overview drops it at once. */
export async function retireWorker(ctx: EngineContext, owner: string): Promise<void> {
  await ctx.db.run('DELETE FROM job_workers WHERE owner = ?', [owner])
}

/** Runners per queue whose announcement has not expired, over every process on the store. */
export async function liveWorkers(ctx: EngineContext): Promise<Record<string, number>> {
  const rows = await ctx.db.all<{ queue: string; n: number }>(
    'SELECT queue, count(*) AS n FROM job_workers WHERE expires_at > ? GROUP BY queue',
    [ctx.now()],
  )
  return Object.fromEntries(rows.map((row) => [row.queue, Number(row.n)]))
}

/** Rows of runners that died without retiring; the sweeper calls this. */
export async function sweepWorkers(ctx: EngineContext): Promise<number> {
  const { changes } = await ctx.db.run('DELETE FROM job_workers WHERE expires_at <= ?', [ctx.now()])
  return changes
}
