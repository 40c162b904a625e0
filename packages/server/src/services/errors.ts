import { HandlerError, ServiceError } from '@edgeforge/sdk'

/*
 * The errors a handler gets from a service. The three HandlerErrors carry statuses the client
 * may see, so their messages name the service and never the backend's words; the backend's
 * reason rides in `cause`, which reaches the endpoint's log and the service's `last_error`.
 */

export function serviceUnavailable(service: string, cause: unknown): HandlerError {
  return new HandlerError(503, 'service_unavailable', `service "${service}" is unavailable; retry later`, {
    cause,
  })
}

export function serviceBusy(service: string, poolSize: number, maxQueue: number): HandlerError {
  return new HandlerError(
    503,
    'service_busy',
    `service "${service}" is busy: its ${poolSize} connections are in use and ${maxQueue} operations wait; retry later`,
  )
}

export function serviceTimeout(service: string, timeoutMs: number): HandlerError {
  return new HandlerError(
    504,
    'service_timeout',
    `service "${service}" did not answer within ${timeoutMs} ms`,
  )
}

/** The backend refused the operation: its own message, for the handler to catch. */
export function operationFailed(service: string, error: unknown, code = 'operation_failed'): ServiceError {
  const message = error instanceof Error ? error.message : String(error)
  return new ServiceError(service, code, message)
}
