import { catalogApi } from '@edgeforge/protocol'
import { type App, declared, ok, okPage } from '../http/index.ts'
import type { Catalog } from './catalog.ts'
import { collectionDto, domainDto, endpointDto, endpointListItemDto } from './dto.ts'
import type { PageRequest } from './records.ts'

/*
 * The catalog's management API under /api: domains, collections and endpoints. Lists page by id
 * (creation order) with `limit` and `continuation_token`; endpoint lists leave `code` out unless
 * asked with `include_code=true`, so listing a thousand endpoints does not ship their sources.
 * The lifecycle routes (compile, start, stop, deploy, logs) live with the deploy context.
 */

function pageOf(query: { limit?: number; continuation_token?: string }): PageRequest {
  return { limit: query.limit, continuationToken: query.continuation_token }
}

export function catalogRoutes(app: App, catalog: Catalog): void {
  // Domains ------------------------------------------------------------------------------------

  app.route({
    ...declared(catalogApi.listDomains),
    handler: async (req) => {
      const page = await catalog.listDomains(pageOf(req.query))
      return okPage({ items: page.items.map(domainDto), continuation_token: page.continuation_token })
    },
  })

  app.route({
    ...declared(catalogApi.createDomain),
    handler: async (req, reply) => {
      const domain = await catalog.createDomain(req.body)
      return reply.code(201).send(ok(domainDto(domain)))
    },
  })

  app.route({
    ...declared(catalogApi.getDomain),
    handler: async (req) => ok(domainDto(await catalog.getDomain(req.params.id))),
  })

  app.route({
    ...declared(catalogApi.updateDomain),
    handler: async (req) => ok(domainDto(await catalog.updateDomain(req.params.id, req.body))),
  })

  app.route({
    ...declared(catalogApi.deleteDomain),
    handler: async (req) => {
      await catalog.deleteDomain(req.params.id)
      return ok(null)
    },
  })

  app.route({
    ...declared(catalogApi.listDomainCollections),
    handler: async (req) => {
      await catalog.getDomain(req.params.id)
      const page = await catalog.listCollections({ domainId: req.params.id }, pageOf(req.query))
      return okPage({ items: page.items.map(collectionDto), continuation_token: page.continuation_token })
    },
  })

  // Collections --------------------------------------------------------------------------------

  app.route({
    ...declared(catalogApi.listCollections),
    handler: async (req) => {
      const page = await catalog.listCollections({ domainId: req.query.domain_id }, pageOf(req.query))
      return okPage({ items: page.items.map(collectionDto), continuation_token: page.continuation_token })
    },
  })

  app.route({
    ...declared(catalogApi.createCollection),
    handler: async (req, reply) => {
      const collection = await catalog.createCollection(req.body)
      return reply.code(201).send(ok(collectionDto(collection)))
    },
  })

  app.route({
    ...declared(catalogApi.getCollection),
    handler: async (req) => ok(collectionDto(await catalog.getCollection(req.params.id))),
  })

  app.route({
    ...declared(catalogApi.updateCollection),
    handler: async (req) => ok(collectionDto(await catalog.updateCollection(req.params.id, req.body))),
  })

  app.route({
    ...declared(catalogApi.deleteCollection),
    handler: async (req) => {
      await catalog.deleteCollection(req.params.id)
      return ok(null)
    },
  })

  app.route({
    ...declared(catalogApi.listCollectionEndpoints),
    handler: async (req) => {
      await catalog.getCollection(req.params.id)
      const filter = { collectionId: req.params.id, includeCode: req.query.include_code }
      const page = await catalog.listEndpoints(filter, pageOf(req.query))
      return okPage({
        items: page.items.map(endpointListItemDto),
        continuation_token: page.continuation_token,
      })
    },
  })

  // Endpoints ----------------------------------------------------------------------------------

  app.route({
    ...declared(catalogApi.listEndpoints),
    handler: async (req) => {
      const { name, domain, collection_id, enabled, kind, status, include_code } = req.query
      const filter = {
        name,
        domain,
        collectionId: collection_id,
        enabled,
        kind,
        status,
        includeCode: include_code,
      }
      const page = await catalog.listEndpoints(filter, pageOf(req.query))
      return okPage({
        items: page.items.map(endpointListItemDto),
        continuation_token: page.continuation_token,
      })
    },
  })

  app.route({
    ...declared(catalogApi.createEndpoint),
    handler: async (req, reply) => {
      const endpoint = await catalog.createEndpoint(req.body)
      return reply.code(201).send(ok(endpointDto(endpoint)))
    },
  })

  app.route({
    ...declared(catalogApi.getEndpoint),
    handler: async (req) => ok(endpointDto(await catalog.getEndpoint(req.params.id))),
  })

  app.route({
    ...declared(catalogApi.updateEndpoint),
    handler: async (req) => ok(endpointDto(await catalog.updateEndpoint(req.params.id, req.body))),
  })

  app.route({
    ...declared(catalogApi.deleteEndpoint),
    handler: async (req) => {
      await catalog.deleteEndpoint(req.params.id)
      return ok(null)
    },
  })
}
