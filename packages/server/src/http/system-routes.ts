import { OPERATIONS, openApiDocument, type SystemStats, systemApi } from '@edgeforge/protocol'
import { type App, ok } from './app.ts'
import { declared } from './declared.ts'

export type { SystemStats }

/** Health and statistics of the whole process, and the API's own description. */
export function systemRoutes(
  app: App,
  options: {
    version: string
    stats: () => Promise<SystemStats>
    metrics: { text(): Promise<string>; contentType: string }
  },
): void {
  app.route({
    ...declared(systemApi.metrics),
    handler: async (_req, reply) => {
      reply.header('content-type', options.metrics.contentType)
      return options.metrics.text()
    },
  })
  app.route({
    ...declared(systemApi.health),
    handler: async () => ok({ status: 'healthy', version: options.version }),
  })
  app.route({
    ...declared(systemApi.stats),
    handler: async () => ok(await options.stats()),
  })
  const document = openApiDocument(OPERATIONS, { version: options.version })
  app.route({
    ...declared(systemApi.openApi),
    handler: async () => document,
  })
}
