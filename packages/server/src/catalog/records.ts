import type { EndpointKind, EndpointStatus, HttpMethod } from '@edgeforge/protocol'
import type { Db } from '../store/index.ts'

/*
 * The catalog as the server's code sees it: camelCase, times as UTC milliseconds, flags as
 * booleans, dependencies parsed. The wire shapes (snake_case, ISO-8601) are mapped in dto.ts.
 */

export interface DomainRecord {
  id: string
  name: string
  /** Lower-case hostname. */
  host: string
  description: string | null
  enabled: boolean
  createdAt: number
  updatedAt: number
}

export interface CollectionRecord {
  id: string
  domainId: string
  name: string
  description: string | null
  /** '' or a path template without a trailing '/'. */
  basePath: string
  enabled: boolean
  createdAt: number
  updatedAt: number
}

export interface EndpointRecord {
  id: string
  name: string
  kind: EndpointKind
  /** Queue of a job endpoint; null for http. */
  queue: string | null
  /** Path template relative to the collection's base path; null for job endpoints. */
  path: string | null
  /** Upper-case HTTP method; null for job endpoints. */
  method: HttpMethod | null
  /** '*' or a lower-case hostname. */
  domain: string
  collectionId: string | null
  description: string | null
  /** TypeScript source as the user last saved it (not necessarily what runs). */
  code: string
  /** npm package name → version range. */
  dependencies: Record<string, string>
  enabled: boolean
  status: EndpointStatus
  runningVersion: number | null
  compiledVersion: number | null
  lastError: string | null
  /**
   * Taken out of service while running by a disable (its own, its collection's or its domain's):
   * enabling it again puts `runningVersion` back. A stop, start or deploy clears it.
   */
  resumeOnEnable: boolean
  timeoutMs: number
  bodyLimitBytes: number
  drainTimeoutMs: number
  /** Scopes a caller must hold (all of them); null: the endpoint is public. */
  authScopes: string[] | null
  /** Names of its environment variables (ctx.env), sorted; the values are read only by `endpointEnv`. */
  envNames: string[]
  createdAt: number
  /** Last change of the definition by a user; deploy state changes leave it alone. */
  updatedAt: number
  /** The collection's base path joined with `path`: the template the gateway routes; null for jobs. */
  fullPath: string | null
  /** False when its collection, or the domain it is served on, is disabled (as of the read). */
  parentsEnabled: boolean
}

/** An endpoint in a list that did not ask for code: everything but `code`, which may be absent. */
export type EndpointSummary = Omit<EndpointRecord, 'code'> & { code?: string }

/** Where an http endpoint is served. */
export interface Route {
  /** '*' or a lower-case hostname. */
  host: string
  method: string
  /** Full template, e.g. '/v1/pets/{id}'. */
  path: string
}

/** What the deploy lifecycle plugs into the catalog. */
export interface CatalogHooks {
  /** Throws ApiError('conflict') when a RUNNING endpoint other than endpointId serves this route. */
  assertRouteFree(endpointId: string, route: Route): void
  /**
   * After committed changes to route-affecting fields (path, method, domain, base_path, enabled of
   * endpoint/collection/domain, the queue of a job endpoint, and the limits) of these endpoints, or
   * their deletion.
   */
  endpointsChanged(change: { updated: string[]; removed: string[] }): Promise<void>
}

/** What `setEndpointState` may change: the deploy lifecycle's fields, never the definition. */
export interface EndpointStatePatch {
  status?: EndpointStatus
  runningVersion?: number | null
  compiledVersion?: number | null
  lastError?: string | null
  resumeOnEnable?: boolean
}

/** Defaults of a new endpoint's limits: the server's settings. */
export interface EndpointDefaults {
  timeoutMs: number
  bodyLimitBytes: number
  drainTimeoutMs: number
}

/** What the catalog's operations share. */
export interface CatalogContext {
  db: Db
  hooks: CatalogHooks
  defaults: EndpointDefaults
}

export interface PageRequest {
  /** Items per page, 1…1000; default 100. */
  limit?: number
  /** Token from the previous page's `continuation_token`. */
  continuationToken?: string
}

export interface EndpointFilter {
  /** Exact endpoint name (names are unique). */
  name?: string
  /** Exact host or '*'. */
  domain?: string
  collectionId?: string
  enabled?: boolean
  kind?: EndpointKind
  status?: EndpointStatus
  /** List items carry `code` only when this is true: lists stay light. */
  includeCode?: boolean
}

/**
 * Where an endpoint is served, or null when it is not served at all: a job endpoint, or it, its
 * collection or its domain is disabled.
 */
export function routeOf(endpoint: Omit<EndpointRecord, 'code'>): Route | null {
  if (endpoint.kind !== 'http' || !endpoint.enabled || !endpoint.parentsEnabled) return null
  if (endpoint.fullPath === null || endpoint.method === null) return null
  return { host: endpoint.domain, method: endpoint.method, path: endpoint.fullPath }
}

/**
 * Everything whose change the gateway or the job runner must act on, as one comparable string. The
 * limits are part of it: a running endpoint's new timeout or body limit applies without a new version.
 */
export function routingKey(endpoint: Omit<EndpointRecord, 'code'>): string {
  const active = endpoint.enabled && endpoint.parentsEnabled
  const limits = [endpoint.timeoutMs, endpoint.bodyLimitBytes, endpoint.drainTimeoutMs, endpoint.authScopes]
  return JSON.stringify([routeOf(endpoint), endpoint.kind === 'job' ? endpoint.queue : null, active, limits])
}

export function sameRoute(a: Route | null, b: Route | null): boolean {
  if (a === null || b === null) return a === b
  return a.host === b.host && a.method === b.method && a.path === b.path
}
