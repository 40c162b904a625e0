import { HandlerError } from './errors.ts'
import { defineOwn, type Multipart, parseMultipart } from './multipart.ts'
import { type ParamType, parseParam } from './params.ts'

/**
 * What the gateway hands to `new Request(...)` for each call. Nothing in it is parsed yet.
 *
 * @example
 * const req = new Request({
 *   method: 'GET', path: '/users/42', rawQuery: 'fields=name', headers: { accept: 'application/json' },
 *   params: { id: '42' }, body: new Uint8Array(), clientIp: '127.0.0.1', requestId: 'req-1',
 * })
 */
export interface RequestInit {
  /** Upper-case HTTP method. @example 'POST' */
  method: string
  /** The URL path without the query string. @example '/users/42' */
  path: string
  /** The text after `?`, or `''` when there is none. @example 'page=2&sort=name' */
  rawQuery: string
  /**
   * Node's incoming headers: lower-case keys, `set-cookie` as an array. Read on first use, not by
   * the constructor, so the gateway can hand over a getter and skip building them for handlers
   * that never look. @example { 'content-type': 'application/json' }
   */
  readonly headers: Record<string, string | string[] | undefined>
  /** Parameters captured by the path template. @example { id: '42' } */
  params: Record<string, string>
  /** The whole body, already read; empty when there was none. @example new TextEncoder().encode('{"a":1}') */
  body: Uint8Array
  /** The client's address, when known. @example '203.0.113.7' */
  clientIp: string | undefined
  /** The id of this request, also in the logs and in error bodies. @example '01980f7c-…' */
  requestId: string
}

const utf8 = new TextDecoder()

/**
 * The incoming HTTP request. Building one parses nothing: the query, the header view, the text,
 * JSON and multipart forms are worked out on first use and remembered.
 *
 * @example
 * export default handler((req) => Response.ok({ hello: req.queryParam('name') ?? 'world' }))
 */
export class Request {
  /**
   * The upper-case HTTP method.
   *
   * @example
   * if (req.method === 'DELETE') return Response.noContent()
   */
  readonly method: string

  /**
   * The URL path without the query string.
   *
   * @example
   * req.path // '/users/42'
   */
  readonly path: string

  /**
   * Parameters captured by the endpoint's path template: `/users/{id}` gives `{ id }`.
   *
   * @example
   * const { id } = req.params
   */
  readonly params: Record<string, string>

  /**
   * The client's IP address, when the gateway knows it.
   *
   * @example
   * ctx.log.info('login from', req.clientIp ?? 'unknown')
   */
  readonly clientIp: string | undefined

  /**
   * The id of this request; it also appears in the endpoint's log and in error bodies.
   *
   * @example
   * return Response.ok(result).withHeader('X-Request-Id', req.requestId)
   */
  readonly requestId: string

  #rawQuery: string
  #init: RequestInit
  #body: Uint8Array
  #query: Record<string, string> | undefined
  #headers: Record<string, string> | undefined
  #text: string | undefined
  #multipart: Multipart | undefined

  /**
   * The gateway builds this for you; handlers and tests may build their own.
   *
   * @example
   * const req = new Request({ method: 'GET', path: '/', rawQuery: '', headers: {}, params: {},
   *   body: new Uint8Array(), clientIp: undefined, requestId: 'test' })
   */
  constructor(init: RequestInit) {
    this.method = init.method
    this.path = init.path
    this.params = init.params
    this.clientIp = init.clientIp
    this.requestId = init.requestId
    this.#rawQuery = init.rawQuery
    this.#init = init
    this.#body = init.body
  }

  /**
   * The query parameters, decoded. When a name repeats, the first value wins.
   *
   * @example
   * // GET /search?q=edge&q=ignored&page=2
   * req.query // { q: 'edge', page: '2' }
   */
  get query(): Record<string, string> {
    if (this.#query === undefined) {
      const query: Record<string, string> = {}
      if (this.#rawQuery !== '') {
        for (const [name, value] of new URLSearchParams(this.#rawQuery)) {
          if (!Object.hasOwn(query, name)) defineOwn(query, name, value)
        }
      }
      this.#query = query
    }
    return this.#query
  }

  /**
   * The headers as a plain object with lower-case keys; repeated headers are joined with `, `.
   * Index it with lower-case names, or use `header()` for any spelling.
   *
   * @example
   * req.headers['user-agent']
   */
  get headers(): Record<string, string> {
    if (this.#headers === undefined) {
      const headers: Record<string, string> = {}
      const raw = this.#init.headers
      for (const name of Object.keys(raw)) {
        const value = joinHeader(raw[name])
        if (value !== undefined) defineOwn(headers, name.toLowerCase(), value)
      }
      this.#headers = headers
    }
    return this.#headers
  }

  /**
   * The body parsed as JSON. The type parameter is not checked at run time: validate what matters.
   * Throws `HandlerError.badRequest` when the body is not valid JSON (an empty body included).
   *
   * @example
   * const { name, price } = req.json<{ name: string; price: number }>()
   */
  json<T = unknown>(): T {
    const text = this.text()
    if (text.trim() === '') throw HandlerError.badRequest('request body is not valid JSON: the body is empty')
    try {
      return JSON.parse(text) as T
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      throw HandlerError.badRequest(`request body is not valid JSON: ${reason}`, { cause: error })
    }
  }

  /**
   * The body decoded as UTF-8 (invalid sequences become U+FFFD).
   *
   * @example
   * const csv = req.text()
   */
  text(): string {
    if (this.#text === undefined) this.#text = utf8.decode(this.#body)
    return this.#text
  }

  /**
   * The raw body. This is the request's own buffer, not a copy.
   *
   * @example
   * const digest = createHash('sha256').update(req.bytes()).digest('hex')
   */
  bytes(): Uint8Array {
    return this.#body
  }

  /**
   * The body parsed as multipart/form-data. Throws `HandlerError.badRequest` when the request is
   * not multipart or the body is malformed.
   *
   * @example
   * const form = req.multipart()
   * const file = form.requireFile('upload')
   */
  multipart(): Multipart {
    if (this.#multipart === undefined) {
      const contentType = this.contentType()
      if (!this.isMultipart() || contentType === undefined) {
        throw HandlerError.badRequest(
          `expected a multipart/form-data body, got ${contentType === undefined ? 'no content-type' : `content-type "${contentType}"`}`,
        )
      }
      this.#multipart = parseMultipart(this.#body, contentType)
    }
    return this.#multipart
  }

  /**
   * A path parameter, or `undefined`.
   *
   * @example
   * const slug = req.pathParam('slug')
   */
  pathParam(name: string): string | undefined {
    return Object.hasOwn(this.params, name) ? this.params[name] : undefined
  }

  /**
   * A query parameter (the first, if repeated), or `undefined`.
   *
   * @example
   * const sort = req.queryParam('sort') ?? 'name'
   */
  queryParam(name: string): string | undefined {
    const query = this.query
    return Object.hasOwn(query, name) ? query[name] : undefined
  }

  /**
   * Every value of a query parameter, in the order given; `[]` when it is absent.
   *
   * @example
   * // GET /items?tag=new&tag=sale
   * req.queryParams('tag') // ['new', 'sale']
   */
  queryParams(name: string): string[] {
    return this.#rawQuery === '' ? [] : new URLSearchParams(this.#rawQuery).getAll(name)
  }

  /**
   * A header by case-insensitive name, repeated values joined with `, `; `undefined` when absent.
   *
   * @example
   * const auth = req.header('Authorization')
   */
  header(name: string): string | undefined {
    const key = name.toLowerCase()
    if (this.#headers !== undefined) return Object.hasOwn(this.#headers, key) ? this.#headers[key] : undefined
    const raw = this.#init.headers
    return Object.hasOwn(raw, key) ? joinHeader(raw[key]) : undefined
  }

  /**
   * A path parameter; throws `HandlerError.badRequest` naming it when absent.
   *
   * @example
   * const id = req.requirePathParam('id')
   */
  requirePathParam(name: string): string {
    const value = this.pathParam(name)
    if (value === undefined) throw HandlerError.badRequest(`missing required path parameter "${name}"`)
    return value
  }

  /**
   * A query parameter; throws `HandlerError.badRequest` naming it when absent.
   *
   * @example
   * const q = req.requireQueryParam('q')
   */
  requireQueryParam(name: string): string {
    const value = this.queryParam(name)
    if (value === undefined) throw HandlerError.badRequest(`missing required query parameter "${name}"`)
    return value
  }

  /**
   * A header by case-insensitive name; throws `HandlerError.badRequest` naming it when absent.
   *
   * @example
   * const apiKey = req.requireHeader('X-Api-Key')
   */
  requireHeader(name: string): string {
    const value = this.header(name)
    if (value === undefined) throw HandlerError.badRequest(`missing required header "${name}"`)
    return value
  }

  /**
   * A path parameter converted to a number, an integer or a boolean. `undefined` when absent or
   * empty; a value that does not convert throws `HandlerError.badRequest` saying what was expected.
   * Booleans accept true/false, 1/0, yes/no and on/off.
   *
   * @example
   * const version = req.pathParamAs('version', 'integer') ?? 1
   */
  pathParamAs(name: string, type: 'number' | 'integer'): number | undefined
  pathParamAs(name: string, type: 'boolean'): boolean | undefined
  pathParamAs(name: string, type: ParamType): number | boolean | undefined {
    return parseParam('path parameter', name, this.pathParam(name), type)
  }

  /**
   * A query parameter converted to a number, an integer or a boolean. `undefined` when absent or
   * empty; a value that does not convert throws `HandlerError.badRequest` saying what was expected.
   *
   * @example
   * const page = req.queryParamAs('page', 'integer') ?? 1
   * const draft = req.queryParamAs('draft', 'boolean') ?? false
   */
  queryParamAs(name: string, type: 'number' | 'integer'): number | undefined
  queryParamAs(name: string, type: 'boolean'): boolean | undefined
  queryParamAs(name: string, type: ParamType): number | boolean | undefined {
    return parseParam('query parameter', name, this.queryParam(name), type)
  }

  /**
   * Like `pathParamAs`, but an absent parameter throws `HandlerError.badRequest` too.
   *
   * @example
   * const id = req.requirePathParamAs('id', 'integer')
   */
  requirePathParamAs(name: string, type: 'number' | 'integer'): number
  requirePathParamAs(name: string, type: 'boolean'): boolean
  requirePathParamAs(name: string, type: ParamType): number | boolean {
    const value = parseParam('path parameter', name, this.pathParam(name), type)
    if (value === undefined) throw HandlerError.badRequest(`missing required path parameter "${name}"`)
    return value
  }

  /**
   * Like `queryParamAs`, but an absent parameter throws `HandlerError.badRequest` too.
   *
   * @example
   * const limit = req.requireQueryParamAs('limit', 'integer')
   */
  requireQueryParamAs(name: string, type: 'number' | 'integer'): number
  requireQueryParamAs(name: string, type: 'boolean'): boolean
  requireQueryParamAs(name: string, type: ParamType): number | boolean {
    const value = parseParam('query parameter', name, this.queryParam(name), type)
    if (value === undefined) throw HandlerError.badRequest(`missing required query parameter "${name}"`)
    return value
  }

  /**
   * Whether the method is `method`, in any case.
   *
   * @example
   * if (req.isMethod('options')) return Response.noContent().withCors()
   */
  isMethod(method: string): boolean {
    return this.method === method || this.method.toUpperCase() === method.toUpperCase()
  }

  /**
   * The `content-type` header as sent, parameters included, or `undefined`.
   *
   * @example
   * req.contentType() // 'application/json; charset=utf-8'
   */
  contentType(): string | undefined {
    return this.header('content-type')
  }

  /**
   * Whether the content type is JSON: `application/json` or any `+json` type.
   *
   * @example
   * const input = req.isJson() ? req.json() : Object.fromEntries(new URLSearchParams(req.text()))
   */
  isJson(): boolean {
    const type = mediaType(this.contentType())
    return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
  }

  /**
   * Whether the content type is `multipart/form-data`.
   *
   * @example
   * if (!req.isMultipart()) throw HandlerError.badRequest('send the file as multipart/form-data')
   */
  isMultipart(): boolean {
    return mediaType(this.contentType()) === 'multipart/form-data'
  }
}

function joinHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value
  return value.join(', ')
}

function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return ''
  const semicolon = contentType.indexOf(';')
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}
