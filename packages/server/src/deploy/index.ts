export { Lifecycle, type LifecycleDeps } from './lifecycle.ts'
export type {
  CatalogPort,
  CompileReport,
  EndpointStatus,
  JobHandlerPort,
  JobVersion,
  LifecycleEndpoint,
  RunReport,
} from './ports.ts'
export { lifecycleRoutes } from './routes.ts'
export { ENDPOINTS_CHANNEL, EndpointSync } from './sync.ts'
export { type StoredArtifact, VersionStore } from './versions.ts'
