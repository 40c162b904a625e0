/**
 * Where a route's `<param>` values come from besides its path and query parameters, which are
 * always used: a resource the route names by id (the endpoint's name, the job's queue) or a field
 * of the body. main.ts supplies the lookups, since auth/ imports no other context.
 */
export type ScopeLookup =
  /** `<name>` = the name of the endpoint `:id`. */
  | 'endpoint'
  /** `<name>` = the endpoint's current name and, when the body renames it, the new one. */
  | 'endpoint-rename'
  /** `<queue>` = the queue of the job `:id`. */
  | 'job'
  /** `<queue>` = the queue of the job endpoint `:endpoint` (a worker agent's handler download). */
  | 'endpoint-queue'
  /** `<queue>` = the body's queue, or every queue of a batch `{ jobs: [...] }`. */
  | 'enqueue'
  /** `<name>` and `<queue>` = the body's fields of those names. */
  | 'body'
  /** `<queue>` = the body's queue when it moves the schedule `:name`, else the schedule's queue. */
  | 'cron-update'

/**
 * The lookup of each operation whose scope expression (declared in `@edgeforge/protocol`) names
 * something the path and query do not carry. A test checks that every `<param>` of every declared
 * expression has a source.
 */
export const SCOPE_LOOKUPS: Readonly<Record<string, ScopeLookup>> = {
  createEndpoint: 'body',
  getEndpoint: 'endpoint',
  updateEndpoint: 'endpoint-rename',
  deleteEndpoint: 'endpoint',
  compileEndpoint: 'endpoint',
  startEndpoint: 'endpoint',
  stopEndpoint: 'endpoint',
  deployEndpoint: 'endpoint',
  readEndpointLogs: 'endpoint',
  listEndpointServices: 'endpoint',
  bindEndpointService: 'endpoint',
  unbindEndpointService: 'endpoint',
  enqueueJobs: 'enqueue',
  getJob: 'job',
  streamJobEvents: 'job',
  getJobLog: 'job',
  sendJobInput: 'job',
  getWorkerHandler: 'endpoint-queue',
  retryJob: 'job',
  cancelJob: 'job',
  deleteJob: 'job',
  listJobArtifacts: 'job',
  getJobArtifact: 'job',
  createCronSchedule: 'body',
  updateCronSchedule: 'cron-update',
}

/** The params each lookup provides (for the test that every template has a source). */
export const LOOKUP_PROVIDES: Readonly<Record<ScopeLookup, readonly string[]>> = {
  endpoint: ['name'],
  'endpoint-rename': ['name'],
  job: ['queue'],
  'endpoint-queue': ['queue'],
  enqueue: ['queue'],
  body: ['name', 'queue'],
  'cron-update': ['queue'],
}
