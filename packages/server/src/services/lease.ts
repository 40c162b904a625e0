import { isHandlerError, isServiceError, ServiceError } from '@edgeforge/sdk'
import type { ActorObserver, Lease } from './actor-types.ts'
import { operationFailed, serviceTimeout, serviceUnavailable } from './errors.ts'

/** What a lease needs of the actor that granted it. */
export interface LeaseHost<C> {
  readonly name: string
  readonly operationTimeoutMs: number
  readonly observer: ActorObserver | undefined
  isConnectionError(error: unknown): boolean
  /** Marks the backend down with the error's message (status.lastError). */
  noteFailure(error: unknown): void
  /** Hands the connection on or frees it; `dead` closes it. */
  giveBack(connection: C, dead: boolean): void
}

/**
 * A connection held across several operations (a transaction, a streamed transfer): each `run`
 * is under the operation timeout, a `transfer` is not, and `release` gives the connection back
 * once (closed instead when an operation broke it).
 */
export function makeLease<C>(connection: C, host: LeaseHost<C>): Lease<C> {
  let held = true
  let broken = false
  return {
    run: async <T>(op: (connection: C) => Promise<T>): Promise<T> => {
      if (!held || broken) throw serviceUnavailable(host.name, new Error('the transaction is over'))
      const started = performance.now()
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          broken = true
          reject(serviceTimeout(host.name, host.operationTimeoutMs))
        }, host.operationTimeoutMs)
      })
      try {
        const value = await Promise.race([op(connection), timeout])
        host.observer?.operation('ok', (performance.now() - started) / 1000)
        return value
      } catch (error) {
        if (!broken && host.isConnectionError(error)) {
          broken = true
          host.noteFailure(error)
          host.observer?.operation('unavailable', (performance.now() - started) / 1000)
          throw serviceUnavailable(host.name, error)
        }
        host.observer?.operation(broken ? 'timeout' : 'error', (performance.now() - started) / 1000)
        throw broken ? error : refusal(host.name, error)
      } finally {
        clearTimeout(timer)
      }
    },
    transfer: async <T>(op: (connection: C) => Promise<T>): Promise<T> => {
      if (!held || broken) throw serviceUnavailable(host.name, new Error('the lease is over'))
      const started = performance.now()
      try {
        const value = await op(connection)
        host.observer?.operation('ok', (performance.now() - started) / 1000)
        return value
      } catch (error) {
        if (host.isConnectionError(error)) {
          broken = true
          host.noteFailure(error)
          host.observer?.operation('unavailable', (performance.now() - started) / 1000)
          throw serviceUnavailable(host.name, error)
        }
        host.observer?.operation('error', (performance.now() - started) / 1000)
        throw refusal(host.name, error)
      }
    },
    release: (closeIt = false) => {
      if (!held) return
      held = false
      host.giveBack(connection, broken || closeIt)
    },
  }
}

/** What the caller gets for an error that left the connection alive: the backend's message only (no driver object, no stack). */
export function refusal(service: string, error: unknown): Error {
  // HandlerErrors are the actor's own; TypeErrors are a kind refusing the caller's arguments (a bad key, a missing SQL text).
  if (isHandlerError(error) || error instanceof TypeError) return error
  // A kind does not know the name it runs under: stamp it.
  if (isServiceError(error)) return new ServiceError(service, error.code, error.message)
  return operationFailed(service, error)
}
