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

/** A call answer as it travels from the main thread back to the thread that asked. */
export type CallResult =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: WireError }

/**
 * The thread's side of the call channel: `call` sends `{type:'call', id, method, args}` and
 * returns a promise that `settle` resolves when the main thread's result with that id arrives.
 */
export function callChannel(
  send: (message: { type: 'call'; id: number; method: string; args: unknown[] }) => void,
): {
  call: (method: string, args: unknown[]) => Promise<unknown>
  settle: (result: CallResult) => void
} {
  let nextId = 1
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  return {
    call: (method, args) => {
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        send({ type: 'call', id, method, args })
      })
    },
    settle: (result) => {
      const waiting = pending.get(result.id)
      if (!waiting) return
      pending.delete(result.id)
      if (result.ok) waiting.resolve(result.value)
      else waiting.reject(fromWire(result.error))
    },
  }
}

/**
 * The main thread's side: run the named call from the table and post its result back. A failure
 * that is not meant for the handler is logged here (with `what`, e.g. 'a job thread call failed')
 * and reaches the thread as a plain failure.
 */
export function answerCall(
  calls: Readonly<Record<string, unknown>>,
  event: { id: number; method: string; args: unknown[] },
  post: (result: CallResult) => void,
  logError: (fields: object, message: string) => void,
  what: string,
): void {
  const method = calls[event.method]
  const run =
    typeof method === 'function'
      ? (method as (...args: unknown[]) => Promise<unknown>)(...event.args)
      : Promise.reject(new Error(`no such call: ${event.method}`))
  run.then(
    (value) => post({ type: 'result', id: event.id, ok: true, value }),
    (error: unknown) => {
      const wire = toWire(error)
      if (wire.kind === undefined) logError({ err: error, method: event.method }, what)
      post({ type: 'result', id: event.id, ok: false, error: wire })
    },
  )
}
