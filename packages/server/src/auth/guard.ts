import { ApiError, type Operation } from '@edgeforge/protocol'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { App } from '../http/index.ts'
import { type Authenticator, missingCredentials, type Principal } from './authenticator.ts'
import { SIGNED_URL_PARAM } from './credentials.ts'
import type { ClientRateLimiter } from './rate-limit.ts'
import { SCOPE_LOOKUPS, type ScopeLookup } from './route-scopes.ts'
import { describeExpression, fillTemplates, hasScope, type ScopeExpression, unsatisfied } from './scopes.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the auth guard before any route runs. */
    principal?: Principal
  }
}

type Params = Record<string, string | string[] | undefined>

/** The lookups of route-scopes.ts, answered by the contexts that own the resources. */
export interface ScopeLookups {
  endpointName(id: string): Promise<string | undefined>
  jobQueue(id: string): Promise<string | undefined>
  /** The queue a job endpoint serves; undefined for an HTTP endpoint or none. */
  endpointQueue(id: string): Promise<string | undefined>
  cronQueue(name: string): Promise<string | undefined>
}

export interface GuardOptions {
  authenticator: Authenticator
  lookups: ScopeLookups
  rateLimiter: ClientRateLimiter
  /**
   * The scopes a self-signed URL of another context grants (a storage `presignedUrl` download),
   * `'invalid'` when it is one but its signature is wrong or expired, undefined when it is not one.
   * Asked only for requests without an Authorization header.
   */
  presigned?: (url: string) => readonly string[] | 'invalid' | undefined
}

const AUTHORIZED_SCOPES_HEADER = 'x-edgeforge-authorized-scopes'
/** A route registered without a declaration: only a credential holding `*` may call it. */
const ROOT_ONLY: ScopeExpression = '*'

export interface AuthGuard {
  /**
   * Authenticates one control-plane request, or throws the 401 (or 429). The control app calls it
   * from its first hook and for router errors, so even a 404 or a bad URL needs credentials.
   */
  authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void>
  /** Adds the preHandler that checks each route's scopes once its input is validated. */
  install(app: App): void
}

export function authGuard(options: GuardOptions): AuthGuard {
  return {
    async authenticate(req, reply) {
      const presigned = req.headers.authorization === undefined ? options.presigned?.(req.url) : undefined
      if (presigned === 'invalid') throw new ApiError('forbidden', 'the signed URL is invalid or has expired')
      if (presigned !== undefined) {
        // The link is its own credential: it may read what it names, with GET or HEAD only.
        req.principal = { clientId: 'presigned-url', scopes: presigned, via: 'signed-url', expiresAt: null }
        return
      }
      const principal = await options.authenticator.authenticate(
        {
          authorization: req.headers.authorization,
          url: req.url,
          method: req.method,
          authorizedScopes: headerValue(req.headers[AUTHORIZED_SCOPES_HEADER]),
        },
        true,
      )
      if (!principal) throw missingCredentials()
      req.principal = principal
      // The signature is not one of the route's query parameters (their schemas refuse unknown ones).
      const query = req.query as Record<string, unknown> | undefined
      if (query && typeof query === 'object' && SIGNED_URL_PARAM in query) delete query[SIGNED_URL_PARAM]
      limit(options.rateLimiter, principal, reply)
    },
    install(app) {
      app.addHook('preHandler', async (req) => {
        const url = req.routeOptions.url
        if (url === undefined || !req.principal) return
        if (req.principal.via === 'signed-url' && req.method !== 'GET' && req.method !== 'HEAD')
          throw new ApiError('unauthorized', 'signed URLs work for GET and HEAD only')
        // `*` satisfies every expression: the root client and the open loopback caller skip the lookups.
        if (hasScope(req.principal.scopes, '*')) return
        // The scopes are the route's declaration's (`declared()` puts it in the route config).
        const operation = (req.routeOptions.config as { operation?: Operation }).operation
        const expression = operation?.scopes ?? ROOT_ONLY
        const params = await routeParams(req, operation && SCOPE_LOOKUPS[operation.name], options.lookups)
        checkScopes(req.principal, fillTemplates(expression, params))
      })
    },
  }
}

/** Throws the 403 `insufficient_scopes` unless the principal satisfies the filled expression. */
export function checkScopes(principal: Principal, expression: ScopeExpression): void {
  const missing = unsatisfied(principal.scopes, expression)
  if (missing === undefined) return
  throw new ApiError(
    'insufficient_scopes',
    `client ${principal.clientId} lacks the scopes for this call: needs ${describeExpression(missing)}`,
    { client_id: principal.clientId, required: missing, scopes: principal.scopes },
  )
}

function limit(limiter: ClientRateLimiter, principal: Principal, reply: FastifyReply): void {
  // The operator's own credential is never throttled, so it can always get in to fix things.
  if (principal.via === 'root' || principal.via === 'open') return
  const waitSeconds = limiter.take(principal.clientId)
  if (waitSeconds === 0) return
  reply.header('retry-after', String(waitSeconds))
  throw new ApiError(
    'rate_limited',
    `client ${principal.clientId} is over its request rate limit; retry in ${waitSeconds}s`,
    { retry_after_seconds: waitSeconds },
  )
}

async function routeParams(req: FastifyRequest, lookup: ScopeLookup | undefined, lookups: ScopeLookups) {
  const params: Params = {}
  for (const source of [req.query, req.params])
    if (source && typeof source === 'object')
      for (const [key, value] of Object.entries(source)) if (typeof value === 'string') params[key] = value
  const id = typeof params.id === 'string' ? params.id : undefined
  const body = (req.body ?? {}) as Record<string, unknown>
  switch (lookup) {
    case 'endpoint':
      params.name = id === undefined ? undefined : await lookups.endpointName(id)
      break
    case 'endpoint-rename': {
      const current = id === undefined ? undefined : await lookups.endpointName(id)
      const renamed = typeof body.name === 'string' ? body.name : undefined
      params.name =
        renamed !== undefined && renamed !== current && current !== undefined ? [current, renamed] : current
      break
    }
    case 'job':
      params.queue = id === undefined ? undefined : await lookups.jobQueue(id)
      break
    case 'endpoint-queue':
      params.queue =
        typeof params.endpoint === 'string' ? await lookups.endpointQueue(params.endpoint) : undefined
      break
    case 'enqueue':
      params.queue = Array.isArray(body.jobs)
        ? body.jobs.map((job) => String((job as { queue?: unknown })?.queue))
        : stringOr(body.queue)
      break
    case 'cron-update':
      params.queue =
        typeof body.queue === 'string'
          ? body.queue
          : typeof params.name === 'string'
            ? await lookups.cronQueue(params.name)
            : undefined
      break
    case 'body':
      if (typeof body.name === 'string') params.name = body.name
      if (typeof body.queue === 'string') params.queue = body.queue
      break
  }
  return params
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(' ') : value
}
