import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError, type Operation } from '@edgeforge/protocol'
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
  type RawServerDefault,
} from 'fastify'
import type { Logger } from '../observability/logger.ts'
import { requestIdFor } from '../observability/request-id.ts'
import { errorBody, mapError } from './errors.ts'
import { createGuard } from './guard.ts'
import { type RegisteredRoute, RouteIndex } from './route-index.ts'

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface ControlAppOptions {
  logger: Logger
  adminToken: string
  /** Host names answered without a token besides the loopback ones (DNS-rebinding guard). */
  allowedHosts?: readonly string[]
  version: string
  /** Largest accepted request body, e.g. handler code or a batch of jobs. */
  bodyLimitBytes?: number
}

const controlRoutes = new WeakMap<object, RegisteredRoute[]>()

/** The routes registered on a control app so far, for the test that they are the declared ones. */
export function registeredRoutes(app: App): readonly RegisteredRoute[] {
  return controlRoutes.get(app) ?? []
}

/** The success envelope every control-plane route returns. */
export function ok<T>(data: T): { ok: true; data: T } {
  return { ok: true, data }
}

/** The envelope of a list route: the page's items as `data`, and the token for the next page. */
export function okPage<T>(page: { items: T[]; continuation_token: string | null }) {
  return { ok: true as const, data: page.items, continuation_token: page.continuation_token }
}

/**
 * The control-plane shell: Fastify with TypeBox validation, the `{ ok, data | error }` envelope,
 * the guard (host, origin, bearer token), router errors in the envelope, 405s. Contexts add their
 * routes from the declarations in @edgeforge/protocol (see declared.ts).
 */
export async function createControlApp(options: ControlAppOptions): Promise<App> {
  const guard = createGuard({ adminToken: options.adminToken, allowedHosts: options.allowedHosts ?? [] })
  const app = Fastify({
    loggerInstance: options.logger.child({ plane: 'control' }) as FastifyBaseLogger,
    // One line per request is noise for a management API; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 16 * 1024 * 1024,
    genReqId: (req) => requestIdFor(req.headers['x-request-id']),
    // Errors Fastify's router raises before any hook runs (a %zz in the path, an over-long
    // parameter): the guard still comes first, then the envelope.
    frameworkErrors: (error, req, reply: FastifyReply) => {
      reply.header('x-request-id', req.id)
      const refused = guard(req)
      const apiError =
        refused ??
        (error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError('uri_too_long', 'a path parameter is longer than any this API accepts')
          : new ApiError('bad_request', 'the request path is not valid percent-encoded text'))
      reply.status(apiError.status).send(errorBody(apiError))
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // A JSON body's types are the caller's contract: `{"name": 5}` is refused, not read as "5".
  // Path parameters and query strings are text, so they may still be read as numbers and booleans.
  // Unknown fields are an error the caller should hear about, not something to drop silently.
  const buildValidator = AjvCompiler()
  const common = { removeAdditional: false, useDefaults: true, allErrors: false } as const
  const strict = buildValidator({}, { customOptions: { ...common, coerceTypes: false } })
  const lenient = buildValidator({}, { customOptions: { ...common, coerceTypes: 'array' } })
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? strict : lenient)(route))

  const routes = new RouteIndex()
  app.addHook('onRoute', (route) => {
    const operation = (route.config as { operation?: Operation } | undefined)?.operation
    routes.add(route.method, route.url, operation?.name)
  })
  controlRoutes.set(app, routes.routes)

  // Action routes (deploy, stop, retry, …) take no body, and many clients send `content-type:
  // application/json` on every request: an empty JSON body reads as no body. Anything else goes to
  // Fastify's own parser, which keeps its __proto__ and constructor poisoning checks.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString()
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    parseJson(req, text, done)
  })

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id)
    const refused = guard(req)
    if (refused) throw refused
  })

  app.setErrorHandler((error, req, reply) => {
    const apiError = mapError(error)
    if (apiError.status >= 500)
      req.log.error({ err: error, requestId: req.id }, 'control-plane request failed')
    // A condition the client can wait out (a store that is down, a rate limit) says when to retry.
    const retryAfter = (apiError.details as { retry_after_seconds?: unknown } | undefined)
      ?.retry_after_seconds
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter))
    reply.status(apiError.status).send(errorBody(apiError))
  })

  // Runs after the guard (the hooks apply to it too). A path that exists under other methods is
  // a 405 listing them, as on the data plane.
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]
    const allow = routes.methodsOf(path)
    if (allow.length) {
      reply.header('allow', allow.join(', '))
      const error = new ApiError(
        'method_not_allowed',
        `${path} does not take ${req.method}; it takes ${allow.join(', ')}`,
        {
          allow,
        },
      )
      reply.status(405).send(errorBody(error))
      return
    }
    reply.status(404).send(errorBody(new ApiError('not_found', `no route ${req.method} ${path}`)))
  })

  return app
}
