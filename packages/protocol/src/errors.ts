/**
 * The one registry of stable error codes. Every error body the control plane or the gateway
 * returns carries one of these codes; clients switch on the code, never on the message.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  compile_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  insufficient_scopes: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  uri_too_long: 414,
  range_not_satisfiable: 416,
  worker_protocol_unsupported: 426,
  rate_limited: 429,
  internal: 500,
  service_unavailable: 503,
  drain_timeout: 503,
  endpoint_quarantined: 503,
  service_busy: 503,
  store_unavailable: 503,
  handler_timeout: 504,
  service_timeout: 504,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

/** The JSON body of every failed call: `{ ok: false, error: { code, message, details? } }`. */
export interface ErrorBody {
  ok: false
  error: { code: ErrorCode; message: string; details?: unknown }
}

/** The JSON body of every successful call: `{ ok: true, data }`. */
export interface OkBody<T> {
  ok: true
  data: T
}

/**
 * A reply body as a client holds it before looking at `ok`: `data` (and `continuation_token` on
 * a list page) when it is true, `error` when it is false. Clients and tests read replies as this
 * one type; `data` is only meaningful on success.
 */
export interface ReplyBody<T = unknown> {
  ok: boolean
  data: T
  continuation_token?: string | null
  error?: ErrorBody['error']
}

/**
 * An error that carries a stable code, its HTTP status and a message that says what to fix.
 *
 * @example
 * throw new ApiError('not_found', `no endpoint with id ${id}`)
 */
export class ApiError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: unknown

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = ERROR_STATUS[code]
    this.details = details
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message }
    if (this.details !== undefined) error.details = this.details
    return { ok: false, error }
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value)
}
