import { Type } from 'typebox'
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
} from '../catalog.ts'
import { declare } from './declare.ts'
import { Ok, OkList, OkNull, PageQuery } from './envelope.ts'

/*
 * The catalog's routes under /api: domains, collections and endpoints. Lists page by id (creation
 * order); endpoint lists leave `code` out unless asked with `include_code=true`.
 */

const IdParams = (what: string) =>
  Type.Object(
    { id: Type.String({ minLength: 1, maxLength: 64, description: `Id of the ${what}` }) },
    { additionalProperties: false },
  )
export const DomainId = IdParams('domain')
export const CollectionId = IdParams('collection')
export const EndpointId = IdParams('endpoint')

const IncludeCode = Type.Optional(
  Type.Boolean({
    default: false,
    description: "Include each endpoint's code (left out by default to keep lists light)",
  }),
)
export const PageOnly = Type.Object({ ...PageQuery }, { additionalProperties: false })
export const CollectionListQuery = Type.Object(
  {
    ...PageQuery,
    domain_id: Type.Optional(Type.String({ maxLength: 64, description: 'Only collections of this domain' })),
  },
  { additionalProperties: false },
)
export const EndpointPageQuery = Type.Object(
  { ...PageQuery, include_code: IncludeCode },
  { additionalProperties: false },
)
export const EndpointListQuery = Type.Object(
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

const context = 'catalog' as const
const stability = 'stable' as const

export const catalogApi = {
  // Domains ------------------------------------------------------------------------------------
  listDomains: declare({
    name: 'listDomains',
    client: { group: 'domains', method: 'list' },
    context,
    method: 'GET',
    path: '/api/domains',
    summary: 'List domains',
    query: PageOnly,
    responses: { 200: OkList(Domain) },
    errors: [],
    scopes: 'domains:read:*',
    stability,
  }),
  createDomain: declare({
    name: 'createDomain',
    client: { group: 'domains', method: 'create' },
    context,
    method: 'POST',
    path: '/api/domains',
    summary: 'Create a domain',
    description: 'The host must not belong to another domain (409 conflict).',
    body: DomainCreate,
    responses: { 201: Ok(Domain) },
    errors: ['conflict'],
    scopes: 'domains:create:*',
    stability,
  }),
  getDomain: declare({
    name: 'getDomain',
    client: { group: 'domains', method: 'get' },
    context,
    method: 'GET',
    path: '/api/domains/{id}',
    summary: 'Get a domain',
    params: DomainId,
    responses: { 200: Ok(Domain) },
    errors: ['not_found'],
    scopes: 'domains:read:<id>',
    stability,
  }),
  updateDomain: declare({
    name: 'updateDomain',
    client: { group: 'domains', method: 'update' },
    context,
    method: 'PUT',
    path: '/api/domains/{id}',
    summary: 'Update a domain',
    description:
      'Only the given fields change. A new host moves the endpoints served on the old host with it.',
    params: DomainId,
    body: DomainUpdate,
    responses: { 200: Ok(Domain) },
    errors: ['not_found', 'conflict'],
    scopes: 'domains:update:<id>',
    stability,
  }),
  deleteDomain: declare({
    name: 'deleteDomain',
    client: { group: 'domains', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/api/domains/{id}',
    summary: 'Delete a domain',
    description:
      'Also deletes its collections, their endpoints and the endpoints served on its host; running ones are unrouted.',
    params: DomainId,
    responses: { 200: OkNull },
    errors: ['not_found', 'conflict'],
    scopes: 'domains:delete:<id>',
    stability,
  }),
  listDomainCollections: declare({
    name: 'listDomainCollections',
    client: { group: 'domains', method: 'listCollections' },
    context,
    method: 'GET',
    path: '/api/domains/{id}/collections',
    summary: "List a domain's collections",
    params: DomainId,
    query: PageOnly,
    responses: { 200: OkList(Collection) },
    errors: ['not_found'],
    scopes: { AllOf: ['domains:read:<id>', 'collections:read:*'] },
    stability,
  }),

  // Collections --------------------------------------------------------------------------------
  listCollections: declare({
    name: 'listCollections',
    client: { group: 'collections', method: 'list' },
    context,
    method: 'GET',
    path: '/api/collections',
    summary: 'List collections',
    query: CollectionListQuery,
    responses: { 200: OkList(Collection) },
    errors: [],
    scopes: 'collections:read:*',
    stability,
  }),
  createCollection: declare({
    name: 'createCollection',
    client: { group: 'collections', method: 'create' },
    context,
    method: 'POST',
    path: '/api/collections',
    summary: 'Create a collection',
    description: 'The domain must exist (400 naming body.domain_id otherwise).',
    body: CollectionCreate,
    responses: { 201: Ok(Collection) },
    errors: ['conflict'],
    scopes: 'collections:create:*',
    stability,
  }),
  getCollection: declare({
    name: 'getCollection',
    client: { group: 'collections', method: 'get' },
    context,
    method: 'GET',
    path: '/api/collections/{id}',
    summary: 'Get a collection',
    params: CollectionId,
    responses: { 200: Ok(Collection) },
    errors: ['not_found'],
    scopes: 'collections:read:<id>',
    stability,
  }),
  updateCollection: declare({
    name: 'updateCollection',
    client: { group: 'collections', method: 'update' },
    context,
    method: 'PUT',
    path: '/api/collections/{id}',
    summary: 'Update a collection',
    description:
      "Only the given fields change. A new base_path re-routes the collection's running endpoints.",
    params: CollectionId,
    body: CollectionUpdate,
    responses: { 200: Ok(Collection) },
    errors: ['not_found', 'conflict'],
    scopes: 'collections:update:<id>',
    stability,
  }),
  deleteCollection: declare({
    name: 'deleteCollection',
    client: { group: 'collections', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/api/collections/{id}',
    summary: 'Delete a collection',
    description: 'Also deletes its endpoints; running ones are unrouted.',
    params: CollectionId,
    responses: { 200: OkNull },
    errors: ['not_found', 'conflict'],
    scopes: 'collections:delete:<id>',
    stability,
  }),
  listCollectionEndpoints: declare({
    name: 'listCollectionEndpoints',
    client: { group: 'collections', method: 'listEndpoints' },
    context,
    method: 'GET',
    path: '/api/collections/{id}/endpoints',
    summary: "List a collection's endpoints",
    params: CollectionId,
    query: EndpointPageQuery,
    responses: { 200: OkList(EndpointListItem) },
    errors: ['not_found'],
    scopes: { AllOf: ['collections:read:<id>', 'endpoints:read:*'] },
    stability,
  }),

  // Endpoints ----------------------------------------------------------------------------------
  listEndpoints: declare({
    name: 'listEndpoints',
    client: { group: 'endpoints', method: 'list' },
    context,
    method: 'GET',
    path: '/api/endpoints',
    summary: 'List endpoints',
    description: 'Filters combine with AND. Items leave out code unless include_code=true.',
    query: EndpointListQuery,
    responses: { 200: OkList(EndpointListItem) },
    errors: [],
    scopes: 'endpoints:read:<name>',
    stability,
  }),
  createEndpoint: declare({
    name: 'createEndpoint',
    client: { group: 'endpoints', method: 'create' },
    context,
    method: 'POST',
    path: '/api/endpoints',
    summary: 'Create an endpoint',
    description:
      'kind http (default) needs path and method; kind job needs queue. The name must be unique (409). ' +
      'The endpoint starts in status created: compile and start (or deploy) it to serve it.',
    body: EndpointCreate,
    responses: { 201: Ok(Endpoint) },
    errors: ['conflict'],
    scopes: 'endpoints:create:<name>',
    stability,
  }),
  getEndpoint: declare({
    name: 'getEndpoint',
    client: { group: 'endpoints', method: 'get' },
    context,
    method: 'GET',
    path: '/api/endpoints/{id}',
    summary: 'Get an endpoint',
    params: EndpointId,
    responses: { 200: Ok(Endpoint) },
    errors: ['not_found'],
    scopes: 'endpoints:read:<name>',
    stability,
  }),
  updateEndpoint: declare({
    name: 'updateEndpoint',
    client: { group: 'endpoints', method: 'update' },
    context,
    method: 'PUT',
    path: '/api/endpoints/{id}',
    summary: 'Update an endpoint',
    description:
      'Only the given fields change; kind cannot. A running endpoint moved onto a route another running endpoint ' +
      'serves is refused (409) and nothing is stored. New code serves only after compile/start or deploy.',
    params: EndpointId,
    body: EndpointUpdate,
    responses: { 200: Ok(Endpoint) },
    errors: ['not_found', 'conflict'],
    scopes: 'endpoints:update:<name>',
    stability,
  }),
  deleteEndpoint: declare({
    name: 'deleteEndpoint',
    client: { group: 'endpoints', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/api/endpoints/{id}',
    summary: 'Delete an endpoint',
    description: 'A running endpoint is unrouted (in-flight requests drain).',
    params: EndpointId,
    responses: { 200: OkNull },
    errors: ['not_found', 'conflict'],
    scopes: 'endpoints:delete:<name>',
    stability,
  }),
} as const
