import { Cron } from 'croner'
import { v7 as uuidv7 } from 'uuid'
import { conflict, invalid, notFound } from '../errors.ts'
import { insertJob } from '../sql/enqueue.ts'
import type { EnqueueResult } from '../types.ts'
import {
  checkInteger,
  checkQueueName,
  MAX_ATTEMPTS_LIMIT,
  PRIORITY_MAX,
  PRIORITY_MIN,
  toJson,
} from '../validate.ts'
import type { QueueEngine } from './engine.ts'

export interface CronSchedule {
  name: string
  /** Five to seven fields (croner syntax; seconds optional). */
  cron: string
  /** IANA zone the expression is read in; UTC unless given. */
  timezone: string
  queue: string
  payload: unknown
  priority: number
  maxAttempts: number
  enabled: boolean
  lastFiredAt: number | null
  nextFireAt: number | null
  createdAt: number
  updatedAt: number
}

export interface CronInput {
  name: string
  cron: string
  timezone?: string
  queue: string
  payload?: unknown
  priority?: number
  maxAttempts?: number
  enabled?: boolean
}

export type CronPatch = Partial<Omit<CronInput, 'name'>>

interface CronRow {
  name: string
  cron: string
  timezone: string
  queue: string
  payload: string
  priority: number
  max_attempts: number
  enabled: number
  last_fired_at: number | null
  next_fire_at: number | null
  created_at: number
  updated_at: number
}

function fromRow(row: CronRow): CronSchedule {
  return {
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    queue: row.queue,
    payload: JSON.parse(row.payload),
    priority: Number(row.priority),
    maxAttempts: Number(row.max_attempts),
    enabled: Number(row.enabled) === 1,
    lastFiredAt: row.last_fired_at === null ? null : Number(row.last_fired_at),
    nextFireAt: row.next_fire_at === null ? null : Number(row.next_fire_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

function parse(expression: string, timezone: string): Cron {
  try {
    const cron = new Cron(expression, { timezone, paused: true })
    cron.nextRun()
    return cron
  } catch (error) {
    throw invalid(
      `cron ${JSON.stringify(expression)} in zone ${timezone} is not valid: ${(error as Error).message}`,
      'cron',
    )
  }
}

function nextAfter(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null
}

/** The dedup key of one fire time: whoever fires it, and however often, it becomes one job. */
export function fireKey(name: string, fireAt: number): string {
  return `cron:${name}:${new Date(fireAt).toISOString()}`
}

/**
 * Cron schedules stored next to the jobs. A tick fires every due schedule once: the schedule row's
 * `next_fire_at` is advanced by a guarded UPDATE in the same transaction as the job insert, so of
 * several schedulers sharing a database exactly one wins each fire time (the others' UPDATE
 * matches no row), and the per-fire-time dedup key backs that up. After downtime only the latest
 * missed fire time runs: runs never pile up.
 */
export function createCronScheduler(engine: QueueEngine, options: { now?: () => number } = {}) {
  const db = engine.db
  const now = options.now ?? engine.context.now
  let timer: NodeJS.Timeout | null = null

  async function get(name: string): Promise<CronSchedule> {
    const row = await db.get<CronRow>('SELECT * FROM cron_schedules WHERE name = ?', [name])
    if (!row) throw notFound(`no cron schedule named ${name}`)
    return fromRow(row)
  }

  function normalize(input: CronInput) {
    checkQueueName(input.name, 'name')
    checkQueueName(input.queue)
    const timezone = input.timezone ?? 'UTC'
    const cron = parse(input.cron, timezone)
    return {
      cron,
      timezone,
      payload: toJson(input.payload, 'payload', engine.context.maxPayloadBytes),
      priority:
        input.priority === undefined
          ? 0
          : checkInteger(input.priority, 'priority', PRIORITY_MIN, PRIORITY_MAX),
      maxAttempts:
        input.maxAttempts === undefined
          ? engine.context.defaultMaxAttempts
          : checkInteger(input.maxAttempts, 'maxAttempts', 1, MAX_ATTEMPTS_LIMIT),
      enabled: input.enabled ?? true,
    }
  }

  /** A schedule's stored columns, cron through next_fire_at, in the order both statements list them. */
  function columns(input: CronInput, at: number) {
    const schedule = normalize(input)
    return [
      input.cron,
      schedule.timezone,
      input.queue,
      schedule.payload,
      schedule.priority,
      schedule.maxAttempts,
      schedule.enabled ? 1 : 0,
      nextAfter(schedule.cron, at),
    ]
  }

  async function create(input: CronInput): Promise<CronSchedule> {
    const at = now()
    const { changes } = await db.run(
      `INSERT INTO cron_schedules (name, cron, timezone, queue, payload, priority, max_attempts, enabled, next_fire_at,
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      [input.name, ...columns(input, at), at, at],
    )
    if (changes === 0) throw conflict(`a cron schedule named ${input.name} exists; update or delete it`)
    return get(input.name)
  }

  /** Changes a schedule; its next fire time is computed afresh from now. */
  async function update(name: string, patch: CronPatch): Promise<CronSchedule> {
    const current = await get(name)
    const merged: CronInput = {
      name,
      cron: patch.cron ?? current.cron,
      timezone: patch.timezone ?? current.timezone,
      queue: patch.queue ?? current.queue,
      payload: patch.payload === undefined ? current.payload : patch.payload,
      priority: patch.priority ?? current.priority,
      maxAttempts: patch.maxAttempts ?? current.maxAttempts,
      enabled: patch.enabled ?? current.enabled,
    }
    const at = now()
    await db.run(
      `UPDATE cron_schedules SET cron = ?, timezone = ?, queue = ?, payload = ?, priority = ?, max_attempts = ?,
         enabled = ?, next_fire_at = ?, updated_at = ? WHERE name = ?`,
      [...columns(merged, at), at, name],
    )
    return get(name)
  }

  async function fire(row: CronRow, at: number): Promise<boolean> {
    const cron = parse(row.cron, row.timezone)
    const scheduledAt = Number(row.next_fire_at)
    const latest = cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? scheduledAt
    const fireAt = Math.max(scheduledAt, latest)
    const fired = await db.transaction(async (tx) => {
      const { changes } = await tx.run(
        `UPDATE cron_schedules SET last_fired_at = ?, next_fire_at = ?, updated_at = ?
         WHERE name = ? AND next_fire_at = ? AND enabled = 1`,
        [fireAt, nextAfter(cron, Math.max(at, fireAt)), at, row.name, scheduledAt],
      )
      if (changes === 0) return false
      const result = await insertJob(tx, {
        id: uuidv7(),
        now: at,
        queue: row.queue,
        payload: row.payload,
        value: JSON.parse(row.payload),
        priority: Number(row.priority),
        runAt: at,
        maxAttempts: Number(row.max_attempts),
        dedupKey: fireKey(row.name, fireAt),
        dedupMode: 'keep',
      })
      return !result.deduplicated
    })
    if (fired) engine.notifier.wake(row.queue, at)
    return fired
  }

  /** Fires every enabled schedule that is due at `at`; returns how many jobs this call enqueued. */
  async function tick(at = now()): Promise<number> {
    const due = await db.all<CronRow>(
      'SELECT * FROM cron_schedules WHERE enabled = 1 AND next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY name',
      [at],
    )
    let fired = 0
    for (const row of due) if (await fire(row, at)) fired += 1
    return fired
  }

  return {
    get,
    list: async (): Promise<CronSchedule[]> =>
      (await db.all<CronRow>('SELECT * FROM cron_schedules ORDER BY name')).map(fromRow),
    create,
    update,
    async remove(name: string): Promise<void> {
      const { changes } = await db.run('DELETE FROM cron_schedules WHERE name = ?', [name])
      if (changes === 0) throw notFound(`no cron schedule named ${name}`)
    },
    /** Enqueues the schedule's job now, outside its timetable. */
    async trigger(name: string): Promise<EnqueueResult> {
      const schedule = await get(name)
      const at = now()
      return engine.enqueue({
        queue: schedule.queue,
        payload: schedule.payload,
        priority: schedule.priority,
        maxAttempts: schedule.maxAttempts,
        dedupKey: fireKey(name, at),
      })
    },
    tick,
    /** Ticks every `intervalMs` (default 1 s) until stop(). */
    start(startOptions: { intervalMs?: number; onError?: (error: unknown) => void } = {}): void {
      if (timer) return
      const onError = startOptions.onError ?? ((error: unknown) => console.error('edgeforge cron:', error))
      timer = setInterval(() => void tick().catch(onError), startOptions.intervalMs ?? 1000)
      timer.unref()
    },
    stop(): void {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}

export type CronScheduler = ReturnType<typeof createCronScheduler>
