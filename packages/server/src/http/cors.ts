import type { App } from './app.ts'

/** Headers a browser client may send: credentials, the body type, and the client's own headers. */
const ALLOWED_HEADERS =
  'authorization, content-type, x-request-id, x-edgeforge-authorized-scopes, idempotency-key'
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE'
/** What a browser script may read off a response besides the safelisted headers. */
const EXPOSED_HEADERS = 'x-request-id, retry-after'

/**
 * CORS for the configured origins (EDGEFORGE_CORS_ORIGINS): their requests get
 * `access-control-allow-origin`, and their preflights are answered here, before authentication,
 * because a browser sends a preflight without credentials. Other origins get no CORS headers, so
 * browsers keep their scripts away from the answers. Register it before the auth guard.
 */
export function installCors(app: App, origins: readonly string[]): void {
  if (origins.length === 0) return
  const allowed = new Set(origins)
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin
    if (origin === undefined || !allowed.has(origin)) return
    reply.header('access-control-allow-origin', origin)
    reply.header('vary', 'origin')
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS)
      reply.header('access-control-allow-headers', ALLOWED_HEADERS)
      reply.header('access-control-max-age', '600')
      return reply.code(204).send()
    }
    reply.header('access-control-expose-headers', EXPOSED_HEADERS)
  })
}
