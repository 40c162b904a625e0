import { type Duration, durationMs } from './duration.ts'
import { EdgeforgeError, EdgeforgeNetworkError } from './errors.ts'
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, retryAfterMs } from './retry.ts'
import {
  MAX_TEMPORARY_MS,
  signPathAndQuery,
  signPathAndQuerySync,
  temporaryCredential,
  temporaryCredentialSync,
} from './signing.ts'

/** How one operation is called: the generated table (operations.generated.ts) holds one per route. */
export interface OperationSpec {
  name: string
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  /** GET, PUT and DELETE may be repeated safely; a POST only with an idempotency key. */
  idempotent: boolean
}

export interface ClientOptions {
  /** The control plane's URL, e.g. http://127.0.0.1:8081. */
  url: string
  /** With `accessToken`: a client's credentials. Without it, `accessToken` is a bearer (admin token, temporary credential). */
  clientId?: string
  accessToken?: string
  /** Narrows every request to these scopes (x-edgeforge-authorized-scopes). */
  authorizedScopes?: readonly string[]
  retry?: Partial<RetryPolicy>
  fetch?: typeof fetch
}

export interface CallOptions {
  /** Sent as idempotency-key; makes a POST safe to retry after it may have reached the server. */
  idempotencyKey?: string
  /** The caller knows repeating this call is harmless (e.g. a POST that sets a state), so retry it like a GET. */
  retryable?: boolean
  signal?: AbortSignal
}

/** What an upload sends: bytes, text, a web stream or any async iterable of bytes (a Node Readable). */
export type UploadBody = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

function toReadableStream(body: UploadBody): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body
  const iterable = body as AsyncIterable<Uint8Array | string>
  const encoder = new TextEncoder()
  const iterator = iterable[Symbol.asyncIterator]()
  // Pull-based: the next chunk is read only when the socket took the last one.
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next()
      if (next.done) controller.close()
      else controller.enqueue(typeof next.value === 'string' ? encoder.encode(next.value) : next.value)
    },
    async cancel(reason) {
      await iterator.return?.(reason)
    },
  })
}

export type Query = Record<string, string | number | boolean | undefined>

/** What every method answers: the envelope's `data`, its continuation token, the request id. */
export interface Page<T> {
  data: T
  continuationToken: string | null | undefined
  /** The answer's x-request-id. */
  requestId?: string
}

/** A signed URL's lifetime: ms, or a duration such as '15m' or '1h'. */
export interface SignOptions {
  expiresIn: Duration
}

/**
 * What a list method answers: `for await (const item of listing)` follows the continuation
 * tokens through every page; `await listing.page(token?)` fetches one page.
 */
export interface Listing<T> extends AsyncIterable<T> {
  page(continuationToken?: string | null): Promise<Page<T[]>>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class Core {
  readonly url: string
  readonly options: ClientOptions
  private readonly retry: RetryPolicy
  private readonly fetcher: typeof fetch

  constructor(options: ClientOptions) {
    this.options = options
    this.url = options.url.replace(/\/+$/, '')
    this.retry = { ...DEFAULT_RETRY, ...options.retry }
    this.fetcher = options.fetch ?? fetch
  }

  /** The path and query of an operation, its `{param}`s filled (percent-encoded) in order. */
  pathOf(spec: OperationSpec, params: readonly string[], query?: Query): string {
    let i = 0
    let path = spec.path.replace(/\{\w+\}/g, () => encodeURIComponent(String(params[i++])))
    // `*` is a rest-of-path parameter (object keys): its slashes stay.
    if (path.endsWith('/*'))
      path = path.slice(0, -1) + String(params[i++]).split('/').map(encodeURIComponent).join('/')
    const search = new URLSearchParams()
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) search.append(key, String(value))
    const text = search.toString()
    return text ? `${path}?${text}` : path
  }

  /** A URL that works for GET without credentials until `expiresIn` from now (WebCrypto: browsers too). */
  async signUrl(pathAndQuery: string, expiresIn: Duration): Promise<string> {
    const signing = this.signing(pathAndQuery, expiresIn)
    return this.url + (await signPathAndQuery(signing.relative, signing))
  }

  /** `signUrl`, synchronously (node:crypto: Node, Deno, Bun); the generated `…SignedUrl()` use it. */
  signUrlSync(pathAndQuery: string, expiresIn: Duration): string {
    const signing = this.signing(pathAndQuery, expiresIn)
    return this.url + signPathAndQuerySync(signing.relative, signing)
  }

  private signing(pathAndQuery: string, expiresIn: Duration) {
    const { clientId, accessToken } = this.options
    if (!clientId || !accessToken)
      throw new TypeError(
        'signed URLs need a client id and its access token (EDGEFORGE_CLIENT_ID, EDGEFORGE_ACCESS_TOKEN)',
      )
    const ms = durationMs(expiresIn, 'expiresIn')
    if (ms > MAX_TEMPORARY_MS) throw new RangeError('expiresIn must be at most 31 days')
    const relative = pathAndQuery.startsWith(this.url) ? pathAndQuery.slice(this.url.length) : pathAndQuery
    return { relative, clientId, accessToken, expires: Date.now() + ms }
  }

  /** A temporary credential with `scopes` for `expiresIn`, signed offline (WebCrypto). */
  temporaryCredential(scopes: readonly string[], expiresIn: Duration): Promise<string> {
    return temporaryCredential(this.certificate(scopes, expiresIn))
  }

  /** `temporaryCredential`, synchronously (node:crypto). */
  temporaryCredentialSync(scopes: readonly string[], expiresIn: Duration): string {
    return temporaryCredentialSync(this.certificate(scopes, expiresIn))
  }

  private certificate(scopes: readonly string[], expiresIn: Duration) {
    const { clientId, accessToken } = this.options
    if (!clientId || !accessToken)
      throw new TypeError(
        'temporary credentials need a client id and its access token (EDGEFORGE_CLIENT_ID, EDGEFORGE_ACCESS_TOKEN)',
      )
    const start = Date.now()
    return { clientId, accessToken, scopes, start, expiry: start + durationMs(expiresIn, 'expiresIn') }
  }

  async call<T>(
    spec: OperationSpec,
    params: readonly string[],
    input: { query?: Query; body?: unknown },
    options: CallOptions = {},
  ): Promise<Page<T>> {
    return this.request<T>(spec.method, this.pathOf(spec, params, input.query), input.body, {
      ...options,
      idempotent: spec.idempotent,
    })
  }

  /**
   * A declared raw-body operation (`consumes`, e.g. an artifact upload): the body is streamed as
   * it is, with `contentType`. Sent once, never retried: a stream cannot be replayed.
   */
  async upload<T>(
    spec: OperationSpec,
    params: readonly string[],
    body: UploadBody,
    options: CallOptions & { contentType?: string } = {},
  ): Promise<T> {
    const pathAndQuery = this.pathOf(spec, params)
    const headers = this.headers({ 'content-type': options.contentType ?? 'application/octet-stream' })
    const streamed = !(typeof body === 'string' || body instanceof Uint8Array)
    let response: Response
    try {
      response = await this.fetcher(this.url + pathAndQuery, {
        method: spec.method,
        headers,
        body: streamed ? toReadableStream(body) : (body as string | Uint8Array<ArrayBuffer>),
        signal: options.signal,
        // Node's fetch streams a ReadableStream body only in half-duplex mode.
        ...(streamed ? { duplex: 'half' } : {}),
      } as RequestInit)
    } catch (error) {
      if (options.signal?.aborted) throw error
      const cause = (error as { cause?: unknown }).cause ?? (error as Error).message
      throw new EdgeforgeNetworkError(`upload to ${this.url}${pathAndQuery} failed (${cause})`, {
        cause: error,
      })
    }
    return (await this.read<T>(response, pathAndQuery)).data
  }

  /** The credential and scope headers every request carries, plus `extra`. */
  private headers(extra: Record<string, string>): Record<string, string> {
    const headers = { ...extra }
    if (this.options.accessToken) headers.authorization = `Bearer ${this.options.accessToken}`
    if (this.options.authorizedScopes)
      headers['x-edgeforge-authorized-scopes'] = this.options.authorizedScopes.join(' ')
    return headers
  }

  /**
   * One GET whose body the caller reads itself (an event stream), with the client's credentials;
   * no retries. A connection that fails is an EdgeforgeNetworkError.
   */
  async fetchRaw(
    pathAndQuery: string,
    extra: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    try {
      return await this.fetcher(this.url + pathAndQuery, { headers: this.headers(extra), signal })
    } catch (error) {
      if (signal?.aborted) throw error
      const cause = (error as { cause?: unknown }).cause ?? (error as Error).message
      throw new EdgeforgeNetworkError(`cannot reach the edgeforge control plane at ${this.url} (${cause})`, {
        cause: error,
      })
    }
  }

  /** The EdgeforgeError of an answer that is not a success (its envelope's code and message). */
  async errorOf(response: Response, pathAndQuery: string): Promise<EdgeforgeError> {
    try {
      await this.read(response, pathAndQuery)
    } catch (error) {
      if (error instanceof EdgeforgeError) return error
      throw error
    }
    return new EdgeforgeError(
      response.status,
      'internal',
      `HTTP ${response.status} from ${pathAndQuery}`,
      undefined,
      undefined,
    )
  }

  /** One call by method and path, with the retries; `call` is this for a declared operation. */
  async request<T>(
    method: string,
    pathAndQuery: string,
    requestBody?: unknown,
    options: CallOptions & { idempotent?: boolean } = {},
  ): Promise<Page<T>> {
    const headers = this.headers(requestBody === undefined ? {} : { 'content-type': 'application/json' })
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey
    const body = requestBody === undefined ? undefined : JSON.stringify(requestBody)
    const idempotent = options.idempotent ?? method !== 'POST'
    const repeatable = idempotent || options.retryable === true || options.idempotencyKey !== undefined
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.retry.retries
      let response: Response
      try {
        response = await this.fetcher(this.url + pathAndQuery, {
          method,
          headers,
          body,
          signal: options.signal,
        })
      } catch (error) {
        if (options.signal?.aborted) throw error
        // A refused connection never reached the server; anything else (reset, timeout) may have.
        const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED'
        if (!last && (repeatable || refused)) {
          await sleep(backoffDelay(this.retry, attempt))
          continue
        }
        const cause = (error as { cause?: unknown }).cause ?? (error as Error).message
        throw new EdgeforgeNetworkError(
          `cannot reach the edgeforge control plane at ${this.url} (${cause})`,
          {
            cause: error,
          },
        )
      }
      // 429 was refused before running; a 5xx may have run, so only repeatable calls go again.
      const retriable = response.status === 429 || (response.status >= 500 && repeatable)
      if (retriable && !last) {
        await response.body?.cancel()
        const wait = retryAfterMs(response.headers.get('retry-after'), Date.now(), 60_000)
        await sleep(wait ?? backoffDelay(this.retry, attempt))
        continue
      }
      return this.read<T>(response, pathAndQuery)
    }
  }

  private async read<T>(response: Response, pathAndQuery: string): Promise<Page<T>> {
    const text = await response.text()
    const requestId = response.headers.get('x-request-id') ?? undefined
    let parsed: {
      ok?: boolean
      data?: T
      continuation_token?: string | null
      error?: Record<string, unknown>
    }
    try {
      parsed = JSON.parse(text)
    } catch {
      if (response.ok) return { data: text as T, continuationToken: undefined, requestId }
      throw new EdgeforgeError(
        response.status,
        'internal',
        `HTTP ${response.status} from ${pathAndQuery}: ${text.slice(0, 200)}`,
        undefined,
        requestId,
      )
    }
    if (parsed?.ok === true)
      return { data: parsed.data as T, continuationToken: parsed.continuation_token, requestId }
    const error = parsed?.error ?? {}
    throw new EdgeforgeError(
      response.status,
      typeof error.code === 'string' ? error.code : 'internal',
      typeof error.message === 'string' ? error.message : `HTTP ${response.status} from ${pathAndQuery}`,
      error.details,
      requestId,
    )
  }

  /** A list operation's Listing: one page on `.page()`, every item, page after page, on `for await`. */
  listing<T>(
    spec: OperationSpec,
    params: readonly string[],
    query: Query | undefined,
    options?: CallOptions,
  ): Listing<T> {
    const page = (token?: string | null) =>
      this.call<T[]>(
        spec,
        params,
        { query: { ...query, ...(token ? { continuation_token: token } : {}) } },
        options,
      )
    return {
      page,
      async *[Symbol.asyncIterator]() {
        let token: string | null | undefined
        do {
          const next = await page(token)
          yield* next.data
          token = next.continuationToken
        } while (token)
      },
    }
  }
}
