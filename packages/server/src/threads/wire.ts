import { HandlerError, isHandlerError, isServiceError, ServiceError } from '@edgeforge/sdk'
import type { WireError } from './protocol.ts'

/**
 * A failed call into the main thread as it travels back to a handler or job thread. HandlerErrors
 * (a rate limit, service_unavailable) and ServiceErrors are meant for the handler; anything else
 * stays in the main thread's log and the handler sees a plain failure.
 */
export function toWire(error: unknown): WireError {
  if (isHandlerError(error)) {
    const wire: WireError = {
      kind: 'handler',
      status: error.status,
      code: error.code,
      message: error.message,
    }
    if (typeof error.retryAfterSeconds === 'number') wire.retryAfterSeconds = error.retryAfterSeconds
    return wire
  }
  if (isServiceError(error))
    return { kind: 'service', service: error.service, code: error.code, message: error.message }
  return { message: 'the call failed inside the gateway' }
}

/** The thread's side: the error a handler's `await` throws. */
export function fromWire(error: WireError): Error {
  if (error.kind === 'handler' && error.status !== undefined && error.code !== undefined)
    return new HandlerError(error.status, error.code, error.message, {
      retryAfterSeconds: error.retryAfterSeconds,
    })
  if (error.kind === 'service')
    return new ServiceError(error.service ?? '', error.code ?? 'operation_failed', error.message)
  return new Error(error.message)
}

/** As main.ts words a failed service call for an endpoint's log: the code, the message, and the backend's reason. */
export function describeServiceError(error: unknown): string {
  const err = error as { code?: unknown; message?: unknown; cause?: unknown }
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : ''
  return `${typeof err.code === 'string' ? `${err.code}: ` : ''}${String(err.message ?? error)}${cause}`
}
