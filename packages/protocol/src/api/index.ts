import { artifactsApi } from './artifacts.ts'
import { authApi } from './auth.ts'
import { catalogApi } from './catalog.ts'
import type { Operation } from './declare.ts'
import { deployApi } from './deploy.ts'
import { jobsApi } from './jobs.ts'
import { servicesApi } from './services.ts'
import { systemApi } from './system.ts'
import { workersApi } from './workers.ts'

export * from './artifacts.ts'
export * from './auth.ts'
export * from './catalog.ts'
export * from './declare.ts'
export * from './deploy.ts'
export * from './envelope.ts'
export * from './jobs.ts'
export { type OpenApiOptions, openApiDocument } from './openapi.ts'
export * from './services.ts'
export * from './system.ts'
export * from './workers.ts'

/** Every control-plane operation, grouped by context. */
export const api = {
  auth: authApi,
  catalog: catalogApi,
  deploy: deployApi,
  jobs: jobsApi,
  services: servicesApi,
  system: systemApi,
  workers: workersApi,
  artifacts: artifactsApi,
} as const

/** Every control-plane operation, in declaration order. */
export const OPERATIONS: readonly Operation[] = Object.values(api).flatMap((group) => Object.values(group))
