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
  [
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
    Type.Literal('dead'),
  ],
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

export const JobWithLogs = Type.Object({
  ...Job.properties,
  logs: Type.Array(JobLogLine, {
    description:
      'The last 100 lines the handler logged, oldest first; GET /jobs/{id}/log pages the whole log',
  }),
  log_lines: Type.Integer({ minimum: 0, description: 'Lines in the whole log' }),
})
export type JobWithLogs = Static<typeof JobWithLogs>

export const JobLogQuery = Type.Object({
  start: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Offset of the first line to return (0 = the first line)',
    }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'Lines per page' }),
  ),
})
export type JobLogQuery = Static<typeof JobLogQuery>

export const JobLogPage = Type.Object({
  lines: Type.Array(
    Type.Object({ offset: Type.Integer({ minimum: 0 }), at: Timestamp('Logged at'), line: Type.String() }),
    { description: 'Lines from `start`, in offset order' },
  ),
  next_start: Type.Integer({
    minimum: 0,
    description: 'Pass as `start` for the next page; equal to `start` when no line is stored there yet',
  }),
})
export type JobLogPage = Static<typeof JobLogPage>

/** Upper bound of `delay_seconds`: ten years. */
export const MAX_DELAY_SECONDS = 10 * 365 * 86_400
export const MAX_RETENTION_SECONDS = 10 * 365 * 86_400

export const EnqueueJob = Type.Object(
  {
    queue: QueueName,
    payload: Type.Optional(Type.Unknown({ description: 'Any JSON value (default null), at most 1 MiB' })),
    priority: Type.Optional(
      Type.Integer({
        minimum: PRIORITY_MIN,
        maximum: PRIORITY_MAX,
        description: 'Higher runs first within the queue (default 0)',
      }),
    ),
    run_at: Type.Optional(Timestamp('Start no earlier than this (wins over delay_seconds)')),
    delay_seconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: MAX_DELAY_SECONDS,
        description: 'Start no earlier than now + this many seconds (fractions allowed)',
      }),
    ),
    max_attempts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_ATTEMPTS_LIMIT,
        description: "Runs before the job ends failed (default: the server's, 3)",
      }),
    ),
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
  { additionalProperties: false, description: 'One job to enqueue' },
)
export type EnqueueJob = Static<typeof EnqueueJob>

export const EnqueueBatch = Type.Object(
  { jobs: Type.Array(EnqueueJob, { minItems: 1, maxItems: MAX_ENQUEUE_BATCH }) },
  { additionalProperties: false, description: 'Jobs stored in one transaction: all or none' },
)
export type EnqueueBatch = Static<typeof EnqueueBatch>

/**
 * `POST /jobs` takes one job, or `{ jobs: [...] }` for a batch. Written as if/then/else on the
 * presence of `jobs` rather than a union, so a bad field is reported against the shape the caller
 * meant (`body.jobs.3.queue`), not against whichever branch the validator tried first.
 */
export const EnqueueRequest = Type.Unsafe<EnqueueJob | EnqueueBatch>({
  type: 'object',
  if: { type: 'object', required: ['jobs'] },
  // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword; its value is a schema, not a function
  then: EnqueueBatch,
  else: EnqueueJob,
  description: 'One job, or { jobs: [...] } for a batch',
})
export type EnqueueRequest = EnqueueJob | EnqueueBatch

export const EnqueueResponse = Type.Object({
  job: Job,
  deduplicated: Type.Boolean({ description: 'An existing live job was returned (or replaced)' }),
  replaced: Type.Boolean({ description: "dedup_mode 'replace' updated the existing queued job" }),
})
export type EnqueueResponse = Static<typeof EnqueueResponse>

export const EnqueueBatchResponse = Type.Object({
  jobs: Type.Array(EnqueueResponse, { description: 'In the order of the request' }),
})
export type EnqueueBatchResponse = Static<typeof EnqueueBatchResponse>

export const ListJobsQuery = Type.Object(
  {
    queue: Type.Optional(QueueName),
    status: Type.Optional(JobStatus),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Jobs per page' }),
    ),
    continuation_token: Type.Optional(
      Type.String({ maxLength: 512, description: 'From the previous page; absent on the first' }),
    ),
  },
  { additionalProperties: false },
)
export type ListJobsQuery = Static<typeof ListJobsQuery>

export const CancelResponse = Type.Object({
  status: JobStatus,
  cancel_requested: Type.Boolean({ description: 'True while a running job is being told to stop' }),
  changed: Type.Boolean({ description: 'False when the job had already finished' }),
})
export type CancelResponse = Static<typeof CancelResponse>

export const RetryFailedResponse = Type.Object({
  queue: QueueName,
  retried: Type.Integer({ minimum: 0, description: 'Failed jobs queued again' }),
})
export type RetryFailedResponse = Static<typeof RetryFailedResponse>

// ---------------------------------------------------------------------------------------------
// Queue settings: each POST /queue/{name}/<setting> route takes one of these bodies.

export const MAX_BACKOFF_BASE_SECONDS = 30 * 86_400
export const MAX_BACKOFF_SECONDS = 365 * 86_400
export const MAX_WORKERS_LIMIT = 100_000
export const MAX_RATE_PER_SECOND = 1_000_000

const BackoffFields = {
  base_seconds: Type.Number({
    minimum: 0,
    maximum: MAX_BACKOFF_BASE_SECONDS,
    description: 'Delay before the first retry',
  }),
  factor: Type.Number({ minimum: 1, maximum: 100, description: 'Growth per further attempt' }),
  max_seconds: Type.Number({
    minimum: 0,
    maximum: MAX_BACKOFF_SECONDS,
    description: 'Cap on the delay; at least base_seconds',
  }),
  jitter: Type.Number({
    minimum: 0,
    maximum: 1,
    description: 'Random spread, a fraction of the delay (±)',
  }),
}

export const BackoffSettings = Type.Object(BackoffFields, {
  additionalProperties: false,
  description: 'Delay before retry n: min(max_seconds, base_seconds × factor^(n-1)) ± jitter',
})
export type BackoffSettings = Static<typeof BackoffSettings>

/** `POST /queue/{name}/backoff`: the fields sent change, the others keep their value. */
export const BackoffBody = Type.Object(
  {
    base_seconds: Type.Optional(BackoffFields.base_seconds),
    factor: Type.Optional(BackoffFields.factor),
    max_seconds: Type.Optional(BackoffFields.max_seconds),
    jitter: Type.Optional(BackoffFields.jitter),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type BackoffBody = Static<typeof BackoffBody>

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

/**
 * A nullable number in a request body, as `type: [..., 'null']` rather than a union with Null:
 * the control plane's validator coerces types, and inside a union it would turn `null` into `0`
 * before trying the Null branch (`max_workers: null` would mean "run nothing").
 */
function NullableInBody<T>(
  schema: { type: [string, 'null']; description: string } & Record<string, unknown>,
) {
  return Type.Unsafe<T | null>(schema)
}

/** `POST /queue/{name}/max-workers` */
export const MaxWorkersBody = Type.Object(
  {
    max_workers: NullableInBody<number>({
      type: ['integer', 'null'],
      minimum: 0,
      maximum: MAX_WORKERS_LIMIT,
      description: 'Running jobs across every worker and process; null lifts the limit, 0 runs none',
    }),
  },
  { additionalProperties: false },
)
export type MaxWorkersBody = Static<typeof MaxWorkersBody>

/** `POST /queue/{name}/paused` */
export const PausedBody = Type.Object(
  { paused: Type.Boolean({ description: 'A paused queue takes enqueues but starts no job' }) },
  { additionalProperties: false },
)
export type PausedBody = Static<typeof PausedBody>

/** `POST /queue/{name}/retention` */
export const RetentionBody = Type.Object(
  {
    seconds: Type.Integer({
      minimum: 0,
      maximum: MAX_RETENTION_SECONDS,
      description: 'How long succeeded, dead and cancelled jobs are kept after they finish',
    }),
  },
  { additionalProperties: false },
)
export type RetentionBody = Static<typeof RetentionBody>

/** `POST /queue/{name}/rate-limit`: `per_second` null or 0 lifts the limit. */
export const RateLimitBody = Type.Object(
  {
    per_second: NullableInBody<number>({
      type: ['number', 'null'],
      minimum: 0,
      maximum: MAX_RATE_PER_SECOND,
      description: 'Sustained enqueues per second, per process; null or 0 lifts the limit',
    }),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_RATE_PER_SECOND,
        description: 'Enqueues allowed at once after a quiet spell (default: per_second rounded up)',
      }),
    ),
  },
  { additionalProperties: false },
)
export type RateLimitBody = Static<typeof RateLimitBody>

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

export const CronUpdate = Type.Object(
  {
    cron: Type.Optional(CronCreate.properties.cron),
    timezone: Type.Optional(CronCreate.properties.timezone),
    queue: Type.Optional(QueueName),
    payload: Type.Optional(Type.Unknown()),
    priority: Type.Optional(Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT })),
    enabled: Type.Optional(Type.Boolean()),
  },
  {
    additionalProperties: false,
    description: 'The fields sent change; the next fire time is computed afresh',
  },
)
export type CronUpdate = Static<typeof CronUpdate>

// ---------------------------------------------------------------------------------------------
// Storage

export const StorageInfo = Type.Object({
  backend: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  location: Type.String({ description: 'Database file, or the server URL without its password' }),
  schema_version: Type.Integer({ minimum: 0, description: 'Migrations applied' }),
  size_bytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Database file (and WAL) size, or pg_database_size',
  }),
  server_version: Type.Union([Type.String(), Type.Null()], { description: 'PostgreSQL server version' }),
  booted_at: Timestamp('When this server process started'),
})
export type StorageInfo = Static<typeof StorageInfo>
