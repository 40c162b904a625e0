import type {
  CronCreate,
  CronUpdate,
  EnqueueJob,
  CronSchedule as WireCronSchedule,
  EnqueueResponse as WireEnqueueResponse,
  Job as WireJob,
  JobLogPage as WireJobLogPage,
  JobWithLogs as WireJobWithLogs,
  QueueOverview as WireQueueOverview,
  QueueSettings as WireQueueSettings,
} from '@edgeforge/protocol'
import type { CronInput, CronPatch, CronSchedule } from '../engine/cron.ts'
import type { LogPage } from '../sql/logs.ts'
import type { EnqueueInput, EnqueueResult, Job, JobWithLogs, QueueOverview, QueueSettings } from '../types.ts'

/*
 * The engine's records ↔ the wire shapes of `@edgeforge/protocol`: camelCase and UTC
 * milliseconds inside, snake_case and ISO-8601 outside. Every adapter (HTTP routes, the remote
 * worker protocol) maps through here so a field cannot be spelled two ways.
 */

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

export function jobDto(job: Job): WireJob {
  return {
    id: job.id,
    queue: job.queue,
    payload: job.payload,
    priority: job.priority,
    run_at: iso(job.runAt),
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    status: job.status,
    result: job.result,
    last_error: job.lastError,
    progress: job.progress,
    lease_owner: job.leaseOwner,
    lease_expires_at: isoOrNull(job.leaseExpiresAt),
    cancel_requested: job.cancelRequested,
    dedup_key: job.dedupKey,
    created_at: iso(job.createdAt),
    started_at: isoOrNull(job.startedAt),
    finished_at: isoOrNull(job.finishedAt),
    updated_at: iso(job.updatedAt),
  }
}

export function jobWithLogsDto(job: JobWithLogs): WireJobWithLogs {
  return {
    ...jobDto(job),
    logs: job.logs.map((log) => ({ at: iso(log.at), line: log.line })),
    log_lines: job.logLines,
  }
}

export function logPageDto(page: LogPage): WireJobLogPage {
  return {
    lines: page.lines.map((line) => ({ offset: line.offset, at: iso(line.at), line: line.line })),
    next_start: page.end,
  }
}

export function enqueueResultDto(result: EnqueueResult): WireEnqueueResponse {
  return { job: jobDto(result.job), deduplicated: result.deduplicated, replaced: result.replaced }
}

export function queueSettingsDto(settings: QueueSettings): WireQueueSettings {
  return {
    queue: settings.queue,
    max_workers: settings.maxWorkers,
    paused: settings.paused,
    retention_seconds: settings.retentionSeconds,
    backoff: {
      base_seconds: settings.backoff.baseSeconds,
      factor: settings.backoff.factor,
      max_seconds: settings.backoff.maxSeconds,
      jitter: settings.backoff.jitter,
    },
    rate_limit:
      settings.rateLimit === null
        ? null
        : { per_second: settings.rateLimit.perSecond, burst: settings.rateLimit.burst },
  }
}

export function queueOverviewDto(overview: QueueOverview): WireQueueOverview {
  return {
    queue: overview.queue,
    counts: { ...overview.counts },
    live_workers: overview.liveWorkers,
    settings: queueSettingsDto(overview.settings),
  }
}

export function cronDto(schedule: CronSchedule): WireCronSchedule {
  return {
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    queue: schedule.queue,
    payload: schedule.payload,
    priority: schedule.priority,
    max_attempts: schedule.maxAttempts,
    enabled: schedule.enabled,
    last_fired_at: isoOrNull(schedule.lastFiredAt),
    next_fire_at: isoOrNull(schedule.nextFireAt),
    created_at: iso(schedule.createdAt),
    updated_at: iso(schedule.updatedAt),
  }
}

/** A wire enqueue as the engine takes it; fields not sent stay undefined so the engine's defaults apply. */
export function enqueueInput(wire: EnqueueJob): EnqueueInput {
  const input: EnqueueInput = { queue: wire.queue, payload: wire.payload }
  if (wire.priority !== undefined) input.priority = wire.priority
  if (wire.run_at !== undefined) input.runAt = Date.parse(wire.run_at)
  if (wire.delay_seconds !== undefined) input.delayMs = Math.round(wire.delay_seconds * 1000)
  if (wire.max_attempts !== undefined) input.maxAttempts = wire.max_attempts
  if (wire.dedup_key !== undefined) input.dedupKey = wire.dedup_key
  if (wire.dedup_mode !== undefined) input.dedupMode = wire.dedup_mode
  return input
}

export function cronInput(wire: CronCreate): CronInput {
  return { name: wire.name, cron: wire.cron, queue: wire.queue, ...cronPatch(wire) }
}

export function cronPatch(wire: CronUpdate): CronPatch {
  const patch: CronPatch = {}
  if (wire.cron !== undefined) patch.cron = wire.cron
  if (wire.timezone !== undefined) patch.timezone = wire.timezone
  if (wire.queue !== undefined) patch.queue = wire.queue
  if (wire.payload !== undefined) patch.payload = wire.payload
  if (wire.priority !== undefined) patch.priority = wire.priority
  if (wire.max_attempts !== undefined) patch.maxAttempts = wire.max_attempts
  if (wire.enabled !== undefined) patch.enabled = wire.enabled
  return patch
}

/** Engine field names (as its validation errors name them) → the wire's, for `details.field`. */
export const WIRE_FIELDS: Readonly<Record<string, string>> = {
  queue: 'queue',
  name: 'name',
  cron: 'cron',
  payload: 'payload',
  priority: 'priority',
  runAt: 'run_at',
  delayMs: 'delay_seconds',
  maxAttempts: 'max_attempts',
  dedupKey: 'dedup_key',
  dedupMode: 'dedup_mode',
  jobs: 'jobs',
  status: 'status',
  limit: 'limit',
  continuation_token: 'continuation_token',
  max_workers: 'max_workers',
  retention_seconds: 'seconds',
  'backoff.base_seconds': 'base_seconds',
  'backoff.factor': 'factor',
  'backoff.max_seconds': 'max_seconds',
  'backoff.jitter': 'jitter',
  'rate_limit.per_second': 'per_second',
  'rate_limit.burst': 'burst',
}
