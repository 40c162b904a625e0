import { ApiError, jobsApi } from '@edgeforge/protocol'
import type { FastifyError } from 'fastify'
import { type App, declared, ok, okPage } from '../../http/index.ts'
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
  logPageDto,
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

  app.route({
    ...declared(jobsApi.queueOverview),
    handler: async () => ok((await engine.overview()).map(queueOverviewDto)),
  })

  const applySettings = async (queue: string, patch: QueueSettingsPatch) =>
    ok(queueSettingsDto(await onWire(engine.setQueueSettings(queue, patch))))

  app.route({
    ...declared(jobsApi.setQueueBackoff),
    handler: async (req) => {
      // Only the fields sent: an undefined one would overwrite the stored value.
      const backoff: Partial<BackoffSettings> = {}
      if (req.body.base_seconds !== undefined) backoff.baseSeconds = req.body.base_seconds
      if (req.body.factor !== undefined) backoff.factor = req.body.factor
      if (req.body.max_seconds !== undefined) backoff.maxSeconds = req.body.max_seconds
      if (req.body.jitter !== undefined) backoff.jitter = req.body.jitter
      return applySettings(req.params.name, { backoff })
    },
  })

  app.route({
    ...declared(jobsApi.setQueueMaxWorkers),
    handler: async (req) => applySettings(req.params.name, { maxWorkers: req.body.max_workers }),
  })

  app.route({
    ...declared(jobsApi.setQueuePaused),
    handler: async (req) => applySettings(req.params.name, { paused: req.body.paused }),
  })

  app.route({
    ...declared(jobsApi.setQueueRetention),
    handler: async (req) => applySettings(req.params.name, { retentionSeconds: req.body.seconds }),
  })

  app.route({
    ...declared(jobsApi.setQueueRateLimit),
    handler: async (req) => {
      const { per_second: perSecond, burst } = req.body
      const rateLimit =
        perSecond === null || perSecond === 0
          ? null
          : { perSecond, burst: burst ?? Math.max(1, Math.ceil(perSecond)) }
      return applySettings(req.params.name, { rateLimit })
    },
  })

  app.route({
    ...declared(jobsApi.retryFailedJobs),
    handler: async (req) =>
      ok({ queue: req.params.name, retried: await onWire(engine.retryFailed(req.params.name)) }),
  })

  // Jobs ---------------------------------------------------------------------------------------

  app.route({
    ...declared(jobsApi.enqueueJobs),
    handler: async (req, reply) => {
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
  })

  app.route({
    ...declared(jobsApi.listJobs),
    handler: async (req) => {
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
  })

  app.route({
    ...declared(jobsApi.getJob),
    handler: async (req) => ok(jobWithLogsDto(await engine.getJob(req.params.id))),
  })

  app.route({
    ...declared(jobsApi.getJobLog),
    handler: async (req) =>
      ok(logPageDto(await engine.readLog(req.params.id, req.query.start ?? 0, req.query.limit ?? 1000))),
  })

  app.route({
    ...declared(jobsApi.retryJob),
    handler: async (req) => ok(jobDto(await engine.retry(req.params.id))),
  })

  app.route({
    ...declared(jobsApi.cancelJob),
    handler: async (req) => {
      const outcome = await engine.cancel(req.params.id)
      return ok({
        status: outcome.status,
        cancel_requested: outcome.cancelRequested,
        changed: outcome.changed,
      })
    },
  })

  app.route({
    ...declared(jobsApi.deleteJob),
    handler: async (req) => {
      await engine.deleteJob(req.params.id)
      return ok(null)
    },
  })

  // Cron ---------------------------------------------------------------------------------------

  app.route({
    ...declared(jobsApi.listCronSchedules),
    handler: async () => ok((await cron.list()).map(cronDto)),
  })

  app.route({
    ...declared(jobsApi.createCronSchedule),
    handler: async (req, reply) =>
      reply.code(201).send(ok(cronDto(await onWire(cron.create(cronInput(req.body)))))),
  })

  app.route({
    ...declared(jobsApi.getCronSchedule),
    handler: async (req) => ok(cronDto(await cron.get(req.params.name))),
  })

  app.route({
    ...declared(jobsApi.updateCronSchedule),
    handler: async (req) => ok(cronDto(await onWire(cron.update(req.params.name, cronPatch(req.body))))),
  })

  app.route({
    ...declared(jobsApi.deleteCronSchedule),
    handler: async (req) => {
      await cron.remove(req.params.name)
      return ok(null)
    },
  })

  app.route({
    ...declared(jobsApi.triggerCronSchedule),
    handler: async (req, reply) =>
      reply.code(201).send(ok(enqueueResultDto(await cron.trigger(req.params.name)))),
  })

  // Storage ------------------------------------------------------------------------------------

  app.route({
    ...declared(jobsApi.storageInfo),
    handler: async () => {
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
  })
}
