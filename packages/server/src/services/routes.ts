import { servicesApi } from '@edgeforge/protocol'
import { type App, declared, ok, okPage } from '../http/index.ts'
import type { ServiceManager } from './manage.ts'

/*
 * The services' management API (declared in @edgeforge/protocol's api/services.ts): service
 * records under /api/services and each endpoint's bindings under /api/endpoints/{id}/services.
 * Answers never carry secrets: `secrets_set` names those that have a value.
 */

const NOTE = 'a running endpoint sees changed bindings from its next deploy or swap on'

export function servicesRoutes(app: App, services: ServiceManager): void {
  app.route({
    ...declared(servicesApi.listServices),
    handler: async () => okPage({ items: await services.list(), continuation_token: null }),
  })
  app.route({
    ...declared(servicesApi.createService),
    handler: async (req, reply) => reply.code(201).send(ok(await services.create(req.body))),
  })
  app.route({
    ...declared(servicesApi.getService),
    handler: async (req) => ok(await services.get(req.params.id)),
  })
  app.route({
    ...declared(servicesApi.updateService),
    handler: async (req) => ok(await services.update(req.params.id, req.body)),
  })
  app.route({
    ...declared(servicesApi.deleteService),
    handler: async (req) => {
      await services.delete(req.params.id)
      return ok(null)
    },
  })
  app.route({
    ...declared(servicesApi.activateService),
    handler: async (req) => ok(await services.activate(req.params.id)),
  })
  app.route({
    ...declared(servicesApi.deactivateService),
    handler: async (req) => ok(await services.deactivate(req.params.id)),
  })
  app.route({
    ...declared(servicesApi.testService),
    handler: async (req) => ok(await services.test(req.params.id)),
  })
  app.route({
    ...declared(servicesApi.listEndpointServices),
    handler: async (req) =>
      ok({ endpoint_id: req.params.id, bindings: await services.bindings(req.params.id), note: NOTE }),
  })
  app.route({
    ...declared(servicesApi.bindEndpointService),
    handler: async (req) =>
      ok({
        endpoint_id: req.params.id,
        bindings: await services.bind(req.params.id, req.body.binding, req.body.service),
        note: NOTE,
      }),
  })
  app.route({
    ...declared(servicesApi.unbindEndpointService),
    handler: async (req) =>
      ok({
        endpoint_id: req.params.id,
        bindings: await services.unbind(req.params.id, req.params.binding),
        note: NOTE,
      }),
  })
}
