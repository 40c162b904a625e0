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

/**
 * Calls into the main thread travel in batches: what a thread asks during one event-loop turn
 * leaves as one `calls` message (flat `[id, method, args, id, method, args, …]`), and what the
 * main thread answers during one turn goes back to that thread as one `results` message (flat
 * `[id, ok, value-or-error, …]`). One message each way per turn instead of one per call: each
 * message is a structured clone and a wake-up of the other thread's loop.
 */
export interface CallBatch {
  type: 'calls'
  calls: unknown[]
}
export interface ResultBatch {
  type: 'results'
  results: unknown[]
}

/** The fields of one call in a `calls` batch. */
const CALL_FIELDS = 3
/** The fields of one answer in a `results` batch. */
const RESULT_FIELDS = 3

/**
 * The thread's side of the call channel: `call` queues `(id, method, args)` and returns a promise
 * that `settle` resolves when the main thread's answer with that id arrives. The queue leaves at
 * the end of the turn (setImmediate) as one `calls` message.
 */
export function callChannel(send: (message: CallBatch) => void): {
  call: (method: string, args: unknown[]) => Promise<unknown>
  settle: (batch: ResultBatch) => void
} {
  let nextId = 1
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let outgoing: unknown[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    const calls = outgoing
    outgoing = []
    try {
      send({ type: 'calls', calls })
    } catch {
      // One call's arguments could not be cloned (a function, a socket…): that call fails, the
      // others of the turn still go, each on its own.
      for (let i = 0; i < calls.length; i += CALL_FIELDS) {
        try {
          send({ type: 'calls', calls: calls.slice(i, i + CALL_FIELDS) })
        } catch (error) {
          const id = calls[i] as number
          const waiting = pending.get(id)
          pending.delete(id)
          waiting?.reject(error instanceof Error ? error : new Error(String(error)))
        }
      }
    }
  }
  return {
    call: (method, args) => {
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        outgoing.push(id, method, args)
        if (scheduled) return
        scheduled = true
        setImmediate(flush)
      })
    },
    settle: (batch) => {
      const results = batch.results
      for (let i = 0; i < results.length; i += RESULT_FIELDS) {
        const id = results[i] as number
        const waiting = pending.get(id)
        if (!waiting) continue
        pending.delete(id)
        if (results[i + 1] === true) waiting.resolve(results[i + 2])
        else waiting.reject(fromWire(results[i + 2] as WireError))
      }
    },
  }
}

/**
 * The main thread's side, one per thread: runs the named calls of a batch from the table and
 * posts their answers back, batched per turn. A failure that is not meant for the handler is
 * logged here (with `what`, e.g. 'a job thread call failed') and reaches the thread as a plain
 * failure; so does an answer that cannot be cloned.
 */
export class CallAnswerer {
  private outgoing: unknown[] = []
  private scheduled = false
  private readonly flush = () => this.flushNow()
  private readonly calls: Readonly<Record<string, unknown>>
  private readonly post: (batch: ResultBatch) => void
  private readonly logError: (fields: object, message: string) => void
  private readonly what: string

  constructor(
    calls: Readonly<Record<string, unknown>>,
    post: (batch: ResultBatch) => void,
    logError: (fields: object, message: string) => void,
    what: string,
  ) {
    this.calls = calls
    this.post = post
    this.logError = logError
    this.what = what
  }

  answer(batch: CallBatch): void {
    const calls = batch.calls
    for (let i = 0; i < calls.length; i += CALL_FIELDS)
      this.run(calls[i] as number, calls[i + 1] as string, calls[i + 2] as unknown[])
  }

  private run(id: number, name: string, args: unknown[]): void {
    const method = this.calls[name]
    let run: Promise<unknown>
    try {
      run =
        typeof method === 'function'
          ? (method as (...args: unknown[]) => Promise<unknown>)(...args)
          : Promise.reject(new Error(`no such call: ${name}`))
    } catch (error) {
      run = Promise.reject(error)
    }
    run.then(
      (value) => this.queue(id, true, value),
      (error: unknown) => {
        const wire = toWire(error)
        if (wire.kind === undefined) this.logError({ err: error, method: name }, this.what)
        this.queue(id, false, wire)
      },
    )
  }

  private queue(id: number, ok: boolean, value: unknown): void {
    this.outgoing.push(id, ok, value)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.flush)
  }

  private flushNow(): void {
    this.scheduled = false
    const results = this.outgoing
    this.outgoing = []
    try {
      this.post({ type: 'results', results })
    } catch {
      // An answer that cannot be cloned fails its own call, not the turn's others.
      for (let i = 0; i < results.length; i += RESULT_FIELDS) {
        const one = results.slice(i, i + RESULT_FIELDS)
        try {
          this.post({ type: 'results', results: one })
        } catch (error) {
          this.logError({ err: error }, `${this.what}: its answer could not be sent`)
          const failure: WireError = { message: 'the call failed inside the gateway' }
          this.post({ type: 'results', results: [one[0], false, failure] })
        }
      }
    }
  }
}
