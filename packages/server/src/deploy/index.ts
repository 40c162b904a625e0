export {
  type CatalogPort,
  type CompileReport,
  type EndpointStatus,
  type JobHandlerPort,
  Lifecycle,
  type LifecycleDeps,
  type LifecycleEndpoint,
  type RunReport,
} from './lifecycle.ts'
export { lifecycleRoutes } from './routes.ts'
export { ENDPOINTS_CHANNEL, EndpointSync } from './sync.ts'
