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
  createQueueEngine,
  DEFAULT_MAX_ATTEMPTS,
  type QueueEngine,
  type QueueEngineOptions,
} from './engine.ts'
export { isUnrecoverable, UNRECOVERABLE, UnrecoverableError } from './errors.ts'
export type { Completion, FailOptions } from './finish.ts'
export { createNotifier, JOBS_CHANNEL, LocalNotifier, type Notifier, PostgresNotifier } from './notifier.ts'
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
