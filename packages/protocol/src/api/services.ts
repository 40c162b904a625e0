import { Type } from 'typebox'
import {
  EndpointBindings,
  Service,
  ServiceBinding,
  ServiceCreate,
  ServiceTestResult,
  ServiceUpdate,
} from '../services.ts'
import { declare } from './declare.ts'
import { Ok, OkList, OkNull } from './envelope.ts'

/*
 * The services' routes: service records under /api/services, each endpoint's bindings under
 * /api/endpoints/{id}/services, and the built-in object routes of storage services under
 * /api/storage/{service}/objects. Answers never carry secrets (`secrets_set` names them).
 */

const ServiceId = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, description: 'Id of the service' }) },
  { additionalProperties: false },
)
const EndpointIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, description: 'Id of the endpoint' }) },
  { additionalProperties: false },
)
const BindingParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, description: 'Id of the endpoint' }),
    binding: Type.String({ minLength: 1, maxLength: 100, description: 'The binding name' }),
  },
  { additionalProperties: false },
)
const StorageParams = Type.Object(
  { service: Type.String({ minLength: 1, maxLength: 100, description: 'The storage service name' }) },
  { additionalProperties: false },
)
// The key is the rest of the path (slashes included): Fastify's `*` parameter, next to {service}.
const ObjectParams = Type.Object(
  { service: Type.String({ minLength: 1, maxLength: 100, description: 'The storage service name' }) },
  { additionalProperties: true, description: 'service, and the object key as the rest of the path' },
)
const ObjectListQuery = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({ maxLength: 1024, default: '', description: 'Only keys starting with this' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
    continuation_token: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
)
const SignedQuery = Type.Object(
  {
    expires: Type.Optional(Type.Integer({ description: 'A filesystem presigned URL: expiry, Unix seconds' })),
    signature: Type.Optional(
      Type.String({ maxLength: 128, description: 'A filesystem presigned URL: its signature' }),
    ),
  },
  { additionalProperties: false },
)
const ServiceWithMessage = Type.Object(
  { ...Service.properties, message: Type.String() },
  { additionalProperties: false },
)
const ObjectList = Type.Object(
  {
    service: Type.String(),
    prefix: Type.String(),
    objects: Type.Array(
      Type.Object(
        { key: Type.String(), size: Type.Integer(), last_modified: Type.Union([Type.Null(), Type.String()]) },
        { additionalProperties: false },
      ),
    ),
    continuation_token: Type.Union([Type.Null(), Type.String()]),
  },
  { additionalProperties: false },
)
const Uploaded = Type.Object(
  { service: Type.String(), key: Type.String(), size: Type.Integer(), content_type: Type.String() },
  { additionalProperties: false },
)
const Deleted = Type.Object(
  { service: Type.String(), key: Type.String(), deleted: Type.Boolean() },
  { additionalProperties: false },
)

const context = 'services' as const
const stability = 'experimental' as const

export const servicesApi = {
  listServices: declare({
    name: 'listServices',
    client: { group: 'services', method: 'list' },
    context,
    method: 'GET',
    path: '/api/services',
    summary: 'List services with their status',
    responses: { 200: OkList(Service) },
    errors: [],
    scopes: 'services:read:*',
    stability,
  }),
  createService: declare({
    name: 'createService',
    client: { group: 'services', method: 'create' },
    context,
    method: 'POST',
    path: '/api/services',
    summary: 'Create a service',
    description:
      'config is validated per field for the service_type (400 naming every bad field in details.fields); secrets are write-only. An enabled service is activated at once.',
    body: ServiceCreate,
    responses: { 201: Ok(Service) },
    errors: ['conflict'],
    scopes: 'services:create:*',
    stability,
  }),
  getService: declare({
    name: 'getService',
    client: { group: 'services', method: 'get' },
    context,
    method: 'GET',
    path: '/api/services/{id}',
    summary: 'Get a service, with its status (active, connected, pool, queue, last error)',
    params: ServiceId,
    responses: { 200: Ok(Service) },
    errors: ['not_found'],
    scopes: 'services:read:<id>',
    stability,
  }),
  updateService: declare({
    name: 'updateService',
    client: { group: 'services', method: 'update' },
    context,
    method: 'PUT',
    path: '/api/services/{id}',
    summary: 'Update a service',
    description:
      'config and secrets are merged into the stored ones (null removes a field). An active service restarts with the new settings: new calls go to the new pool, the old one drains.',
    params: ServiceId,
    body: ServiceUpdate,
    responses: { 200: Ok(Service) },
    errors: ['not_found', 'conflict'],
    scopes: 'services:update:<id>',
    stability,
  }),
  deleteService: declare({
    name: 'deleteService',
    client: { group: 'services', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/api/services/{id}',
    summary: 'Delete a service',
    description: '409 while a running endpoint binds it (the answer names them).',
    params: ServiceId,
    responses: { 200: OkNull },
    errors: ['not_found', 'conflict'],
    scopes: 'services:delete:<id>',
    stability,
  }),
  activateService: declare({
    name: 'activateService',
    client: { group: 'services', method: 'activate' },
    context,
    method: 'POST',
    path: '/api/services/{id}/activate',
    summary: "Start the service's actor (and keep it enabled across restarts)",
    params: ServiceId,
    responses: { 200: Ok(ServiceWithMessage) },
    errors: ['not_found'],
    scopes: 'services:activate:<id>',
    stability,
  }),
  deactivateService: declare({
    name: 'deactivateService',
    client: { group: 'services', method: 'deactivate' },
    context,
    method: 'POST',
    path: '/api/services/{id}/deactivate',
    summary: 'Stop the actor: operations in flight finish, then the pool closes',
    params: ServiceId,
    responses: { 200: Ok(ServiceWithMessage) },
    errors: ['not_found'],
    scopes: 'services:deactivate:<id>',
    stability,
  }),
  testService: declare({
    name: 'testService',
    client: { group: 'services', method: 'test' },
    context,
    method: 'POST',
    path: '/api/services/{id}/test',
    summary: "Connect with the stored settings and answer ok or the backend's reason",
    params: ServiceId,
    responses: { 200: Ok(ServiceTestResult) },
    errors: ['not_found'],
    scopes: 'services:test:<id>',
    stability,
  }),
  listEndpointServices: declare({
    name: 'listEndpointServices',
    client: { group: 'endpoints', method: 'listServices' },
    context,
    method: 'GET',
    path: '/api/endpoints/{id}/services',
    summary: "An endpoint's bindings: the names its handler uses → services",
    params: EndpointIdParams,
    responses: { 200: Ok(EndpointBindings) },
    errors: ['not_found'],
    scopes: 'endpoints:read:<name>',
    stability,
  }),
  bindEndpointService: declare({
    name: 'bindEndpointService',
    client: { group: 'endpoints', method: 'bindService' },
    context,
    method: 'POST',
    path: '/api/endpoints/{id}/services',
    summary: 'Bind a name to a service (replaces a binding of the same name)',
    params: EndpointIdParams,
    body: ServiceBinding,
    responses: { 200: Ok(EndpointBindings) },
    errors: ['not_found'],
    scopes: 'endpoints:update:<name>',
    stability,
  }),
  unbindEndpointService: declare({
    name: 'unbindEndpointService',
    client: { group: 'endpoints', method: 'unbindService' },
    context,
    method: 'DELETE',
    path: '/api/endpoints/{id}/services/{binding}',
    summary: 'Remove a binding',
    params: BindingParams,
    responses: { 200: Ok(EndpointBindings) },
    errors: ['not_found'],
    scopes: 'endpoints:update:<name>',
    stability,
  }),
  listObjects: declare({
    name: 'listObjects',
    client: { group: 'storage', method: 'list' },
    context,
    method: 'GET',
    path: '/api/storage/{service}/objects',
    summary: "List a storage service's objects",
    params: StorageParams,
    query: ObjectListQuery,
    responses: { 200: Ok(ObjectList) },
    errors: ['not_found', 'service_unavailable', 'service_busy', 'service_timeout'],
    scopes: 'storage:read:<service>',
    stability,
  }),
  uploadObject: declare({
    name: 'uploadObject',
    client: { group: 'storage', method: 'upload' },
    context,
    method: 'POST',
    path: '/api/storage/{service}/objects',
    summary:
      'Upload an object, streamed to the backend (multipart/form-data: a key field before the file part, or the file name; at most 5 GiB)',
    params: StorageParams,
    responses: { 201: Ok(Uploaded) },
    errors: ['not_found', 'unsupported_media_type', 'service_unavailable', 'service_busy', 'service_timeout'],
    scopes: 'storage:upload:<service>',
    stability,
  }),
  getObject: declare({
    name: 'getObject',
    client: { group: 'storage', method: 'get' },
    context,
    method: 'GET',
    path: '/api/storage/{service}/objects/*',
    summary: 'Download an object, streamed, with its content type and length',
    params: ObjectParams,
    query: SignedQuery,
    produces: 'application/octet-stream',
    responses: { 200: Type.String({ description: "The object's bytes, with its own content-type" }) },
    errors: ['not_found', 'service_unavailable', 'service_busy', 'service_timeout'],
    scopes: 'storage:read:<service>',
    stability,
  }),
  deleteObject: declare({
    name: 'deleteObject',
    client: { group: 'storage', method: 'delete' },
    context,
    method: 'DELETE',
    path: '/api/storage/{service}/objects/*',
    summary: 'Delete an object',
    params: ObjectParams,
    responses: { 200: Ok(Deleted) },
    errors: ['not_found', 'service_unavailable', 'service_busy', 'service_timeout'],
    scopes: 'storage:delete:<service>',
    stability,
  }),
}
