import { deployApi } from '@edgeforge/protocol'
import { type App, declared, ok } from '../http/index.ts'
import type { EndpointLogs } from '../observability/endpoint-logs.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { CatalogPort } from './ports.ts'

/** Compile, start, stop, deploy and the endpoint's log: the lifecycle over HTTP. */
export function lifecycleRoutes(
  app: App,
  lifecycle: Lifecycle,
  catalog: CatalogPort,
  endpointLogs: EndpointLogs,
): void {
  app.route({
    ...declared(deployApi.compileEndpoint),
    handler: async (req) => ok(await lifecycle.compile(req.params.id)),
  })
  app.route({
    ...declared(deployApi.startEndpoint),
    handler: async (req) => ok(await lifecycle.start(req.params.id)),
  })
  app.route({
    ...declared(deployApi.stopEndpoint),
    handler: async (req) => ok(await lifecycle.stop(req.params.id)),
  })
  app.route({
    ...declared(deployApi.deployEndpoint),
    handler: async (req) => ok(await lifecycle.deploy(req.params.id)),
  })
  app.route({
    ...declared(deployApi.readEndpointLogs),
    handler: async (req) => {
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
  })
}
