import { type Static, Type } from 'typebox'
import { type App, ok } from './app.ts'

const Count = (description: string) => Type.Integer({ minimum: 0, description })

/**
 * What `/api/stats` answers. The `endpoints_*` counts are the store's records (every process
 * sharing it sees the same); `http_handlers` and `job_handlers` are what this process has loaded,
 * so on one process `endpoints_running_http` = `http_handlers.loaded` and likewise for jobs.
 */
export const SystemStats = Type.Object({
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
    { description: "This process's gateway, summed over its handler threads" },
  ),
  job_handlers: Type.Object(
    {
      loaded: Count('Job endpoints whose current version runs jobs here'),
      draining: Count('Replaced job versions still finishing jobs'),
      active_jobs: Count('Jobs running on current versions'),
      draining_jobs: Count('Jobs running on draining versions'),
    },
    { description: "This process's job runtime" },
  ),
})
export type SystemStats = Static<typeof SystemStats>

/** Health and statistics of the whole process. */
export function systemRoutes(
  app: App,
  options: {
    version: string
    stats: () => Promise<SystemStats>
    metrics: { text(): Promise<string>; contentType: string }
  },
): void {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics: gateway requests and latency per endpoint, job queues, process',
      },
    },
    async (_req, reply) => {
      reply.header('content-type', options.metrics.contentType)
      return options.metrics.text()
    },
  )
  app.get(
    '/api/health',
    {
      schema: {
        tags: ['system'],
        summary: 'Whether the server is up, and its version',
        response: {
          200: Type.Object({
            ok: Type.Literal(true),
            data: Type.Object({ status: Type.String(), version: Type.String() }),
          }),
        },
      },
    },
    async () => ok({ status: 'healthy', version: options.version }),
  )
  app.get(
    '/api/stats',
    {
      schema: {
        tags: ['system'],
        summary: 'Endpoint counts by kind, requests handled, uptime, loaded and draining handler versions',
        response: { 200: Type.Object({ ok: Type.Literal(true), data: SystemStats }) },
      },
    },
    async () => ok(await options.stats()),
  )
}
