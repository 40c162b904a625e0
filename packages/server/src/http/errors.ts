import { ApiError, type ErrorBody } from '@edgeforge/protocol'

interface FastifyLikeError {
  code?: string
  statusCode?: number
  validation?: Array<{
    instancePath?: string
    message?: string
    keyword?: string
    params?: Record<string, unknown>
  }>
  validationContext?: string
  message: string
}

/**
 * Turns anything a route threw into an ApiError with a stable code. Fastify's own validation
 * and parsing errors become 400s naming the field; anything unknown becomes a generic 500 (the
 * log keeps the real error, the client never sees a driver message or a stack).
 */
export function mapError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  const err = error as FastifyLikeError
  if (err?.validation) {
    const first = err.validation[0] ?? {}
    const where = err.validationContext ?? 'body'
    let field = (first.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.')
    let message = first.message ?? 'is invalid'
    if (first.keyword === 'additionalProperties' && first.params?.additionalProperty) {
      field = [field, String(first.params.additionalProperty)].filter(Boolean).join('.')
      message = 'is not a known field'
    } else if (first.keyword === 'required' && first.params?.missingProperty) {
      field = [field, String(first.params.missingProperty)].filter(Boolean).join('.')
      message = 'is required'
    }
    const name = field ? `${where}.${field}` : where
    return new ApiError('validation_failed', `${name} ${message}`, { field: name })
  }
  switch (err?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('bad_request', `request body is not valid JSON: ${err.message}`)
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', 'request body is larger than the control plane accepts')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'send the body as application/json')
  }
  if (err instanceof SyntaxError && err.message.includes('JSON'))
    return new ApiError('bad_request', `request body is not valid JSON: ${err.message}`)
  const statusCode = (err as FastifyLikeError | undefined)?.statusCode
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ApiError('bad_request', err.message)
  }
  return new ApiError('internal', 'internal error; the server log has the details under this request id')
}

export function errorBody(error: ApiError): ErrorBody {
  return error.toBody()
}
