/** The services context: records, actors, the caller seam and the handler-side clients. */
export type { CallTarget, ServiceCaller } from './caller.ts'
export { type Bindings, BoundServices, type ServiceErrorHook } from './clients.ts'
export { type EndpointLookup, ServiceManager } from './manage.ts'
export { ServiceStore } from './records.ts'
export { servicesRoutes } from './routes.ts'
export { ServiceRuntime } from './runtime.ts'
export { SERVICES_CHANNEL, type ServiceReconciler, ServiceSync } from './sync.ts'
