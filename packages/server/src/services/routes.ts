import {
  EndpointBindings,
  Ok,
  OkList,
  OkNull,
  Service,
  ServiceBinding,
  ServiceCreate,
  ServiceTestResult,
  ServiceUpdate,
} from '@edgeforge/protocol'
import { Type } from 'typebox'
import { type App, ok, okPage } from '../http/index.ts'
import type { ServiceManager } from './manage.ts'

/*
 * The services' management API: service records under /api/services (create, list, get,
 * update, delete, activate, deactivate, test) and each endpoint's bindings under
 * /api/endpoints/{id}/services. Answers never carry secrets: `secrets_set` names those that have
 * a value.
 */

const SERVICES = ['services']
const IdParams = Type.Object(
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
const ServiceWithMessage = Type.Object(
  { ...Service.properties, message: Type.String() },
  { additionalProperties: false },
)
const NOTE = 'a running endpoint sees changed bindings from its next deploy or swap on'

export function servicesRoutes(app: App, services: ServiceManager): void {
  app.get(
    '/api/services',
    { schema: { tags: SERVICES, summary: 'List services', response: { 200: OkList(Service) } } },
    async () => okPage({ items: await services.list(), continuation_token: null }),
  )

  app.post(
    '/api/services',
    {
      schema: {
        tags: SERVICES,
        summary: 'Create a service',
        description:
          'config is validated per field for the service_type (400 naming each bad field); secrets are write-only. An enabled service is activated at once.',
        body: ServiceCreate,
        response: { 201: Ok(Service) },
      },
    },
    async (req, reply) => reply.code(201).send(ok(await services.create(req.body))),
  )

  app.get(
    '/api/services/:id',
    {
      schema: {
        tags: SERVICES,
        summary: 'Get a service, with its status (active, connected, pool, queue, last error)',
        params: IdParams,
        response: { 200: Ok(Service) },
      },
    },
    async (req) => ok(await services.get(req.params.id)),
  )

  app.put(
    '/api/services/:id',
    {
      schema: {
        tags: SERVICES,
        summary: 'Update a service',
        description:
          'config and secrets are merged into the stored ones (null removes a field). An active service restarts with the new settings: new calls go to the new pool, the old one drains.',
        params: IdParams,
        body: ServiceUpdate,
        response: { 200: Ok(Service) },
      },
    },
    async (req) => ok(await services.update(req.params.id, req.body)),
  )

  app.delete(
    '/api/services/:id',
    {
      schema: {
        tags: SERVICES,
        summary: 'Delete a service',
        description: '409 while a running endpoint binds it (the answer names them).',
        params: IdParams,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await services.delete(req.params.id)
      return ok(null)
    },
  )

  app.post(
    '/api/services/:id/activate',
    {
      schema: {
        tags: SERVICES,
        summary: "Start the service's actor (and keep it enabled across restarts)",
        params: IdParams,
        response: { 200: Ok(ServiceWithMessage) },
      },
    },
    async (req) => ok(await services.activate(req.params.id)),
  )

  app.post(
    '/api/services/:id/deactivate',
    {
      schema: {
        tags: SERVICES,
        summary: 'Stop the actor: operations in flight finish, then the pool closes',
        params: IdParams,
        response: { 200: Ok(ServiceWithMessage) },
      },
    },
    async (req) => ok(await services.deactivate(req.params.id)),
  )

  app.post(
    '/api/services/:id/test',
    {
      schema: {
        tags: SERVICES,
        summary: "Connect with the stored settings and answer ok or the backend's reason",
        params: IdParams,
        response: { 200: Ok(ServiceTestResult) },
      },
    },
    async (req) => ok(await services.test(req.params.id)),
  )

  app.get(
    '/api/endpoints/:id/services',
    {
      schema: {
        tags: SERVICES,
        summary: "An endpoint's bindings: the names its handler uses → services",
        params: EndpointIdParams,
        response: { 200: Ok(EndpointBindings) },
      },
    },
    async (req) =>
      ok({ endpoint_id: req.params.id, bindings: await services.bindings(req.params.id), note: NOTE }),
  )

  app.post(
    '/api/endpoints/:id/services',
    {
      schema: {
        tags: SERVICES,
        summary: 'Bind a name to a service (replaces a binding of the same name)',
        params: EndpointIdParams,
        body: ServiceBinding,
        response: { 200: Ok(EndpointBindings) },
      },
    },
    async (req) =>
      ok({
        endpoint_id: req.params.id,
        bindings: await services.bind(req.params.id, req.body.binding, req.body.service),
        note: NOTE,
      }),
  )

  app.delete(
    '/api/endpoints/:id/services/:binding',
    {
      schema: {
        tags: SERVICES,
        summary: 'Remove a binding',
        params: BindingParams,
        response: { 200: Ok(EndpointBindings) },
      },
    },
    async (req) =>
      ok({
        endpoint_id: req.params.id,
        bindings: await services.unbind(req.params.id, req.params.binding),
        note: NOTE,
      }),
  )
}
