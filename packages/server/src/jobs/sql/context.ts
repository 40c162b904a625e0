import type { Db, Queryable } from '../../store/index.ts'
import type { EnqueueRateLimiter } from '../rate-limit.ts'
import { JOBS_CHANNEL, type Notifier } from './notifier.ts'
import type { QueueSettingsStore } from './settings.ts'

/** What the engine's functions share: the store, settings, wake-ups and the clock. */
export interface EngineContext {
  db: Db
  settings: QueueSettingsStore
  notifier: Notifier
  limiter: EnqueueRateLimiter
  /** UTC milliseconds; tests pass a fake one to check run_at arithmetic without waiting. */
  now: () => number
  /** 0..1; the backoff jitter draws from it. */
  random: () => number
  defaultMaxAttempts: number
  maxPayloadBytes: number
}

/**
 * Wakes runners after a job became claimable outside enqueue (retry, release, reaper). On
 * PostgreSQL the notice goes through the database so other processes hear it too; their
 * listener and ours both deliver it, and runners coalesce repeated wake-ups.
 */
export async function wakeQueue(
  ctx: EngineContext,
  q: Queryable,
  queue: string,
  runAt: number,
): Promise<void> {
  if (q.dialect === 'postgres' && runAt <= ctx.now())
    await q.run(`SELECT pg_notify('${JOBS_CHANNEL}', ?)`, [queue])
  ctx.notifier.wake(queue, runAt)
}
