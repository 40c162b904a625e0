import type { FastifyReply, FastifyRequest } from 'fastify'

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
 * browsers keep their scripts away from the answers. The control app runs it before its guard.
 * Returns true when it answered the request (a preflight).
 */
export function corsHandler(
  origins: readonly string[],
): (req: FastifyRequest, reply: FastifyReply) => boolean {
  const allowed = new Set(origins)
  return (req, reply) => {
    const origin = req.headers.origin
    if (origin === undefined || !allowed.has(origin)) return false
    reply.header('access-control-allow-origin', origin)
    reply.header('vary', 'origin')
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS)
      reply.header('access-control-allow-headers', ALLOWED_HEADERS)
      reply.header('access-control-max-age', '600')
      reply.code(204).send()
      return true
    }
    reply.header('access-control-expose-headers', EXPOSED_HEADERS)
    return false
  }
}
