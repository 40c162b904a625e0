import {
  Collection,
  CollectionCreate,
  CollectionUpdate,
  Domain,
  DomainCreate,
  DomainUpdate,
  Endpoint,
  EndpointCreate,
  EndpointListItem,
  EndpointStatusSchema,
  EndpointUpdate,
} from '@edgeforge/protocol'
import { Type } from 'typebox'
import { type App, Ok, OkList, OkNull, ok, okPage } from '../http/index.ts'
import { PageQuery } from '../http/paging.ts'
import type { Catalog } from './catalog.ts'
import { collectionDto, domainDto, endpointDto, endpointListItemDto } from './dto.ts'
import type { PageRequest } from './records.ts'

/*
 * The catalog's management API under /api: domains, collections and endpoints. Lists page by id
 * (creation order) with `limit` and `continuation_token`; endpoint lists leave `code` out unless
 * asked with `include_code=true`, so listing a thousand endpoints does not ship their sources.
 * The lifecycle routes (compile, start, stop, deploy, logs) live with the deploy context.
 */

const IdParams = (what: string) =>
  Type.Object(
    { id: Type.String({ minLength: 1, maxLength: 64, description: `Id of the ${what}` }) },
    { additionalProperties: false },
  )
const DomainId = IdParams('domain')
const CollectionId = IdParams('collection')
const EndpointId = IdParams('endpoint')

const IncludeCode = Type.Optional(
  Type.Boolean({
    default: false,
    description: "Include each endpoint's code (left out by default to keep lists light)",
  }),
)
const PageOnly = Type.Object({ ...PageQuery }, { additionalProperties: false })
const CollectionListQuery = Type.Object(
  {
    ...PageQuery,
    domain_id: Type.Optional(Type.String({ maxLength: 64, description: 'Only collections of this domain' })),
  },
  { additionalProperties: false },
)
const EndpointPageQuery = Type.Object(
  { ...PageQuery, include_code: IncludeCode },
  { additionalProperties: false },
)
const EndpointListQuery = Type.Object(
  {
    ...PageQuery,
    name: Type.Optional(Type.String({ maxLength: 100, description: 'Only the endpoint with this name' })),
    domain: Type.Optional(
      Type.String({ maxLength: 253, description: "Only endpoints served on this host ('*' too)" }),
    ),
    collection_id: Type.Optional(
      Type.String({ maxLength: 64, description: 'Only endpoints of this collection' }),
    ),
    enabled: Type.Optional(
      Type.Boolean({ description: 'Only enabled (true) or disabled (false) endpoints' }),
    ),
    kind: Type.Optional(
      Type.Union([Type.Literal('http'), Type.Literal('job')], { description: 'Only this kind' }),
    ),
    status: Type.Optional(EndpointStatusSchema),
    include_code: IncludeCode,
  },
  { additionalProperties: false },
)

function pageOf(query: { limit?: number; continuation_token?: string }): PageRequest {
  return { limit: query.limit, continuationToken: query.continuation_token }
}

const DOMAINS = ['domains']
const COLLECTIONS = ['collections']
const ENDPOINTS = ['endpoints']

export function catalogRoutes(app: App, catalog: Catalog): void {
  // Domains ------------------------------------------------------------------------------------

  app.get(
    '/api/domains',
    {
      schema: {
        tags: DOMAINS,
        summary: 'List domains',
        querystring: PageOnly,
        response: { 200: OkList(Domain) },
      },
    },
    async (req) => {
      const page = await catalog.listDomains(pageOf(req.query))
      return okPage({ items: page.items.map(domainDto), continuation_token: page.continuation_token })
    },
  )

  app.post(
    '/api/domains',
    {
      schema: {
        tags: DOMAINS,
        summary: 'Create a domain',
        description: 'The host must not belong to another domain (409 conflict).',
        body: DomainCreate,
        response: { 201: Ok(Domain) },
      },
    },
    async (req, reply) => {
      const domain = await catalog.createDomain(req.body)
      return reply.code(201).send(ok(domainDto(domain)))
    },
  )

  app.get(
    '/api/domains/:id',
    { schema: { tags: DOMAINS, summary: 'Get a domain', params: DomainId, response: { 200: Ok(Domain) } } },
    async (req) => ok(domainDto(await catalog.getDomain(req.params.id))),
  )

  app.put(
    '/api/domains/:id',
    {
      schema: {
        tags: DOMAINS,
        summary: 'Update a domain',
        description:
          'Only the given fields change. A new host moves the endpoints served on the old host with it.',
        params: DomainId,
        body: DomainUpdate,
        response: { 200: Ok(Domain) },
      },
    },
    async (req) => ok(domainDto(await catalog.updateDomain(req.params.id, req.body))),
  )

  app.delete(
    '/api/domains/:id',
    {
      schema: {
        tags: DOMAINS,
        summary: 'Delete a domain',
        description:
          'Also deletes its collections, their endpoints and the endpoints served on its host; running ones are unrouted.',
        params: DomainId,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await catalog.deleteDomain(req.params.id)
      return ok(null)
    },
  )

  app.get(
    '/api/domains/:id/collections',
    {
      schema: {
        tags: DOMAINS,
        summary: "List a domain's collections",
        params: DomainId,
        querystring: PageOnly,
        response: { 200: OkList(Collection) },
      },
    },
    async (req) => {
      await catalog.getDomain(req.params.id)
      const page = await catalog.listCollections({ domainId: req.params.id }, pageOf(req.query))
      return okPage({ items: page.items.map(collectionDto), continuation_token: page.continuation_token })
    },
  )

  // Collections --------------------------------------------------------------------------------

  app.get(
    '/api/collections',
    {
      schema: {
        tags: COLLECTIONS,
        summary: 'List collections',
        querystring: CollectionListQuery,
        response: { 200: OkList(Collection) },
      },
    },
    async (req) => {
      const page = await catalog.listCollections({ domainId: req.query.domain_id }, pageOf(req.query))
      return okPage({ items: page.items.map(collectionDto), continuation_token: page.continuation_token })
    },
  )

  app.post(
    '/api/collections',
    {
      schema: {
        tags: COLLECTIONS,
        summary: 'Create a collection',
        description: 'The domain must exist (400 naming body.domain_id otherwise).',
        body: CollectionCreate,
        response: { 201: Ok(Collection) },
      },
    },
    async (req, reply) => {
      const collection = await catalog.createCollection(req.body)
      return reply.code(201).send(ok(collectionDto(collection)))
    },
  )

  app.get(
    '/api/collections/:id',
    {
      schema: {
        tags: COLLECTIONS,
        summary: 'Get a collection',
        params: CollectionId,
        response: { 200: Ok(Collection) },
      },
    },
    async (req) => ok(collectionDto(await catalog.getCollection(req.params.id))),
  )

  app.put(
    '/api/collections/:id',
    {
      schema: {
        tags: COLLECTIONS,
        summary: 'Update a collection',
        description:
          "Only the given fields change. A new base_path re-routes the collection's running endpoints.",
        params: CollectionId,
        body: CollectionUpdate,
        response: { 200: Ok(Collection) },
      },
    },
    async (req) => ok(collectionDto(await catalog.updateCollection(req.params.id, req.body))),
  )

  app.delete(
    '/api/collections/:id',
    {
      schema: {
        tags: COLLECTIONS,
        summary: 'Delete a collection',
        description: 'Also deletes its endpoints; running ones are unrouted.',
        params: CollectionId,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await catalog.deleteCollection(req.params.id)
      return ok(null)
    },
  )

  app.get(
    '/api/collections/:id/endpoints',
    {
      schema: {
        tags: COLLECTIONS,
        summary: "List a collection's endpoints",
        params: CollectionId,
        querystring: EndpointPageQuery,
        response: { 200: OkList(EndpointListItem) },
      },
    },
    async (req) => {
      await catalog.getCollection(req.params.id)
      const filter = { collectionId: req.params.id, includeCode: req.query.include_code }
      const page = await catalog.listEndpoints(filter, pageOf(req.query))
      return okPage({
        items: page.items.map(endpointListItemDto),
        continuation_token: page.continuation_token,
      })
    },
  )

  // Endpoints ----------------------------------------------------------------------------------

  app.get(
    '/api/endpoints',
    {
      schema: {
        tags: ENDPOINTS,
        summary: 'List endpoints',
        description: 'Filters combine with AND. Items leave out code unless include_code=true.',
        querystring: EndpointListQuery,
        response: { 200: OkList(EndpointListItem) },
      },
    },
    async (req) => {
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
  )

  app.post(
    '/api/endpoints',
    {
      schema: {
        tags: ENDPOINTS,
        summary: 'Create an endpoint',
        description:
          'kind http (default) needs path and method; kind job needs queue. The name must be unique (409). ' +
          'The endpoint starts in status created: compile and start (or deploy) it to serve it.',
        body: EndpointCreate,
        response: { 201: Ok(Endpoint) },
      },
    },
    async (req, reply) => {
      const endpoint = await catalog.createEndpoint(req.body)
      return reply.code(201).send(ok(endpointDto(endpoint)))
    },
  )

  app.get(
    '/api/endpoints/:id',
    {
      schema: {
        tags: ENDPOINTS,
        summary: 'Get an endpoint',
        params: EndpointId,
        response: { 200: Ok(Endpoint) },
      },
    },
    async (req) => ok(endpointDto(await catalog.getEndpoint(req.params.id))),
  )

  app.put(
    '/api/endpoints/:id',
    {
      schema: {
        tags: ENDPOINTS,
        summary: 'Update an endpoint',
        description:
          'Only the given fields change; kind cannot. A running endpoint moved onto a route another running endpoint ' +
          'serves is refused (409) and nothing is stored. New code serves only after compile/start or deploy.',
        params: EndpointId,
        body: EndpointUpdate,
        response: { 200: Ok(Endpoint) },
      },
    },
    async (req) => ok(endpointDto(await catalog.updateEndpoint(req.params.id, req.body))),
  )

  app.delete(
    '/api/endpoints/:id',
    {
      schema: {
        tags: ENDPOINTS,
        summary: 'Delete an endpoint',
        description: 'A running endpoint is unrouted (in-flight requests drain).',
        params: EndpointId,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await catalog.deleteEndpoint(req.params.id)
      return ok(null)
    },
  )
}
