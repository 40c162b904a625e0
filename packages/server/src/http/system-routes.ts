import { Type } from 'typebox'
import { type App, ok } from './app.ts'

export interface SystemStats {
  endpoints_total: number
  endpoints_running: number
  requests_handled: number
  uptime_seconds: number
  handlers: { loaded: number; draining: number; active_requests: number; draining_requests: number }
}

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
        summary: 'Endpoint counts, requests handled, uptime, loaded and draining handler versions',
      },
    },
    async () => ok(await options.stats()),
  )
}
