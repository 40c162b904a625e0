/** Where a job is in its life; see the state machine at the top of engine.ts. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'dead'

export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'dead',
]

/** One job as the store records it. Timestamps are UTC milliseconds. */
export interface Job {
  /** UUIDv7: sorts by creation time. */
  id: string
  queue: string
  payload: unknown
  /** Higher runs first within a queue. */
  priority: number
  /** Not claimed before this instant. */
  runAt: number
  /** Claims so far, the running one included. */
  attempts: number
  maxAttempts: number
  status: JobStatus
  result: unknown
  lastError: string | null
  /** 0..1 as reported by the handler, or null. */
  progress: number | null
  leaseOwner: string | null
  leaseExpiresAt: number | null
  cancelRequested: boolean
  dedupKey: string | null
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  updatedAt: number
}

export interface JobLogLine {
  at: number
  line: string
}

export interface JobWithLogs extends Job {
  /** The last lines of the log (at most LOG_TAIL), oldest first. */
  logs: JobLogLine[]
  /** Lines in the whole log. */
  logLines: number
}

export interface EnqueueInput {
  queue: string
  payload?: unknown
  priority?: number
  /** An absolute start time; wins over `delayMs`. */
  runAt?: number | Date
  delayMs?: number
  maxAttempts?: number
  /** While a job with this key is queued or running in the same queue, no second one is created. */
  dedupKey?: string
  /** `keep` (default) returns the live job as is; `replace` updates a queued one's payload, priority and run_at. */
  dedupMode?: 'keep' | 'replace'
}

export interface EnqueueResult {
  job: Job
  /** True when an existing job was returned (or replaced) instead of a new one. */
  deduplicated: boolean
  /** True when mode `replace` updated the existing queued job. */
  replaced: boolean
}

export interface ClaimInput {
  queues: readonly string[]
  owner: string
  limit: number
  leaseMs: number
}

/** Proves who may finish a job: the owner of the claim, and optionally the attempt it claimed. */
export interface LeaseRef {
  id: string
  owner: string
  /** When given, a finish also requires this attempt number, so a stale run by the same owner is rejected too. */
  attempt?: number
}

export type FinishOutcome =
  | { ok: true; status: JobStatus; runAt?: number }
  | { ok: false; reason: 'lease_lost'; status: JobStatus | null }

export interface HeartbeatResult {
  /** False when the job was re-claimed, reaped or finished elsewhere: stop working on it. */
  held: boolean
  cancelRequested: boolean
}

export interface CancelOutcome {
  /** The status after the call: `cancelled`, `running` with a pending cancel, or an unchanged final status. */
  status: JobStatus
  cancelRequested: boolean
  /** True when this call changed something. */
  changed: boolean
}

export interface ListJobsInput {
  queue?: string
  status?: JobStatus
  limit?: number
  continuationToken?: string
}

export interface JobPage {
  jobs: Job[]
  /** Pass back to get the next page; absent on the last page. */
  continuationToken?: string
}

export interface BackoffSettings {
  baseSeconds: number
  factor: number
  maxSeconds: number
  /** Fraction 0..1: the delay is spread uniformly over ±jitter × delay. */
  jitter: number
}

export interface RateLimitSettings {
  perSecond: number
  burst: number
}

export interface QueueSettings {
  queue: string
  /** Running jobs across every runner and process; null = no limit. */
  maxWorkers: number | null
  paused: boolean
  /** How long succeeded, dead and cancelled jobs are kept. */
  retentionSeconds: number
  backoff: BackoffSettings
  /** Enqueues per second per process, null = unlimited. */
  rateLimit: RateLimitSettings | null
}

export type QueueSettingsPatch = Partial<Omit<QueueSettings, 'queue' | 'backoff'>> & {
  backoff?: Partial<BackoffSettings>
}

export interface QueueOverview {
  queue: string
  counts: Record<JobStatus, number>
  settings: QueueSettings
  liveWorkers: number
}
