import { type Static, Type } from 'typebox'
import { QUEUE_NAME_PATTERN } from './catalog.ts'

/*
 * The job queue's wire shapes (snake_case, ISO-8601 times), shared by the control-plane routes,
 * the client, the CLI and the remote worker. The engine works in camelCase and UTC milliseconds;
 * the HTTP adapter maps between the two.
 */

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'] as const
export type JobStatusName = (typeof JOB_STATUSES)[number]

export const PRIORITY_MIN = -32768
export const PRIORITY_MAX = 32767
export const MAX_ATTEMPTS_LIMIT = 100
export const MAX_ENQUEUE_BATCH = 10_000

const Timestamp = (description: string) => Type.String({ format: 'date-time', description })
const NullableTimestamp = (description: string) =>
  Type.Union([Timestamp(description), Type.Null()], { description })
const QueueName = Type.String({
  pattern: QUEUE_NAME_PATTERN,
  description: "Queue name: 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
})
const JobStatus = Type.Union(
  JOB_STATUSES.map((status) => Type.Literal(status)),
  { description: 'queued → running → succeeded | failed | dead | cancelled; see docs/jobs.md' },
)

export const Job = Type.Object({
  id: Type.String({ description: 'Job id (UUIDv7, sorts by creation time)' }),
  queue: QueueName,
  payload: Type.Unknown({ description: 'The JSON payload given at enqueue' }),
  priority: Type.Integer({ description: 'Higher runs first within the queue' }),
  run_at: Timestamp('Not started before this time'),
  attempts: Type.Integer({ minimum: 0, description: 'Runs started so far, the current one included' }),
  max_attempts: Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT }),
  status: JobStatus,
  result: Type.Unknown({ description: 'What the handler returned (null until it succeeded)' }),
  last_error: Type.Union([Type.String(), Type.Null()], { description: 'The last failure, stack included' }),
  progress: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
  lease_owner: Type.Union([Type.String(), Type.Null()], {
    description: 'Worker holding (or last holding) the job',
  }),
  lease_expires_at: NullableTimestamp('When the running lease lapses unless renewed'),
  cancel_requested: Type.Boolean(),
  dedup_key: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp('Enqueued at'),
  started_at: NullableTimestamp('Last claimed at'),
  finished_at: NullableTimestamp('Reached its final status at'),
  updated_at: Timestamp('Last changed at'),
})
export type Job = Static<typeof Job>

export const JobLogLine = Type.Object({ at: Timestamp('Logged at'), line: Type.String() })
export type JobLogLine = Static<typeof JobLogLine>

export const JobWithLogs = Type.Intersect([Job, Type.Object({ logs: Type.Array(JobLogLine) })])
export type JobWithLogs = Static<typeof JobWithLogs>

export const EnqueueJob = Type.Object(
  {
    queue: QueueName,
    payload: Type.Optional(Type.Unknown({ description: 'Any JSON value (default null), at most 1 MiB' })),
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX, default: 0 })),
    run_at: Type.Optional(Timestamp('Start no earlier than this (wins over delay_ms)')),
    delay_ms: Type.Optional(Type.Integer({ minimum: 0, description: 'Start no earlier than now + this' })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT, default: 3 })),
    dedup_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'While a job with this key is queued or running in the queue, no second one is created',
      }),
    ),
    dedup_mode: Type.Optional(
      Type.Union([Type.Literal('keep'), Type.Literal('replace')], {
        description: 'keep (default): return the live job; replace: update a queued one',
      }),
    ),
  },
  { additionalProperties: false },
)
export type EnqueueJob = Static<typeof EnqueueJob>

/** `POST /jobs` takes one job, or `{ jobs: [...] }` for a batch stored in one transaction. */
export const EnqueueRequest = Type.Union([
  EnqueueJob,
  Type.Object({ jobs: Type.Array(EnqueueJob, { minItems: 1, maxItems: MAX_ENQUEUE_BATCH }) }),
])
export type EnqueueRequest = Static<typeof EnqueueRequest>

export const EnqueueResponse = Type.Object({
  job: Job,
  deduplicated: Type.Boolean({ description: 'An existing live job was returned (or replaced)' }),
  replaced: Type.Boolean({ description: "dedup_mode 'replace' updated the existing queued job" }),
})
export type EnqueueResponse = Static<typeof EnqueueResponse>

export const ListJobsQuery = Type.Object({
  queue: Type.Optional(QueueName),
  status: Type.Optional(JobStatus),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  continuation_token: Type.Optional(Type.String({ description: 'From the previous page' })),
})
export type ListJobsQuery = Static<typeof ListJobsQuery>

export const JobPage = Type.Object({
  jobs: Type.Array(Job),
  continuation_token: Type.Optional(Type.String({ description: 'Absent on the last page' })),
})
export type JobPage = Static<typeof JobPage>

export const CancelResponse = Type.Object({
  status: JobStatus,
  cancel_requested: Type.Boolean(),
  changed: Type.Boolean({ description: 'False when the job had already finished' }),
})
export type CancelResponse = Static<typeof CancelResponse>

// ---------------------------------------------------------------------------------------------
// Queue settings: each POST /queue/{name}/<setting> route takes one of these bodies.

export const BackoffSettings = Type.Object(
  {
    base_seconds: Type.Number({ minimum: 0, description: 'Delay before the first retry' }),
    factor: Type.Number({ minimum: 1, maximum: 100, description: 'Growth per further attempt' }),
    max_seconds: Type.Number({ minimum: 0, description: 'Cap on the delay' }),
    jitter: Type.Number({
      minimum: 0,
      maximum: 1,
      description: 'Random spread, a fraction of the delay (±)',
    }),
  },
  { additionalProperties: false },
)
export type BackoffSettings = Static<typeof BackoffSettings>

export const RateLimitSettings = Type.Object(
  {
    per_second: Type.Number({
      exclusiveMinimum: 0,
      description: 'Sustained enqueues per second, per process',
    }),
    burst: Type.Integer({ minimum: 1, description: 'Enqueues allowed at once after a quiet spell' }),
  },
  { additionalProperties: false },
)
export type RateLimitSettings = Static<typeof RateLimitSettings>

export const MaxWorkersBody = Type.Object({
  max_workers: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Running jobs across every worker; null lifts the limit',
  }),
})
export const PausedBody = Type.Object({ paused: Type.Boolean() })
export const RetentionBody = Type.Object({
  retention_seconds: Type.Integer({
    minimum: 0,
    description: 'How long succeeded, dead and cancelled jobs are kept',
  }),
})
export const RateLimitBody = Type.Object({ rate_limit: Type.Union([RateLimitSettings, Type.Null()]) })

export const QueueSettings = Type.Object({
  queue: QueueName,
  max_workers: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  paused: Type.Boolean(),
  retention_seconds: Type.Integer({ minimum: 0 }),
  backoff: BackoffSettings,
  rate_limit: Type.Union([RateLimitSettings, Type.Null()]),
})
export type QueueSettings = Static<typeof QueueSettings>

export const QueueOverview = Type.Object({
  queue: QueueName,
  counts: Type.Record(JobStatus, Type.Integer({ minimum: 0 })),
  live_workers: Type.Integer({ minimum: 0 }),
  settings: QueueSettings,
})
export type QueueOverview = Static<typeof QueueOverview>

// ---------------------------------------------------------------------------------------------
// Cron

export const CronSchedule = Type.Object({
  name: QueueName,
  cron: Type.String({ description: "Five to seven fields, e.g. '*/5 * * * *'" }),
  timezone: Type.String({ description: 'IANA zone the expression is read in (default UTC)' }),
  queue: QueueName,
  payload: Type.Unknown(),
  priority: Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX }),
  max_attempts: Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT }),
  enabled: Type.Boolean(),
  last_fired_at: NullableTimestamp('Fire time of the last run'),
  next_fire_at: NullableTimestamp('Next fire time (null when the expression has none left)'),
  created_at: Timestamp('Created at'),
  updated_at: Timestamp('Last changed at'),
})
export type CronSchedule = Static<typeof CronSchedule>

export const CronCreate = Type.Object(
  {
    name: QueueName,
    cron: Type.String({ minLength: 1 }),
    timezone: Type.Optional(Type.String({ minLength: 1 })),
    queue: QueueName,
    payload: Type.Optional(Type.Unknown()),
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type CronCreate = Static<typeof CronCreate>

export const CronUpdate = Type.Partial(Type.Omit(CronCreate, ['name']))
export type CronUpdate = Static<typeof CronUpdate>
