import { type Static, Type } from 'typebox'
import { declare } from './declare.ts'
import { Ok } from './envelope.ts'

/* Health, statistics, metrics and the API's own description. */

export const Health = Type.Object(
  { status: Type.String({ description: "'healthy' when the server answers" }), version: Type.String() },
  { additionalProperties: false },
)

const Count = (description: string) => Type.Integer({ minimum: 0, description })

/**
 * What `/api/stats` answers. The `endpoints_*` counts are the store's records (every process
 * sharing it sees the same); `http_handlers` and `job_handlers` are what this process has loaded,
 * so on one process `endpoints_running_http` = `http_handlers.loaded` and likewise for jobs.
 */
export const SystemStats = Type.Object(
  {
    endpoints_total: Count('Endpoints in the store, of both kinds'),
    endpoints_running: Count('Endpoints recorded as running: endpoints_running_http + endpoints_running_job'),
    endpoints_running_http: Count('HTTP endpoints recorded as running'),
    endpoints_running_job: Count('Job endpoints (queue handlers) recorded as running'),
    requests_handled: Count("Requests this process's gateway has answered since it started, 404s included"),
    uptime_seconds: Count('Seconds since this process started'),
    http_handlers: Type.Object(
      {
        loaded: Count('HTTP endpoints whose current version this gateway serves'),
        draining: Count('Replaced HTTP versions still finishing requests'),
        active_requests: Count('Requests in flight on current versions'),
        draining_requests: Count('Requests in flight on draining versions'),
        quarantined: Count(
          'HTTP endpoints answered 503 endpoint_quarantined: their handler kept stopping its thread',
        ),
        threads: Count('Handler threads serving the gateway'),
        thread_restarts: Count(
          'Handler threads stopped (stuck, out of heap or crashed) and replaced since start',
        ),
      },
      { additionalProperties: false, description: "This process's gateway, summed over its handler threads" },
    ),
    job_handlers: Type.Object(
      {
        loaded: Count('Job endpoints whose current version runs jobs here'),
        draining: Count('Replaced job versions still finishing jobs'),
        active_jobs: Count('Jobs running on current versions'),
        draining_jobs: Count('Jobs running on draining versions'),
        threads: Count('Job threads that in-process job handlers run in (started with the first job)'),
        thread_restarts: Count(
          'Job threads stopped (a job stuck, out of heap, ignoring its abort, or crashed) and replaced since start',
        ),
      },
      { additionalProperties: false, description: "This process's job runtime" },
    ),
  },
  { additionalProperties: false },
)

export type SystemStats = Static<typeof SystemStats>

const context = 'system' as const
const stability = 'stable' as const

export const systemApi = {
  health: declare({
    name: 'health',
    client: { group: 'system', method: 'health' },
    context,
    method: 'GET',
    path: '/api/health',
    summary: 'Whether the server is up, and its version',
    responses: { 200: Ok(Health) },
    errors: [],
    scopes: { AllOf: [] },
    stability,
  }),
  stats: declare({
    name: 'stats',
    client: { group: 'system', method: 'stats' },
    context,
    method: 'GET',
    path: '/api/stats',
    summary: 'Endpoint counts by kind, requests handled, uptime, loaded and draining handler versions',
    responses: { 200: Ok(SystemStats) },
    errors: [],
    scopes: 'system:read:stats',
    stability,
  }),
  metrics: declare({
    name: 'metrics',
    client: { group: 'system', method: 'metrics' },
    context,
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics: gateway requests and latency per endpoint, job queues, process',
    produces: 'text/plain; version=0.0.4',
    responses: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
    errors: [],
    scopes: 'system:read:metrics',
    stability,
  }),
  openApi: declare({
    name: 'openApi',
    client: { group: 'system', method: 'openApi' },
    context,
    method: 'GET',
    path: '/api/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from the route declarations',
    responses: { 200: Type.Object({}, { additionalProperties: true, description: 'The OpenAPI document' }) },
    errors: [],
    scopes: { AllOf: [] },
    stability,
  }),
} as const
