import type { Db, Queryable } from '../../store/index.ts'
import type { QueueSettings, QueueSettingsPatch } from '../types.ts'
import { checkBackoff, checkInteger, checkQueueName, checkRateLimit } from '../validate.ts'

export type QueueDefaults = Omit<QueueSettings, 'queue'>

export const DEFAULT_QUEUE_SETTINGS: QueueDefaults = {
  maxWorkers: null,
  paused: false,
  retentionSeconds: 7 * 86_400,
  backoff: { baseSeconds: 1, factor: 2, maxSeconds: 3600, jitter: 0.1 },
  rateLimit: null,
}

interface SettingsRow {
  queue: string
  max_workers: number | null
  paused: number
  retention_seconds: number
  backoff_base_seconds: number
  backoff_factor: number
  backoff_max_seconds: number
  backoff_jitter: number
  rate_limit_per_second: number | null
  rate_limit_burst: number | null
}

function fromRow(row: SettingsRow): QueueSettings {
  return {
    queue: row.queue,
    maxWorkers: row.max_workers === null ? null : Number(row.max_workers),
    paused: Number(row.paused) === 1,
    retentionSeconds: Number(row.retention_seconds),
    backoff: {
      baseSeconds: Number(row.backoff_base_seconds),
      factor: Number(row.backoff_factor),
      maxSeconds: Number(row.backoff_max_seconds),
      jitter: Number(row.backoff_jitter),
    },
    rateLimit:
      row.rate_limit_per_second === null || row.rate_limit_burst === null
        ? null
        : { perSecond: Number(row.rate_limit_per_second), burst: Number(row.rate_limit_burst) },
  }
}

/**
 * Per-queue settings, stored so every process sees them and they survive restarts. A queue
 * without a row has the defaults. Claims read `paused` and `max_workers` from the table inside
 * the claim statement, so those apply at once everywhere; the rate limit and the claim path choice
 * read a copy cached for `cacheMs`, so a change made by another process applies within that time.
 */
export class QueueSettingsStore {
  private readonly db: Db
  private readonly defaults: QueueDefaults
  private readonly cacheMs: number
  private readonly cache = new Map<string, { settings: QueueSettings; readAt: number }>()

  constructor(db: Db, defaults: QueueDefaults, cacheMs: number) {
    this.db = db
    this.defaults = defaults
    this.cacheMs = cacheMs
  }

  defaultsFor(queue: string): QueueSettings {
    return { queue, ...this.defaults, backoff: { ...this.defaults.backoff } }
  }

  async get(queue: string, q: Queryable = this.db, forUpdate = false): Promise<QueueSettings> {
    checkQueueName(queue)
    const lock = forUpdate && q.dialect === 'postgres' ? ' FOR UPDATE' : ''
    const row = await q.get<SettingsRow>(`SELECT * FROM queue_settings WHERE queue = ?${lock}`, [queue])
    const settings = row ? fromRow(row) : this.defaultsFor(queue)
    this.cache.set(queue, { settings, readAt: Date.now() })
    return settings
  }

  /** A copy at most `cacheMs` old; for the hot paths that must not read the table every time. */
  async cached(queue: string, now = Date.now()): Promise<QueueSettings> {
    const hit = this.cache.get(queue)
    if (hit && now - hit.readAt < this.cacheMs) return hit.settings
    return this.get(queue)
  }

  /** Every queue that has stored settings. */
  async list(): Promise<QueueSettings[]> {
    const rows = await this.db.all<SettingsRow>('SELECT * FROM queue_settings ORDER BY queue')
    return rows.map(fromRow)
  }

  /** Applies a partial change and returns the whole result. */
  async set(queue: string, patch: QueueSettingsPatch): Promise<QueueSettings> {
    checkQueueName(queue)
    const settings = await this.db.transaction(async (tx) => {
      // Lock the row (PostgreSQL) so two partial changes of different fields both survive.
      const current = await this.get(queue, tx, true)
      const next: QueueSettings = {
        queue,
        maxWorkers: patch.maxWorkers === undefined ? current.maxWorkers : patch.maxWorkers,
        paused: patch.paused === undefined ? current.paused : patch.paused,
        retentionSeconds: patch.retentionSeconds ?? current.retentionSeconds,
        backoff: checkBackoff({ ...current.backoff, ...patch.backoff }),
        rateLimit: patch.rateLimit === undefined ? current.rateLimit : checkRateLimit(patch.rateLimit),
      }
      if (next.maxWorkers !== null) checkInteger(next.maxWorkers, 'max_workers', 0, 100_000)
      if (typeof next.paused !== 'boolean') checkInteger(next.paused, 'paused', 0, 1)
      checkInteger(next.retentionSeconds, 'retention_seconds', 0, 10 * 365 * 86_400)
      await tx.run(
        `INSERT INTO queue_settings (queue, max_workers, paused, retention_seconds, backoff_base_seconds, backoff_factor,
           backoff_max_seconds, backoff_jitter, rate_limit_per_second, rate_limit_burst, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (queue) DO UPDATE SET max_workers = excluded.max_workers, paused = excluded.paused,
           retention_seconds = excluded.retention_seconds, backoff_base_seconds = excluded.backoff_base_seconds,
           backoff_factor = excluded.backoff_factor, backoff_max_seconds = excluded.backoff_max_seconds,
           backoff_jitter = excluded.backoff_jitter, rate_limit_per_second = excluded.rate_limit_per_second,
           rate_limit_burst = excluded.rate_limit_burst, updated_at = excluded.updated_at`,
        [
          queue,
          next.maxWorkers,
          next.paused ? 1 : 0,
          next.retentionSeconds,
          next.backoff.baseSeconds,
          next.backoff.factor,
          next.backoff.maxSeconds,
          next.backoff.jitter,
          next.rateLimit?.perSecond ?? null,
          next.rateLimit?.burst ?? null,
          Date.now(),
        ],
      )
      return next
    })
    this.cache.set(queue, { settings, readAt: Date.now() })
    return settings
  }
}
