import type { ScopeExpression } from './scopes.ts'

/**
 * Where a route's `<param>` values come from besides its path and query parameters, which are
 * always used: a resource the route names by id (the endpoint's name, the job's queue) or a field
 * of the body. main.ts supplies the lookups, since auth/ imports no other context.
 */
export type ScopeLookup =
  /** `<name>` = the name of the endpoint `:id`. */
  | 'endpoint'
  /** `<name>` = the endpoint's current name and, when the body renames it, the new one. */
  | 'endpoint-rename'
  /** `<queue>` = the queue of the job `:id`. */
  | 'job'
  /** `<queue>` = the body's queue, or every queue of a batch `{ jobs: [...] }`. */
  | 'enqueue'
  /** `<name>` and `<queue>` = the body's fields of those names. */
  | 'body'
  /** `<queue>` = the body's queue when it moves the schedule `:name`, else the schedule's queue. */
  | 'cron-update'

export interface RouteScopes {
  scopes: ScopeExpression
  lookup?: ScopeLookup
}

/** Any authenticated caller: the route reveals nothing beyond the caller's own credentials. */
const ANYONE: ScopeExpression = { AllOf: [] }

/**
 * The scope expression of every control-plane route, by `METHOD /path` as Fastify registers it.
 * The naming scheme is `<resource>:<verb>[:<key>]` (docs/api.md). A route missing here requires
 * `*` (only the root client), and a test fails until it is listed.
 *
 * These move into the route declarations of `@edgeforge/protocol` when those land; the guard reads
 * whichever the route carries.
 */
export const ROUTE_SCOPES: Readonly<Record<string, RouteScopes>> = {
  // system
  'GET /api/health': { scopes: ANYONE },
  'GET /api/openapi.json': { scopes: ANYONE },
  'GET /api/stats': { scopes: 'system:stats' },
  'GET /metrics': { scopes: 'system:metrics' },
  'GET /storage/info': { scopes: 'system:storage' },

  // auth
  'GET /api/auth/current-scopes': { scopes: ANYONE },
  'GET /api/clients': { scopes: 'clients:read:<prefix>*' },
  'GET /api/clients/:clientId': { scopes: 'clients:read:<clientId>' },
  'POST /api/clients/:clientId': { scopes: 'clients:create:<clientId>' },
  'PUT /api/clients/:clientId': { scopes: 'clients:update:<clientId>' },
  'DELETE /api/clients/:clientId': { scopes: 'clients:delete:<clientId>' },
  'POST /api/clients/:clientId/reset': { scopes: 'clients:reset:<clientId>' },
  'POST /api/clients/:clientId/enable': { scopes: 'clients:enable:<clientId>' },
  'POST /api/clients/:clientId/disable': { scopes: 'clients:disable:<clientId>' },

  // catalog
  'GET /api/domains': { scopes: 'domains:read' },
  'POST /api/domains': { scopes: 'domains:write' },
  'GET /api/domains/:id': { scopes: 'domains:read' },
  'PUT /api/domains/:id': { scopes: 'domains:write' },
  'DELETE /api/domains/:id': { scopes: 'domains:write' },
  'GET /api/domains/:id/collections': { scopes: 'collections:read' },
  'GET /api/collections': { scopes: 'collections:read' },
  'POST /api/collections': { scopes: 'collections:write' },
  'GET /api/collections/:id': { scopes: 'collections:read' },
  'PUT /api/collections/:id': { scopes: 'collections:write' },
  'DELETE /api/collections/:id': { scopes: 'collections:write' },
  'GET /api/collections/:id/endpoints': { scopes: 'endpoints:read:*' },
  // `?name=` narrows the list to one endpoint; without it the caller must be able to read them all.
  'GET /api/endpoints': { scopes: 'endpoints:read:<name>' },
  'POST /api/endpoints': { scopes: 'endpoints:create:<name>', lookup: 'body' },
  'GET /api/endpoints/:id': { scopes: 'endpoints:read:<name>', lookup: 'endpoint' },
  'PUT /api/endpoints/:id': { scopes: 'endpoints:update:<name>', lookup: 'endpoint-rename' },
  'DELETE /api/endpoints/:id': { scopes: 'endpoints:delete:<name>', lookup: 'endpoint' },

  // deploy
  'POST /api/endpoints/:id/compile': { scopes: 'endpoints:deploy:<name>', lookup: 'endpoint' },
  'POST /api/endpoints/:id/start': { scopes: 'endpoints:deploy:<name>', lookup: 'endpoint' },
  'POST /api/endpoints/:id/deploy': { scopes: 'endpoints:deploy:<name>', lookup: 'endpoint' },
  'POST /api/endpoints/:id/stop': { scopes: 'endpoints:stop:<name>', lookup: 'endpoint' },
  'GET /api/endpoints/:id/logs': { scopes: 'endpoints:logs:<name>', lookup: 'endpoint' },

  // jobs
  'GET /queue/overview': { scopes: 'queues:read' },
  'POST /queue/:name/backoff': { scopes: 'queues:manage:<name>' },
  'POST /queue/:name/max-workers': { scopes: 'queues:manage:<name>' },
  'POST /queue/:name/paused': { scopes: 'queues:manage:<name>' },
  'POST /queue/:name/retention': { scopes: 'queues:manage:<name>' },
  'POST /queue/:name/rate-limit': { scopes: 'queues:manage:<name>' },
  'POST /queue/:name/retry-failed': { scopes: 'jobs:retry:<name>' },
  'POST /jobs': { scopes: 'jobs:create:<queue>', lookup: 'enqueue' },
  // `?queue=` narrows the list to one queue; without it the caller must be able to read them all.
  'GET /jobs': { scopes: 'jobs:read:<queue>' },
  'GET /jobs/:id': { scopes: 'jobs:read:<queue>', lookup: 'job' },
  'POST /jobs/:id/retry': { scopes: 'jobs:retry:<queue>', lookup: 'job' },
  'POST /jobs/:id/cancel': { scopes: 'jobs:cancel:<queue>', lookup: 'job' },
  'DELETE /jobs/:id': { scopes: 'jobs:delete:<queue>', lookup: 'job' },
  'GET /cron': { scopes: 'cron:read' },
  // A schedule enqueues into its queue, so creating one needs that queue's create scope too.
  'POST /cron': { scopes: { AllOf: ['cron:write:<name>', 'jobs:create:<queue>'] }, lookup: 'body' },
  'GET /cron/:name': { scopes: 'cron:read' },
  'PUT /cron/:name': {
    scopes: { AllOf: ['cron:write:<name>', 'jobs:create:<queue>'] },
    lookup: 'cron-update',
  },
  'DELETE /cron/:name': { scopes: 'cron:write:<name>' },
  'POST /cron/:name/trigger': { scopes: 'cron:trigger:<name>' },
}
