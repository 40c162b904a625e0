export { backoffDelayMs } from './backoff.ts'
export {
  type CronInput,
  type CronPatch,
  type CronSchedule,
  type CronScheduler,
  createCronScheduler,
  fireKey,
} from './cron.ts'
export {
  cronDto,
  enqueueInput,
  enqueueResultDto,
  jobDto,
  jobWithLogsDto,
  queueOverviewDto,
  queueSettingsDto,
} from './dto.ts'
export {
  createQueueEngine,
  DEFAULT_MAX_ATTEMPTS,
  type QueueEngine,
  type QueueEngineOptions,
} from './engine.ts'
export { isUnrecoverable, UNRECOVERABLE, UnrecoverableError } from './errors.ts'
export type { Completion, FailOptions } from './finish.ts'
export { isTransientStoreError, mapStoreError } from './http-errors.ts'
// Metrics: main.ts calls registerJobMetrics(metrics.registry, { engine, liveWorkers }) once, and
// the runner calls observeStart / observeFinish around each job it runs.
export {
  JOB_SECONDS_BUCKETS,
  type JobMetrics,
  type JobMetricsDeps,
  type JobOutcome,
  registerJobMetrics,
} from './metrics.ts'
export { createNotifier, JOBS_CHANNEL, LocalNotifier, type Notifier, PostgresNotifier } from './notifier.ts'
// HTTP API: main.ts calls jobsRoutes(app, { engine, cron, db, schemaVersion, bootedAt, liveWorkers }) before listen.
export { type JobsRoutesDeps, jobsRoutes } from './routes.ts'
export {
  type AbortCause,
  createRunner,
  JobAbortError,
  type Runner,
  type RunnerJobContext,
  type RunnerOptions,
  type RunnerStats,
} from './runner.ts'
export { DEFAULT_QUEUE_SETTINGS } from './settings.ts'
export * from './types.ts'
export { QUEUE_NAME } from './validate.ts'
