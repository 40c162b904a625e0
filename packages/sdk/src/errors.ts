import { SDK_ERROR_STATUS, type SdkErrorCode } from './codes.ts'
import { errorResponseWithId, type Response } from './response.ts'

const HANDLER_ERROR_BRAND = Symbol.for('edgeforge.HandlerError')

/** What a `HandlerError` takes besides its status, code and message. */
export interface HandlerErrorOptions extends ErrorOptions {
  /**
   * Sent as the `retry-after` header (whole seconds): when a 429 or 503 may be tried again.
   *
   * @example
   * throw new HandlerError(429, 'rate_limited', 'slow down', { retryAfterSeconds: 5 })
   */
  retryAfterSeconds?: number
}

/**
 * An error that becomes an HTTP response. Throw it anywhere below a handler (or return
 * `err.toResponse(ctx.requestId)`) and the client sees its status and the body
 * `{"error":{"code","message"},"request_id"}`. Anything else thrown becomes a 500 whose message
 * stays in the log.
 *
 * @example
 * const user = await findUser(id)
 * if (!user) throw HandlerError.notFound(`no user ${id}`)
 */
export class HandlerError extends Error {
  /**
   * The HTTP status the client receives.
   *
   * @example
   * HandlerError.conflict('taken').status // 409
   */
  readonly status: number

  /**
   * A stable, machine-readable code; clients switch on it, never on the message.
   *
   * @example
   * HandlerError.validation('bad email').code // 'validation_failed'
   */
  readonly code: string

  /**
   * When the client may try again, in whole seconds; the response carries it as `retry-after`.
   *
   * @example
   * HandlerError.serviceUnavailable('reindexing', { retryAfterSeconds: 30 }).retryAfterSeconds // 30
   */
  readonly retryAfterSeconds: number | undefined

  /**
   * An error with any status and code; prefer the static creators for the usual ones.
   *
   * @example
   * throw new HandlerError(429, 'rate_limited', 'slow down', { cause: err, retryAfterSeconds: 5 })
   */
  constructor(status: number, code: string, message: string, options?: HandlerErrorOptions) {
    super(message, options)
    this.name = 'HandlerError'
    this.status = status
    this.code = code
    this.retryAfterSeconds = options?.retryAfterSeconds
  }

  /**
   * 400 `bad_request`: the request itself is malformed (missing parameter, invalid JSON).
   *
   * @example
   * throw HandlerError.badRequest('query parameter "q" is required')
   */
  static badRequest(message = 'Bad request', options?: ErrorOptions): HandlerError {
    return create('bad_request', message, options)
  }

  /**
   * 400 `validation_failed`: the request is well-formed but its content breaks a rule.
   *
   * @example
   * if (item.price < 0) throw HandlerError.validation('price must not be negative')
   */
  static validation(message = 'Validation failed', options?: ErrorOptions): HandlerError {
    return create('validation_failed', message, options)
  }

  /**
   * 401 `unauthorized`: credentials are missing or invalid.
   *
   * @example
   * throw HandlerError.unauthorized('token expired')
   */
  static unauthorized(message = 'Unauthorized', options?: ErrorOptions): HandlerError {
    return create('unauthorized', message, options)
  }

  /**
   * 403 `forbidden`: the caller is known but may not do this.
   *
   * @example
   * throw HandlerError.forbidden('only the owner may delete a project')
   */
  static forbidden(message = 'Forbidden', options?: ErrorOptions): HandlerError {
    return create('forbidden', message, options)
  }

  /**
   * 404 `not_found`.
   *
   * @example
   * throw HandlerError.notFound(`no order ${id}`)
   */
  static notFound(message = 'Not found', options?: ErrorOptions): HandlerError {
    return create('not_found', message, options)
  }

  /**
   * 405 `method_not_allowed`.
   *
   * @example
   * if (!req.isMethod('POST')) throw HandlerError.methodNotAllowed('use POST')
   */
  static methodNotAllowed(message = 'Method not allowed', options?: ErrorOptions): HandlerError {
    return create('method_not_allowed', message, options)
  }

  /**
   * 409 `conflict`: the request clashes with the current state (a duplicate, a stale version).
   *
   * @example
   * throw HandlerError.conflict('email already registered')
   */
  static conflict(message = 'Conflict', options?: ErrorOptions): HandlerError {
    return create('conflict', message, options)
  }

  /**
   * 413 `payload_too_large`.
   *
   * @example
   * if (file.data.length > 5_000_000) throw HandlerError.payloadTooLarge('images are limited to 5 MB')
   */
  static payloadTooLarge(message = 'Payload too large', options?: ErrorOptions): HandlerError {
    return create('payload_too_large', message, options)
  }

  /**
   * 500 `internal`. The message reaches the client, so keep it generic; put the details in
   * `cause`, which the log shows.
   *
   * @example
   * throw HandlerError.internal('could not save the order', { cause: err })
   */
  static internal(message = 'Internal server error', options?: ErrorOptions): HandlerError {
    return create('internal', message, options)
  }

  /**
   * 503 `service_unavailable`: a dependency is down; the client may retry later.
   *
   * @example
   * throw HandlerError.serviceUnavailable('search is being reindexed')
   */
  static serviceUnavailable(message = 'Service unavailable', options?: HandlerErrorOptions): HandlerError {
    return create('service_unavailable', message, options)
  }

  /**
   * A refusal the platform answered (an API error's status, code, message and details) as a
   * HandlerError when it is the caller's to act on: any 4xx, and 503 `store_unavailable` (the
   * client may retry). `undefined` for anything else, which stays a server error. A rate limit's
   * `details.retry_after_seconds` becomes `retryAfterSeconds`. `ctx.jobs.enqueue` throws these, in
   * the gateway and on remote workers alike.
   *
   * @example
   * const refusal = HandlerError.fromRefusal(apiError, `enqueue into mail failed: ${apiError.message}`)
   * if (refusal) throw refusal
   */
  static fromRefusal(
    error: Error & { status: number; code: string; details?: unknown },
    message = error.message,
  ): HandlerError | undefined {
    if (error.status >= 500 && error.code !== 'store_unavailable') return undefined
    const retryAfter = (error.details as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds
    return new HandlerError(error.status, error.code, message, {
      cause: error,
      retryAfterSeconds: typeof retryAfter === 'number' ? retryAfter : undefined,
    })
  }

  /**
   * The response the client sees for this error: its status and the JSON body
   * `{"error":{"code","message"},"request_id"}`.
   *
   * @example
   * try { return await work() } catch (err) {
   *   if (isHandlerError(err)) return err.toResponse(ctx.requestId)
   *   throw err
   * }
   */
  toResponse(requestId: string): Response {
    const response = errorResponseWithId(this.status, this.code, this.message, requestId)
    const retryAfter = this.retryAfterSeconds
    if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0)
      response.headers['retry-after'] = String(Math.ceil(retryAfter))
    return response
  }
}

// On the prototype, not the instance: the brand costs nothing per error and stays out of JSON.
Object.defineProperty(HandlerError.prototype, HANDLER_ERROR_BRAND, { value: true })

function create(code: SdkErrorCode, message: string, options: HandlerErrorOptions | undefined): HandlerError {
  return new HandlerError(SDK_ERROR_STATUS[code], code, message, options)
}

/**
 * Whether `value` is a HandlerError — also one made by another copy of the SDK (a bundled
 * duplicate, another realm), which `instanceof` would miss.
 *
 * @example
 * if (isHandlerError(err) && err.status < 500) ctx.log.warn(err.message)
 */
export function isHandlerError(value: unknown): value is HandlerError {
  if (value instanceof HandlerError) return true
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [HANDLER_ERROR_BRAND]?: unknown })[HANDLER_ERROR_BRAND] === true &&
    typeof (value as { status?: unknown }).status === 'number' &&
    typeof (value as { code?: unknown }).code === 'string'
  )
}
