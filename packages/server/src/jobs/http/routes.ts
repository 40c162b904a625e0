import {
  ApiError,
  BackoffBody,
  CancelResponse,
  CronCreate,
  CronSchedule,
  CronUpdate,
  EnqueueBatchResponse,
  EnqueueRequest,
  EnqueueResponse,
  Job,
  JobWithLogs,
  ListJobsQuery,
  MaxWorkersBody,
  PausedBody,
  QUEUE_NAME_PATTERN,
  QueueOverview,
  QueueSettings,
  RateLimitBody,
  RetentionBody,
  RetryFailedResponse,
  StorageInfo,
} from '@edgeforge/protocol'
import type { FastifyError } from 'fastify'
import { Type } from 'typebox'
import { type App, Ok, OkList, OkNull, ok, okPage } from '../../http/index.ts'
import { redactLocation } from '../../observability/redact.ts'
import type { Db } from '../../store/index.ts'
import type { CronScheduler } from '../engine/cron.ts'
import type { QueueEngine } from '../engine/engine.ts'
import type { BackoffSettings, QueueSettingsPatch } from '../types.ts'
import {
  cronDto,
  cronInput,
  cronPatch,
  enqueueInput,
  enqueueResultDto,
  jobDto,
  jobWithLogsDto,
  queueOverviewDto,
  queueSettingsDto,
} from './dto.ts'
import { locateBatchError, mapStoreError, onWire } from './errors.ts'

/*
 * The job queue's HTTP API on the control listener: thin adapters over the engine and the cron
 * scheduler, mapping the wire shapes of `@edgeforge/protocol` through dto.ts. Every route answers
 * in the `{ ok, data }` envelope; errors keep the shell's mapping, plus: a busy database (SQLite
 * lock, PostgreSQL lock or pool timeout) is a 409 `conflict` to retry, and a 429 carries
 * `Retry-After`. Wire it with `jobsRoutes(app, { engine, cron, db, … })` before the app listens.
 */

export interface JobsRoutesDeps {
  engine: QueueEngine
  cron: CronScheduler
  db: Db
  /** Migrations applied, as `openStore` reported it. */
  schemaVersion: number
  /** When this process started, UTC milliseconds. */
  bootedAt: number
}

const QueueParams = Type.Object(
  { name: Type.String({ pattern: QUEUE_NAME_PATTERN, description: 'Queue name' }) },
  { additionalProperties: false },
)
const CronParams = Type.Object(
  { name: Type.String({ pattern: QUEUE_NAME_PATTERN, description: 'Schedule name' }) },
  { additionalProperties: false },
)
const JobParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, description: 'Job id' }) },
  { additionalProperties: false },
)

const QUEUES = ['queues']
const JOBS = ['jobs']
const CRON = ['cron']
const STORAGE = ['storage']

export function jobsRoutes(app: App, deps: JobsRoutesDeps): void {
  // A scope of its own, so the store-busy mapping and Retry-After apply to these routes only;
  // everything else goes on to the shell's handler (envelope, 500 logging, hidden driver errors).
  app.register(async (scope) => {
    const shellHandler = scope.errorHandler
    scope.setErrorHandler(function handleJobsError(error, req, reply) {
      const mapped = mapStoreError(error)
      if (mapped !== error)
        req.log.warn({ err: error, requestId: req.id }, 'job queue: store busy, answered 409')
      if (mapped instanceof ApiError && mapped.code === 'rate_limited') {
        const seconds = (mapped.details as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds
        if (typeof seconds === 'number') reply.header('retry-after', String(seconds))
      }
      return shellHandler.call(this, mapped as FastifyError, req, reply)
    })
    routes(scope, deps)
  })
}

function routes(app: App, deps: JobsRoutesDeps): void {
  const { engine, cron } = deps

  // Queues -------------------------------------------------------------------------------------

  app.get(
    '/queue/overview',
    {
      schema: {
        tags: QUEUES,
        summary: 'Every queue: job counts by status, live workers, settings',
        description:
          'Lists each queue that has jobs, stored settings or a live worker, by name. Counts cover every status, zeros included.',
        response: { 200: Ok(Type.Array(QueueOverview)) },
      },
    },
    async () => ok((await engine.overview()).map(queueOverviewDto)),
  )

  const settingsRoute = { tags: QUEUES, params: QueueParams, response: { 200: Ok(QueueSettings) } }
  const applySettings = async (queue: string, patch: QueueSettingsPatch) =>
    ok(queueSettingsDto(await onWire(engine.setQueueSettings(queue, patch))))

  app.post(
    '/queue/:name/backoff',
    {
      schema: {
        ...settingsRoute,
        summary: "Set the queue's retry backoff",
        description:
          'Delay before retry n: min(max_seconds, base_seconds × factor^(n-1)), spread by ±jitter. Fields not sent keep their value; max_seconds must stay ≥ base_seconds.',
        body: BackoffBody,
      },
    },
    async (req) => {
      // Only the fields sent: an undefined one would overwrite the stored value.
      const backoff: Partial<BackoffSettings> = {}
      if (req.body.base_seconds !== undefined) backoff.baseSeconds = req.body.base_seconds
      if (req.body.factor !== undefined) backoff.factor = req.body.factor
      if (req.body.max_seconds !== undefined) backoff.maxSeconds = req.body.max_seconds
      if (req.body.jitter !== undefined) backoff.jitter = req.body.jitter
      return applySettings(req.params.name, { backoff })
    },
  )

  app.post(
    '/queue/:name/max-workers',
    {
      schema: {
        ...settingsRoute,
        summary: "Cap the queue's running jobs across every worker",
        description: 'null lifts the cap; 0 lets no job start. Applies at the next claim everywhere.',
        body: MaxWorkersBody,
      },
    },
    async (req) => applySettings(req.params.name, { maxWorkers: req.body.max_workers }),
  )

  app.post(
    '/queue/:name/paused',
    {
      schema: {
        ...settingsRoute,
        summary: 'Pause or resume the queue',
        description: 'A paused queue still takes enqueues; no job of it starts. Running jobs finish.',
        body: PausedBody,
      },
    },
    async (req) => applySettings(req.params.name, { paused: req.body.paused }),
  )

  app.post(
    '/queue/:name/retention',
    {
      schema: {
        ...settingsRoute,
        summary: 'Set how long finished jobs are kept',
        description:
          'Succeeded, dead and cancelled jobs are deleted this many seconds after they finish; failed jobs stay until retried or deleted.',
        body: RetentionBody,
      },
    },
    async (req) => applySettings(req.params.name, { retentionSeconds: req.body.seconds }),
  )

  app.post(
    '/queue/:name/rate-limit',
    {
      schema: {
        ...settingsRoute,
        summary: "Limit the queue's enqueue rate",
        description:
          'A token bucket per process: per_second sustained, burst at once. per_second null or 0 lifts the limit. Beyond it an enqueue gets 429 rate_limited with details.retry_after_seconds and Retry-After.',
        body: RateLimitBody,
      },
    },
    async (req) => {
      const { per_second: perSecond, burst } = req.body
      const rateLimit =
        perSecond === null || perSecond === 0
          ? null
          : { perSecond, burst: burst ?? Math.max(1, Math.ceil(perSecond)) }
      return applySettings(req.params.name, { rateLimit })
    },
  )

  app.post(
    '/queue/:name/retry-failed',
    {
      schema: {
        tags: QUEUES,
        summary: 'Queue every failed job of the queue again, attempts reset',
        description:
          'A failed job whose dedup key is alive again in another job stays failed, keeping the dedup promise.',
        params: QueueParams,
        response: { 200: Ok(RetryFailedResponse) },
      },
    },
    async (req) => ok({ queue: req.params.name, retried: await onWire(engine.retryFailed(req.params.name)) }),
  )

  // Jobs ---------------------------------------------------------------------------------------

  app.post(
    '/jobs',
    {
      schema: {
        tags: JOBS,
        summary: 'Enqueue a job, or a batch of jobs',
        description:
          "One job, or { jobs: [...] } stored all or none in one transaction. 201 either way; deduplicated says an existing live job with the same dedup_key was returned (or, with dedup_mode replace, updated). Beyond the queue's rate limit: 429 rate_limited with details.retry_after_seconds and Retry-After.",
        body: EnqueueRequest,
        response: {
          201: Type.Union([
            Ok(EnqueueResponse, 'One job'),
            Ok(EnqueueBatchResponse, 'A batch, in request order'),
          ]),
        },
      },
    },
    async (req, reply) => {
      const body = req.body
      if ('jobs' in body) {
        const inputs = body.jobs.map(enqueueInput)
        try {
          const results = await engine.enqueueBatch(inputs)
          return reply.code(201).send(ok({ jobs: results.map(enqueueResultDto) }))
        } catch (error) {
          throw locateBatchError(engine, error, inputs)
        }
      }
      const result = await onWire(engine.enqueue(enqueueInput(body)))
      return reply.code(201).send(ok(enqueueResultDto(result)))
    },
  )

  app.get(
    '/jobs',
    {
      schema: {
        tags: JOBS,
        summary: 'List jobs, oldest first, optionally of one queue and status',
        querystring: ListJobsQuery,
        response: { 200: OkList(Job) },
      },
    },
    async (req) => {
      const page = await onWire(
        engine.listJobs({
          queue: req.query.queue,
          status: req.query.status,
          limit: req.query.limit,
          continuationToken: req.query.continuation_token,
        }),
        'querystring',
      )
      return okPage({ items: page.jobs.map(jobDto), continuation_token: page.continuationToken ?? null })
    },
  )

  app.get(
    '/jobs/:id',
    {
      schema: {
        tags: JOBS,
        summary: 'Get a job with its log',
        params: JobParams,
        response: { 200: Ok(JobWithLogs) },
      },
    },
    async (req) => ok(jobWithLogsDto(await engine.getJob(req.params.id))),
  )

  app.post(
    '/jobs/:id/retry',
    {
      schema: {
        tags: JOBS,
        summary: 'Queue a failed, dead or cancelled job again, attempts reset',
        description:
          '409 conflict when the job is queued, running or succeeded, or when its dedup key is alive in another job.',
        params: JobParams,
        response: { 200: Ok(Job) },
      },
    },
    async (req) => ok(jobDto(await engine.retry(req.params.id))),
  )

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        tags: JOBS,
        summary: 'Cancel a job',
        description:
          "A queued job ends cancelled at once. A running one gets cancel_requested: its handler's signal is aborted (within a heartbeat in another process) and it ends cancelled — or succeeded, if it finished first. A finished job is left as it is (changed: false).",
        params: JobParams,
        response: { 200: Ok(CancelResponse) },
      },
    },
    async (req) => {
      const outcome = await engine.cancel(req.params.id)
      return ok({
        status: outcome.status,
        cancel_requested: outcome.cancelRequested,
        changed: outcome.changed,
      })
    },
  )

  app.delete(
    '/jobs/:id',
    {
      schema: {
        tags: JOBS,
        summary: 'Delete a job and its log',
        description: '409 conflict while it runs: cancel it first.',
        params: JobParams,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await engine.deleteJob(req.params.id)
      return ok(null)
    },
  )

  // Cron ---------------------------------------------------------------------------------------

  app.get(
    '/cron',
    {
      schema: {
        tags: CRON,
        summary: 'List cron schedules by name',
        response: { 200: Ok(Type.Array(CronSchedule)) },
      },
    },
    async () => ok((await cron.list()).map(cronDto)),
  )

  app.post(
    '/cron',
    {
      schema: {
        tags: CRON,
        summary: 'Create a cron schedule',
        description:
          'Each fire time enqueues one job with the dedup key cron:<name>:<fire time>, so runs never pile up. 409 conflict when the name is taken.',
        body: CronCreate,
        response: { 201: Ok(CronSchedule) },
      },
    },
    async (req, reply) => reply.code(201).send(ok(cronDto(await onWire(cron.create(cronInput(req.body)))))),
  )

  app.get(
    '/cron/:name',
    {
      schema: {
        tags: CRON,
        summary: 'Get a cron schedule',
        params: CronParams,
        response: { 200: Ok(CronSchedule) },
      },
    },
    async (req) => ok(cronDto(await cron.get(req.params.name))),
  )

  app.put(
    '/cron/:name',
    {
      schema: {
        tags: CRON,
        summary: 'Update a cron schedule',
        description: 'Only the fields sent change; the next fire time is computed afresh from now.',
        params: CronParams,
        body: CronUpdate,
        response: { 200: Ok(CronSchedule) },
      },
    },
    async (req) => ok(cronDto(await onWire(cron.update(req.params.name, cronPatch(req.body))))),
  )

  app.delete(
    '/cron/:name',
    {
      schema: {
        tags: CRON,
        summary: 'Delete a cron schedule',
        description: 'Jobs it already enqueued stay.',
        params: CronParams,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await cron.remove(req.params.name)
      return ok(null)
    },
  )

  app.post(
    '/cron/:name/trigger',
    {
      schema: {
        tags: CRON,
        summary: "Enqueue the schedule's job now, outside its timetable",
        params: CronParams,
        response: { 201: Ok(EnqueueResponse) },
      },
    },
    async (req, reply) => reply.code(201).send(ok(enqueueResultDto(await cron.trigger(req.params.name)))),
  )

  // Storage ------------------------------------------------------------------------------------

  app.get(
    '/storage/info',
    {
      schema: {
        tags: STORAGE,
        summary: 'The store: backend, schema version, size or server version, boot time',
        description: 'The location never carries a password.',
        response: { 200: Ok(StorageInfo) },
      },
    },
    async () => {
      const described = await deps.db.describe()
      return ok({
        backend: described.backend,
        location: redactLocation(described.location),
        schema_version: deps.schemaVersion,
        size_bytes: described.sizeBytes ?? null,
        server_version: described.serverVersion ?? null,
        booted_at: new Date(deps.bootedAt).toISOString(),
      })
    },
  )
}
