// The job queue. Imports run one way: http/ and local/ (and a later remote/) → engine/ → sql/ →
// the shared vocabulary at this level (types, errors, validation, backoff, rate limit).
//   engine/  the engine facade, cron, metrics: what every runner and route calls
//   sql/     one file per operation on the jobs tables, and the context they share
//   http/    the /queue and /jobs routes, their DTOs and error mapping
//   local/   the in-process runner and the runtime that feeds it deployed job handlers
export { backoffDelayMs } from './backoff.ts'
export {
  type CronInput,
  type CronPatch,
  type CronSchedule,
  type CronScheduler,
  createCronScheduler,
  fireKey,
} from './engine/cron.ts'
export {
  createQueueEngine,
  DEFAULT_MAX_ATTEMPTS,
  type QueueEngine,
  type QueueEngineOptions,
} from './engine/engine.ts'
// Metrics: main.ts calls registerJobMetrics(metrics.registry, { engine }) once, and
// the runner calls observeStart / observeFinish around each job it runs.
export {
  JOB_SECONDS_BUCKETS,
  type JobMetrics,
  type JobMetricsDeps,
  type JobOutcome,
  registerJobMetrics,
} from './engine/metrics.ts'
export { isUnrecoverable, UNRECOVERABLE, UnrecoverableError } from './errors.ts'
// Event streams: main.ts builds an EventFeed on the store, wakes it from the engine's recorder and
// registers eventRoutes(app, { engine, feed, hasScope }).
export { EventFeed } from './events/feed.ts'
export { EventRecorder } from './events/recorder.ts'
export { type EventRoutesDeps, eventRoutes, streamSpec, visibleTo } from './events/routes.ts'
export { sweepEvents } from './events/sql.ts'
export { isEventStreamPath, routeUpgrade } from './events/ws.ts'
export {
  cronDto,
  enqueueInput,
  enqueueResultDto,
  jobDto,
  jobWithLogsDto,
  queueOverviewDto,
  queueSettingsDto,
} from './http/dto.ts'
export { isTransientStoreError, mapStoreError } from './http/errors.ts'
// HTTP API: main.ts calls jobsRoutes(app, { engine, cron, db, schemaVersion, bootedAt }) before listen.
export { type JobsRoutesDeps, jobsRoutes } from './http/routes.ts'
export { registerJobPoolMetrics } from './local/job-pool.ts'
export {
  type AbortCause,
  createRunner,
  JobAbortError,
  type Runner,
  type RunnerJobContext,
  type RunnerOptions,
  type RunnerStats,
} from './local/runner.ts'
export { type JobObserver, JobRuntime, type JobRuntimeOptions } from './local/runtime.ts'
// Remote workers: main.ts builds a WorkerHub, hands it the control listener's upgrade events and
// registers workerRoutes(app, { hub, engine, handlers }).
export { type DeployedHandlerPort, DeployedHandlers } from './remote/handlers.ts'
export { WorkerHub } from './remote/hub.ts'
export { parseWorkerControl, WORKER_CONTROL_CHANNEL } from './remote/presence.ts'
export { type WorkerRoutesDeps, workerRoutes } from './remote/routes.ts'
export type { WorkerAuth, WorkerHubOptions, WorkerSession } from './remote/session.ts'
export type { Completion, FailOptions } from './sql/finish.ts'
export {
  createNotifier,
  JOBS_CHANNEL,
  LocalNotifier,
  type Notifier,
  PostgresNotifier,
} from './sql/notifier.ts'
export { DEFAULT_QUEUE_SETTINGS } from './sql/settings.ts'
export * from './types.ts'
export { QUEUE_NAME } from './validate.ts'
