import { Type } from 'typebox'
import { QUEUE_NAME_PATTERN } from '../catalog.ts'
import {
  BackoffBody,
  CancelResponse,
  CronCreate,
  CronSchedule,
  CronUpdate,
  EnqueueBatchResponse,
  EnqueueRequest,
  EnqueueResponse,
  Job,
  JobLogPage,
  JobLogQuery,
  JobWithLogs,
  ListJobsQuery,
  MaxWorkersBody,
  PausedBody,
  QueueOverview,
  QueueSettings,
  RateLimitBody,
  RetentionBody,
  RetryFailedResponse,
  StorageInfo,
} from '../jobs.ts'
import { declare } from './declare.ts'
import { Ok, OkList, OkNull } from './envelope.ts'

/*
 * The job queue's routes: queues, jobs, cron schedules, storage. Every one of them may answer
 * 409 `conflict` when the store is busy (retry), so `conflict` is in every list.
 */

export const QueueParams = Type.Object(
  { name: Type.String({ pattern: QUEUE_NAME_PATTERN, description: 'Queue name' }) },
  { additionalProperties: false },
)
export const CronParams = Type.Object(
  { name: Type.String({ pattern: QUEUE_NAME_PATTERN, description: 'Schedule name' }) },
  { additionalProperties: false },
)
export const JobParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, description: 'Job id' }) },
  { additionalProperties: false },
)

const context = 'jobs' as const
const stability = 'stable' as const

const queueSetting = <M extends string>(name: string, method: M, path: string) => ({
  name,
  client: { group: 'queues' as const, method },
  context,
  method: 'POST' as const,
  path: `/queue/{name}/${path}`,
  params: QueueParams,
  responses: { 200: Ok(QueueSettings) },
  errors: ['conflict'] as const,
  scopes: 'queues:configure:<name>',
  stability,
})

export const jobsApi = {
  // Queues -------------------------------------------------------------------------------------
  queueOverview: declare({
    name: 'queueOverview',
    client: { group: 'queues', method: 'list' },
    context,
    method: 'GET',
    path: '/queue/overview',
    summary: 'Every queue: job counts by status, live workers, settings',
    description:
      'Lists each queue that has jobs, stored settings or a live worker, by name. Counts cover every status, zeros included.',
    responses: { 200: Ok(Type.Array(QueueOverview)) },
    errors: ['conflict'],
    scopes: 'queues:read:*',
    stability,
  }),
  setQueueBackoff: declare({
    ...queueSetting('setQueueBackoff', 'setBackoff', 'backoff'),
    body: BackoffBody,
    summary: "Set the queue's retry backoff",
    description:
      'Delay before retry n: min(max_seconds, base_seconds × factor^(n-1)), spread by ±jitter. Fields not sent keep their value; max_seconds must stay ≥ base_seconds.',
  }),
  setQueueMaxWorkers: declare({
    ...queueSetting('setQueueMaxWorkers', 'setMaxWorkers', 'max-workers'),
    body: MaxWorkersBody,
    summary: "Cap the queue's running jobs across every worker",
    description: 'null lifts the cap; 0 lets no job start. Applies at the next claim everywhere.',
  }),
  setQueuePaused: declare({
    ...queueSetting('setQueuePaused', 'setPaused', 'paused'),
    body: PausedBody,
    summary: 'Pause or resume the queue',
    description: 'A paused queue still takes enqueues; no job of it starts. Running jobs finish.',
  }),
  setQueueRetention: declare({
    ...queueSetting('setQueueRetention', 'setRetention', 'retention'),
    body: RetentionBody,
    summary: 'Set how long finished jobs are kept',
    description:
      'Succeeded, dead and cancelled jobs are deleted this many seconds after they finish; failed jobs stay until retried or deleted.',
  }),
  setQueueRateLimit: declare({
    ...queueSetting('setQueueRateLimit', 'setRateLimit', 'rate-limit'),
    body: RateLimitBody,
    summary: "Limit the queue's enqueue rate",
    description:
      'A token bucket per process: per_second sustained, burst at once. per_second null or 0 lifts the limit. Beyond it an enqueue gets 429 rate_limited with details.retry_after_seconds and Retry-After.',
  }),
  retryFailedJobs: declare({
    name: 'retryFailedJobs',
    client: { group: 'queues', method: 'retryFailed' },
    context,
    method: 'POST',
    path: '/queue/{name}/retry-failed',
    summary: 'Queue every failed job of the queue again, attempts reset',
    description:
      'A failed job whose dedup key is alive again in another job stays failed, keeping the dedup promise.',
    params: QueueParams,
    responses: { 200: Ok(RetryFailedResponse) },
    errors: ['conflict'],
    scopes: 'queues:retry:<name>',
    stability,
  }),

  // Jobs ---------------------------------------------------------------------------------------
  enqueueJobs: declare({
    name: 'enqueueJobs',
    client: { group: 'jobs', method: 'create' },
    context,
    method: 'POST',
    path: '/jobs',
    summary: 'Enqueue a job, or a batch of jobs',
    description:
      "One job, or { jobs: [...] } stored all or none in one transaction. 201 either way; deduplicated says an existing live job with the same dedup_key was returned (or, with dedup_mode replace, updated). Beyond the queue's rate limit: 429 rate_limited with details.retry_after_seconds and Retry-After.",
    body: EnqueueRequest,
    responses: {
      201: Type.Union([
        Ok(EnqueueResponse, 'One job'),
        Ok(EnqueueBatchResponse, 'A batch, in request order'),
      ]),
    },
    errors: ['conflict', 'rate_limited'],
    scopes: 'jobs:create:<queue>',
    stability,
  }),
  listJobs: declare({
    name: 'listJobs',
    client: { group: 'jobs', method: 'list' },
    context,
    method: 'GET',
    path: '/jobs',
    summary: 'List jobs, oldest first, optionally of one queue and status',
    query: ListJobsQuery,
    responses: { 200: OkList(Job) },
    errors: ['conflict'],
    scopes: 'jobs:read:<queue>',
    stability,
  }),
  getJob: declare({
    name: 'getJob',
    client: { group: 'jobs', method: 'get' },
    context,
    method: 'GET',
    path: '/jobs/{id}',
    summary: 'Get a job with the end of its log',
    params: JobParams,
    responses: { 200: Ok(JobWithLogs) },
    errors: ['not_found', 'conflict'],
    scopes: 'jobs:read:<queue>',
    stability,
  }),
  getJobLog: declare({
    name: 'getJobLog',
    client: { group: 'jobs', method: 'getLog' },
    context,
    method: 'GET',
    path: '/jobs/{id}/log',
    summary: "A page of a job's log",
    description:
      'Lines from offset `start`, oldest first, wherever the job ran (in process or on a remote worker). To follow a running job, ask again from `next_start`.',
    params: JobParams,
    query: JobLogQuery,
    responses: { 200: Ok(JobLogPage) },
    errors: ['not_found', 'conflict'],
    scopes: 'jobs:read:<queue>',
    stability,
  }),
  retryJob: declare({
    name: 'retryJob',
    client: { group: 'jobs', method: 'retry' },
    context,
    method: 'POST',
    path: '/jobs/{id}/retry',
    summary: 'Queue a failed, dead or cancelled job again, attempts reset',
    description:
      '409 conflict when the job is queued, running or succeeded, or when its dedup key is alive in another job.',
    params: JobParams,
    responses: { 200: Ok(Job) },
    errors: ['not_found', 'conflict'],
    scopes: 'jobs:retry:<queue>',
    stability,
  }),
  cancelJob: declare({
    name: 'cancelJob',
    client: { group: 'jobs', method: 'cancel' },
    context,
    method: 'POST',
    path: '/jobs/{id}/cancel',
    summary: 'Cancel a job',
    description:
      "A queued job ends cancelled at once. A running one gets cancel_requested: its handler's signal is aborted (within a heartbeat in another process) and it ends cancelled — or succeeded, if it finished first. A finished job is left as it is (changed: false).",
    params: JobParams,
    responses: { 200: Ok(CancelResponse) },
    errors: ['not_found', 'conflict'],
    scopes: 'jobs:cancel:<queue>',
    stability,
  }),
  deleteJob: declare({
    name: 'deleteJob',
    client: { group: 'jobs', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/jobs/{id}',
    summary: 'Delete a job and its log',
    description: '409 conflict while it runs: cancel it first.',
    params: JobParams,
    responses: { 200: OkNull },
    errors: ['not_found', 'conflict'],
    scopes: 'jobs:delete:<queue>',
    stability,
  }),

  // Cron ---------------------------------------------------------------------------------------
  listCronSchedules: declare({
    name: 'listCronSchedules',
    client: { group: 'cron', method: 'list' },
    context,
    method: 'GET',
    path: '/cron',
    summary: 'List cron schedules by name',
    responses: { 200: Ok(Type.Array(CronSchedule)) },
    errors: ['conflict'],
    scopes: 'cron:read:*',
    stability,
  }),
  createCronSchedule: declare({
    name: 'createCronSchedule',
    client: { group: 'cron', method: 'create' },
    context,
    method: 'POST',
    path: '/cron',
    summary: 'Create a cron schedule',
    description:
      'Each fire time enqueues one job with the dedup key cron:<name>:<fire time>, so runs never pile up. 409 conflict when the name is taken.',
    body: CronCreate,
    responses: { 201: Ok(CronSchedule) },
    errors: ['conflict'],
    scopes: { AllOf: ['cron:create:<name>', 'jobs:create:<queue>'] },
    stability,
  }),
  getCronSchedule: declare({
    name: 'getCronSchedule',
    client: { group: 'cron', method: 'get' },
    context,
    method: 'GET',
    path: '/cron/{name}',
    summary: 'Get a cron schedule',
    params: CronParams,
    responses: { 200: Ok(CronSchedule) },
    errors: ['not_found', 'conflict'],
    scopes: 'cron:read:<name>',
    stability,
  }),
  updateCronSchedule: declare({
    name: 'updateCronSchedule',
    client: { group: 'cron', method: 'update' },
    context,
    method: 'PUT',
    path: '/cron/{name}',
    summary: 'Update a cron schedule',
    description: 'Only the fields sent change; the next fire time is computed afresh from now.',
    params: CronParams,
    body: CronUpdate,
    responses: { 200: Ok(CronSchedule) },
    errors: ['not_found', 'conflict'],
    scopes: { AllOf: ['cron:update:<name>', 'jobs:create:<queue>'] },
    stability,
  }),
  deleteCronSchedule: declare({
    name: 'deleteCronSchedule',
    client: { group: 'cron', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/cron/{name}',
    summary: 'Delete a cron schedule',
    description: 'Jobs it already enqueued stay.',
    params: CronParams,
    responses: { 200: OkNull },
    errors: ['not_found', 'conflict'],
    scopes: 'cron:delete:<name>',
    stability,
  }),
  triggerCronSchedule: declare({
    name: 'triggerCronSchedule',
    client: { group: 'cron', method: 'trigger' },
    context,
    method: 'POST',
    path: '/cron/{name}/trigger',
    summary: "Enqueue the schedule's job now, outside its timetable",
    params: CronParams,
    responses: { 201: Ok(EnqueueResponse) },
    errors: ['not_found', 'conflict', 'rate_limited'],
    scopes: 'cron:trigger:<name>',
    stability,
  }),

  // Storage ------------------------------------------------------------------------------------
  storageInfo: declare({
    name: 'storageInfo',
    client: { group: 'system', method: 'storageInfo' },
    context,
    method: 'GET',
    path: '/storage/info',
    summary: 'The store: backend, schema version, size or server version, boot time',
    description: 'The location never carries a password.',
    responses: { 200: Ok(StorageInfo) },
    errors: ['conflict'],
    scopes: 'system:read:storage',
    stability,
  }),
} as const
