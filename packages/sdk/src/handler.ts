import type { Context } from './context.ts'
import type { Request } from './request.ts'
import type { Response } from './response.ts'

/** Marks the objects `handler()` and `job()` return, so the gateway can tell them apart from anything else. */
export const DEFINITION_BRAND = Symbol.for('edgeforge.definition')

/**
 * An HTTP handler: gets the request and the context, returns (or resolves to) a response.
 * Throwing a `HandlerError` sends its status and error body.
 *
 * @example
 * const hello: HandlerFunction = (req) => Response.text(200, `hello ${req.path}`)
 */
export type HandlerFunction = (req: Request, ctx: Context) => Response | Promise<Response>

/**
 * What `handler()` returns and an endpoint's module exports by default.
 *
 * @example
 * const definition: HandlerDefinition = handler(() => Response.noContent())
 * definition.kind // 'http'
 */
export interface HandlerDefinition {
  /** Always `'http'`. @example definition.kind */
  readonly kind: 'http'
  /** The function the gateway calls. @example await definition.fn(req, ctx) */
  readonly fn: HandlerFunction
}

/**
 * Declares an HTTP handler. An endpoint's module exports the result as its default export.
 *
 * @example
 * import { handler, Response } from '@edgeforge/sdk'
 *
 * export default handler(async (req, ctx) => {
 *   ctx.log.info('hello from', req.clientIp)
 *   return Response.ok({ message: 'Hello, world' })
 * })
 */
export function handler(fn: HandlerFunction): HandlerDefinition {
  if (typeof fn !== 'function') throw new TypeError('handler() expects a function (req, ctx) => Response')
  return brand({ kind: 'http', fn })
}

/**
 * Whether `value` came from `handler()` — from this copy of the SDK or any other.
 *
 * @example
 * if (!isHandlerDefinition(mod.default)) throw new Error('export default handler(...)')
 */
export function isHandlerDefinition(value: unknown): value is HandlerDefinition {
  return isBranded(value, 'http')
}

/** Freezes `definition` and adds the brand as a non-enumerable property. */
export function brand<T extends { kind: string }>(definition: T): T {
  Object.defineProperty(definition, DEFINITION_BRAND, { value: true })
  return Object.freeze(definition)
}

/** Whether `value` carries the definition brand, the given kind and a function. */
export function isBranded(value: unknown, kind: string): boolean {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { [DEFINITION_BRAND]?: unknown; kind?: unknown; fn?: unknown }
  return candidate[DEFINITION_BRAND] === true && candidate.kind === kind && typeof candidate.fn === 'function'
}
