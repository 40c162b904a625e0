import { errorBody, SDK_ERROR_STATUS, type SdkErrorCode } from './codes.ts'

const JSON_TYPE = 'application/json'
const TEXT_TYPE = 'text/plain; charset=utf-8'
const HTML_TYPE = 'text/html; charset=utf-8'

const CORS_ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'
const CORS_ALLOW_HEADERS = 'Content-Type, Authorization, X-Requested-With'

/**
 * The HTTP response a handler returns. The gateway writes `status`, `headers` and `body` as they
 * are, so a response can also be built by hand; the statics cover the common cases.
 *
 * @example
 * return Response.ok({ id: user.id, name: user.name })
 */
export class Response {
  /**
   * The HTTP status code.
   *
   * @example
   * const res = new Response()
   * res.status = 418
   */
  status: number

  /**
   * Response headers. Keys are lower-case; `withHeader` keeps them that way.
   *
   * @example
   * res.headers['x-request-cost'] = '3'
   */
  headers: Record<string, string>

  /**
   * The body as written to the client, or `null` for none. JSON bodies are already serialized.
   *
   * @example
   * Response.text(200, 'hi').body // 'hi'
   */
  body: string | Uint8Array | null

  /**
   * A response with the given status (200 by default), no headers and no body.
   *
   * @example
   * return new Response(204)
   */
  constructor(status = 200) {
    this.status = status
    this.headers = {}
    this.body = null
  }

  /**
   * 200 OK with `body` serialized as JSON. Without a body the response is empty.
   *
   * @example
   * return Response.ok({ items })
   */
  static ok(body?: unknown): Response {
    return Response.json(200, body)
  }

  /**
   * 201 Created with `body` serialized as JSON.
   *
   * @example
   * return Response.created({ id }).withHeader('Location', `/users/${id}`)
   */
  static created(body?: unknown): Response {
    return Response.json(201, body)
  }

  /**
   * 202 Accepted with `body` serialized as JSON: the work was taken on and finishes later.
   *
   * @example
   * const queued = await ctx.jobs.enqueue('reports', { month })
   * return Response.accepted({ jobId: queued.id })
   */
  static accepted(body?: unknown): Response {
    return Response.json(202, body)
  }

  /**
   * 204 No Content.
   *
   * @example
   * return Response.noContent()
   */
  static noContent(): Response {
    return new Response(204)
  }

  /**
   * 400 with the error body `{"error":{"code":"bad_request","message":...}}`.
   *
   * @example
   * return Response.badRequest('name must not be empty')
   */
  static badRequest(message = 'Bad request'): Response {
    return errorResponse('bad_request', message)
  }

  /**
   * 401 with the error body and code `unauthorized`.
   *
   * @example
   * return Response.unauthorized('token expired')
   */
  static unauthorized(message = 'Unauthorized'): Response {
    return errorResponse('unauthorized', message)
  }

  /**
   * 403 with the error body and code `forbidden`.
   *
   * @example
   * return Response.forbidden('only admins may delete users')
   */
  static forbidden(message = 'Forbidden'): Response {
    return errorResponse('forbidden', message)
  }

  /**
   * 404 with the error body and code `not_found`.
   *
   * @example
   * return Response.notFound(`no user ${id}`)
   */
  static notFound(message = 'Not found'): Response {
    return errorResponse('not_found', message)
  }

  /**
   * 409 with the error body and code `conflict`.
   *
   * @example
   * return Response.conflict('email already registered')
   */
  static conflict(message = 'Conflict'): Response {
    return errorResponse('conflict', message)
  }

  /**
   * 500 with the error body and code `internal`. The message reaches the client: keep driver
   * errors and stacks out of it and log them instead.
   *
   * @example
   * return Response.internalError()
   */
  static internalError(message = 'Internal server error'): Response {
    return errorResponse('internal', message)
  }

  /**
   * 503 with the error body and code `service_unavailable`.
   *
   * @example
   * return Response.serviceUnavailable('payments are down, try again shortly').withHeader('Retry-After', '30')
   */
  static serviceUnavailable(message = 'Service unavailable'): Response {
    return errorResponse('service_unavailable', message)
  }

  /**
   * Any status with `body` serialized as JSON once, here, and `content-type: application/json`.
   * `undefined` gives an empty body; a value `JSON.stringify` cannot represent throws a TypeError.
   *
   * @example
   * return Response.json(207, { results })
   */
  static json(status: number, body: unknown): Response {
    const response = new Response(status)
    if (body === undefined) return response
    const serialized = JSON.stringify(body)
    if (serialized === undefined) {
      throw new TypeError(`a ${typeof body} cannot be serialized as a JSON response body`)
    }
    response.headers['content-type'] = JSON_TYPE
    response.body = serialized
    return response
  }

  /**
   * Plain text, `content-type: text/plain; charset=utf-8`.
   *
   * @example
   * return Response.text(200, 'pong')
   */
  static text(status: number, text: string): Response {
    const response = new Response(status)
    response.headers['content-type'] = TEXT_TYPE
    response.body = text
    return response
  }

  /**
   * HTML, `content-type: text/html; charset=utf-8`. The SDK does not escape anything for you.
   *
   * @example
   * return Response.html(200, '<h1>Hello</h1>')
   */
  static html(status: number, html: string): Response {
    const response = new Response(status)
    response.headers['content-type'] = HTML_TYPE
    response.body = html
    return response
  }

  /**
   * Raw bytes with the given content type (`application/octet-stream` by default).
   *
   * @example
   * return Response.binary(200, png, 'image/png').withCache(86400)
   */
  static binary(status: number, bytes: Uint8Array, contentType = 'application/octet-stream'): Response {
    const response = new Response(status)
    response.headers['content-type'] = contentType
    response.body = bytes
    return response
  }

  /**
   * A redirect to `location`, 302 by default. The status must be a 3xx code.
   *
   * @example
   * return Response.redirect('/login', 303)
   */
  static redirect(location: string, status = 302): Response {
    if (!Number.isInteger(status) || status < 300 || status > 399) {
      throw new RangeError(`a redirect needs a 3xx status, got ${status}`)
    }
    const response = new Response(status)
    response.headers.location = location
    return response
  }

  /**
   * Sets a header (the name is lower-cased) and returns this response.
   *
   * @example
   * return Response.ok(data).withHeader('X-Total-Count', String(total))
   */
  withHeader(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value
    return this
  }

  /**
   * Replaces the body and returns this response. The content type is left as it is.
   *
   * @example
   * return new Response(200).withHeader('Content-Type', 'text/csv').withBody('id,name\n1,Ada\n')
   */
  withBody(body: string | Uint8Array): this {
    this.body = body
    return this
  }

  /**
   * Adds CORS headers allowing `origin` (`*` by default) the common methods and request headers.
   * A specific origin also sets `vary: origin`, so shared caches keep one copy per origin.
   *
   * @example
   * if (req.isMethod('OPTIONS')) return Response.noContent().withCors('https://app.example.com')
   */
  withCors(origin = '*'): this {
    this.headers['access-control-allow-origin'] = origin
    this.headers['access-control-allow-methods'] = CORS_ALLOW_METHODS
    this.headers['access-control-allow-headers'] = CORS_ALLOW_HEADERS
    if (origin !== '*') {
      const vary = this.headers.vary
      if (vary === undefined || vary === '') this.headers.vary = 'origin'
      else if (!/(^|,)\s*origin\s*(,|$)/i.test(vary)) this.headers.vary = `${vary}, origin`
    }
    return this
  }

  /**
   * Sets `cache-control: public, max-age=N`, or `no-store` for 0.
   *
   * @example
   * return Response.ok(catalog).withCache(300)
   */
  withCache(maxAgeSeconds: number): this {
    if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds < 0) {
      throw new RangeError(`maxAgeSeconds must be a non-negative number, got ${maxAgeSeconds}`)
    }
    const seconds = Math.floor(maxAgeSeconds)
    this.headers['cache-control'] = seconds === 0 ? 'no-store' : `public, max-age=${seconds}`
    return this
  }
}

function errorResponse(code: SdkErrorCode, message: string): Response {
  const response = new Response(SDK_ERROR_STATUS[code])
  response.headers['content-type'] = JSON_TYPE
  response.body = errorBody(code, message)
  return response
}

/** @internal Shared with `HandlerError.toResponse`, so both error bodies come from one place. */
export function errorResponseWithId(
  status: number,
  code: string,
  message: string,
  requestId: string,
): Response {
  const response = new Response(status)
  response.headers['content-type'] = JSON_TYPE
  response.body = errorBody(code, message, requestId)
  return response
}
