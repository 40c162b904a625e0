import { Type } from 'typebox'
import { type App, ok } from '../http/index.ts'
import type { EndpointLogs } from '../observability/endpoint-logs.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { CatalogPort } from './ports.ts'

const IdParams = Type.Object(
  { id: Type.String({ description: 'Endpoint id' }) },
  { additionalProperties: false },
)
const tags = ['lifecycle']

/** Compile, start, stop, deploy and the endpoint's log: the lifecycle over HTTP. */
export function lifecycleRoutes(
  app: App,
  lifecycle: Lifecycle,
  catalog: CatalogPort,
  endpointLogs: EndpointLogs,
): void {
  app.post(
    '/api/endpoints/:id/compile',
    {
      schema: {
        tags,
        summary: 'Compile the endpoint: type-check, install its npm dependencies, bundle, store the artifact',
        description:
          'Fails with 400 compile_failed and diagnostics (line, column) in error.details; a running endpoint keeps serving its previous version.',
        params: IdParams,
      },
    },
    async (req) => ok(await lifecycle.compile(req.params.id)),
  )
  app.post(
    '/api/endpoints/:id/start',
    {
      schema: {
        tags,
        summary:
          'Load the compiled version and route it; on a running endpoint with a newer compiled version, hot-swap it',
        params: IdParams,
      },
    },
    async (req) => ok(await lifecycle.start(req.params.id)),
  )
  app.post(
    '/api/endpoints/:id/stop',
    {
      schema: {
        tags,
        summary: 'Unroute the endpoint; requests in flight finish on their version (reported as draining)',
        params: IdParams,
      },
    },
    async (req) => ok(await lifecycle.stop(req.params.id)),
  )
  app.post(
    '/api/endpoints/:id/deploy',
    {
      schema: {
        tags,
        summary:
          'Compile when the code or dependencies changed, then start or hot-swap; returns once the new version serves',
        params: IdParams,
      },
    },
    async (req) => ok(await lifecycle.deploy(req.params.id)),
  )
  app.get(
    '/api/endpoints/:id/logs',
    {
      schema: {
        tags,
        summary: "What the endpoint's handlers wrote with console.* or ctx.log, newest last",
        params: IdParams,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 100 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      await catalog.getEndpoint(req.params.id)
      const entries = endpointLogs.read(req.params.id, req.query.limit ?? 100)
      return ok(
        entries.map((entry) => ({
          time: new Date(entry.time).toISOString(),
          level: entry.level,
          request_id: entry.requestId,
          version: entry.version,
          message: entry.message,
        })),
      )
    },
  )
}
