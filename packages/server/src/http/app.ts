import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '@edgeforge/protocol'
import swagger from '@fastify/swagger'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawServerDefault,
} from 'fastify'
import type { Logger } from '../observability/logger.ts'
import { newRequestId } from '../observability/request-id.ts'
import { errorBody, mapError } from './errors.ts'

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
  version: string
  /** Largest accepted request body, e.g. handler code or a batch of jobs. */
  bodyLimitBytes?: number
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
 * and the OpenAPI document. Contexts add their routes as plugins.
 */
export async function createControlApp(options: ControlAppOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: options.logger.child({ plane: 'control' }) as FastifyBaseLogger,
    // One line per request is noise for a management API; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 16 * 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : newRequestId()
    },
    ajv: {
      // Unknown fields are an error the caller should hear about, not something to drop silently.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

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

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'edgeforge control plane', version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: options.adminToken ? [{ bearer: [] }] : [],
    },
  })

  // Credentials are checked by the auth context's guard (auth/guard.ts), which main.ts installs.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id)
  })

  app.setErrorHandler((error, req, reply) => {
    const apiError = mapError(error)
    if (apiError.status >= 500)
      req.log.error({ err: error, requestId: req.id }, 'control-plane request failed')
    reply.status(apiError.status).send(errorBody(apiError))
  })

  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send(errorBody(new ApiError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)))
  })

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  return app
}
