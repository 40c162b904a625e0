import type { TSchema } from 'typebox'
import { ERROR_STATUS, type ErrorCode } from '../errors.ts'

/**
 * What a caller must hold to call an operation. A string is one scope; `<param>` in it is filled
 * from the request (see `docs/api.md`, "Scopes"). `AllOf` needs every member, `AnyOf` one of them.
 */
export type ScopeExpression = string | { AllOf: ScopeExpression[] } | { AnyOf: ScopeExpression[] }

/** `stable` keeps its shape across minor versions; `experimental` may still change. */
export type Stability = 'stable' | 'experimental' | 'deprecated'

/**
 * The client's name of an operation. `group` is the resource the path names (plural noun);
 * `method` is the verb on it: `list`, `get`, `create`, `update`, `delete`, or the route's own
 * action (`deploy`, `retry`, `setPaused`); a list of another resource under it is `list<Other>`.
 * `auth` keeps its nouns (`createClient`) since its calls are about clients and credentials alike.
 */
export interface ClientPlace {
  group: ClientGroup
  method: string
}

export type ClientGroup =
  | 'auth'
  | 'domains'
  | 'collections'
  | 'endpoints'
  | 'jobs'
  | 'queues'
  | 'cron'
  | 'workers'
  | 'services'
  | 'storage'
  | 'system'

export type OperationMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

/**
 * One control-plane route, as data: the server registers its Fastify route from it, and the
 * OpenAPI document, docs/api.md's route table and clients are generated from it. It carries
 * schemas and strings only, so browsers and clients import it without any server code.
 */
export interface Operation {
  /** Unique camelCase name: the OpenAPI operationId and the client's method name. */
  name: string
  /** Where it sits in the typed client, `ef.<group>.<method>()`: see ClientPlace. */
  client: ClientPlace
  /** The context it belongs to (`catalog`, `deploy`, `jobs`, `system`): the OpenAPI tag. */
  context: string
  method: OperationMethod
  /** OpenAPI style, `{param}` for a path parameter. */
  path: string
  params?: TSchema
  query?: TSchema
  body?: TSchema
  /**
   * The request body is raw bytes of any content type, streamed to the handler unparsed (an
   * artifact upload), not JSON; the value is the media type the OpenAPI document names for it.
   */
  consumes?: string
  /** Success statuses and their bodies (the envelope for JSON routes). */
  responses: Readonly<Record<number, TSchema>>
  /** Content type of the success body when it is not JSON (e.g. Prometheus text). */
  produces?: string
  /** The codes the operation itself can answer; those every route can answer are added by `errorsOf`. */
  errors: readonly ErrorCode[]
  scopes: ScopeExpression
  summary: string
  description?: string
  stability: Stability
}

/** Declares an operation, keeping its literal types so the server's handlers are typed from it. */
export function declare<const O extends Operation>(operation: O): O {
  return operation
}

/**
 * Every code an operation can answer: its own, plus what the shell answers on any route (the
 * guard, validation of its inputs, body parsing, router errors, the last-resort 500).
 */
export function errorsOf(operation: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>(operation.errors)
  codes.add('unauthorized')
  codes.add('forbidden')
  // The auth guard: the route's scopes, and the caller's request rate.
  codes.add('insufficient_scopes')
  codes.add('rate_limited')
  codes.add('bad_request') // a path that is not valid percent-encoding
  codes.add('internal')
  if (operation.params) codes.add('uri_too_long')
  if (operation.params || operation.query || operation.body) codes.add('validation_failed')
  if (operation.method === 'POST' || operation.method === 'PUT') {
    // Any body may be sent to any of these, and is parsed before the route runs.
    codes.add('payload_too_large')
    // A raw body route takes every content type.
    if (!operation.consumes) codes.add('unsupported_media_type')
  }
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b] || a.localeCompare(b))
}

/** The `{param}` names of a path template, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1])
}
