import assert from 'node:assert/strict'
import {
  ERROR_STATUS,
  type ErrorCode,
  ErrorEnvelope,
  errorsOf,
  OPERATIONS,
  type Operation,
  pathParams,
} from '@edgeforge/protocol'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import fc from 'fast-check'
import { invalidValue, type JsonSchema, validValue } from './schema-arbitraries.ts'

/*
 * Property-based fuzzing of the control plane from its own route declarations. Each step picks a
 * declared operation and builds a request from its schemas — valid, or broken on purpose in one
 * place — sends it to a live server, and checks the answer against the declaration:
 *   - never a 5xx;
 *   - the status is a declared success or the status of a code the operation declares;
 *   - a success body matches the declared response schema;
 *   - an error body is the envelope, its code is declared for the operation and has that status;
 *   - a request the schemas refuse is refused with a 4xx.
 * Records created during the run feed the ids later steps use; records that existed before the
 * run are only read (and sent invalid requests), so the caller can check they are intact after.
 */

export interface FuzzOptions {
  runs: number
  seed?: number
  headers?: Record<string, string>
  /** Ids and names that existed before the run: read, or sent invalid input, never changed. */
  preexisting: Pools
}

export interface Pools {
  domainIds: string[]
  collectionIds: string[]
  endpointIds: string[]
  jobIds: string[]
  queueNames: string[]
  cronNames: string[]
}

export interface FuzzReport {
  requests: number
  invalid: number
  byStatus: Record<string, number>
  operationsCalled: number
  /** Milliseconds spent per operation, the five slowest in total. */
  slowest: Record<string, number>
}

interface PlannedRequest {
  operation: Operation
  params: Record<string, string>
  query: Record<string, string>
  body: unknown
  hasBody: boolean
  /** What the test meant: the oracle below decides what the request really is. */
  broken: boolean
}

const HANDLER = [
  "import { handler, Response } from '@edgeforge/sdk'",
  "export default handler(() => Response.text(200, 'fuzz'))",
].join('\n')

/**
 * Generators for fields whose random values would reach outside the test (npm) or never compile,
 * and for references to other records, which are mostly ones that exist (a collection in a known
 * domain), so creates get past the reference check. Records made before the run may be referred
 * to: that changes nothing in them.
 */
function overrides(preexisting: Pools, created: Pools) {
  const known = (pick: (pools: Pools) => string[]) =>
    fc.nat().map((index) => {
      const ids = [...pick(preexisting), ...pick(created)]
      return ids[index % ids.length]
    })
  return {
    dependencies: fc.constant({}),
    code: fc.oneof(fc.constant(HANDLER), fc.string({ maxLength: 30 })),
    domain_id: fc.oneof(
      { weight: 3, arbitrary: known((pools) => pools.domainIds) },
      fc.string({ maxLength: 64 }),
    ),
    collection_id: fc.oneof(
      { weight: 3, arbitrary: known((pools) => pools.collectionIds) },
      fc.constant(null),
      fc.string({ maxLength: 64 }),
    ),
  }
}

export async function fuzzControlPlane(controlUrl: string, options: FuzzOptions): Promise<FuzzReport> {
  const oracle = new Oracle()
  const created: Pools = {
    domainIds: [],
    collectionIds: [],
    endpointIds: [],
    jobIds: [],
    queueNames: [],
    cronNames: [],
  }
  const report: FuzzReport = { requests: 0, invalid: 0, byStatus: {}, operationsCalled: 0, slowest: {} }
  const spent = new Map<string, number>()
  const called = new Set<string>()

  const request = fc
    .constantFrom(...OPERATIONS)
    .chain((operation) => planFor(operation, options.preexisting, created))

  await fc.assert(
    fc.asyncProperty(request, async (planned) => {
      const valid = oracle.accepts(planned)
      const startedAt = performance.now()
      const { status, body, contentType, requestId } = await send(controlUrl, planned, options.headers)
      const name = planned.operation.name
      spent.set(name, (spent.get(name) ?? 0) + performance.now() - startedAt)
      report.requests += 1
      if (!valid) report.invalid += 1
      report.byStatus[status] = (report.byStatus[status] ?? 0) + 1
      called.add(planned.operation.name)
      const what = `${planned.operation.name}: ${planned.operation.method} ${urlOf(planned)} ${
        planned.hasBody ? JSON.stringify(planned.body)?.slice(0, 300) : ''
      } → ${status} ${JSON.stringify(body)?.slice(0, 300)}`
      assert.ok(requestId, `every answer has an x-request-id (${what})`)
      assert.ok(status < 500, `no 5xx: ${what}`)
      if (!valid) assert.ok(status >= 400 && status < 500, `input the schemas refuse is refused: ${what}`)
      oracle.checkAnswer(planned.operation, status, body, contentType, what)
      if (status < 300) remember(planned.operation, body, created)
    }),
    { numRuns: options.runs, seed: options.seed, endOnFailure: true },
  )
  report.operationsCalled = called.size
  const top = [...spent].sort((a, b) => b[1] - a[1]).slice(0, 5)
  report.slowest = Object.fromEntries(top.map(([name, ms]) => [name, Math.round(ms)]))
  return report
}

function planFor(operation: Operation, preexisting: Pools, created: Pools): fc.Arbitrary<PlannedRequest> {
  const OVERRIDES = overrides(preexisting, created)
  const mutating = operation.method !== 'GET'
  const params = fc.record(
    Object.fromEntries(
      pathParams(operation.path).map((name) => [
        name,
        paramValue(
          operation,
          name,
          mutating ? [] : poolFor(operation, preexisting),
          poolFor(operation, created),
        ),
      ]),
    ),
  )
  const querySchema = operation.query as JsonSchema | undefined
  const query = querySchema
    ? (validValue(querySchema) as fc.Arbitrary<Record<string, unknown>>)
    : fc.constant({})
  const bodySchema = operation.body as JsonSchema | undefined
  const body = bodySchema ? validValue(bodySchema, OVERRIDES) : fc.constant(undefined)
  const valid = fc.record({ params, query, body }).map((parts) => ({ ...parts, broken: false }))

  const broken: fc.Arbitrary<{
    params: Record<string, string>
    query: unknown
    body: unknown
    broken: boolean
  }>[] = []
  const badBody = bodySchema ? invalidValue(bodySchema, OVERRIDES) : undefined
  if (badBody)
    broken.push(fc.record({ params, query, body: badBody }).map((parts) => ({ ...parts, broken: true })))
  const badQuery = querySchema ? invalidValue(querySchema) : undefined
  if (badQuery)
    broken.push(fc.record({ params, query: badQuery, body }).map((parts) => ({ ...parts, broken: true })))
  // Invalid input may also be aimed at records that existed before: it must change nothing.
  const badParams = fc.record(
    Object.fromEntries(
      pathParams(operation.path).map((name) => [
        name,
        paramValue(operation, name, poolFor(operation, preexisting), []),
      ]),
    ),
  )
  if (badBody && mutating) {
    broken.push(
      fc.record({ params: badParams, query, body: badBody }).map((parts) => ({ ...parts, broken: true })),
    )
  }

  const chosen = broken.length ? fc.oneof({ weight: 3, arbitrary: valid }, ...broken) : valid
  return chosen.map((parts) => {
    const planned: PlannedRequest = {
      operation,
      params: parts.params,
      query: queryStrings(parts.query),
      body: parts.body,
      hasBody: operation.body !== undefined,
      broken: parts.broken,
    }
    // How fast-check prints a counterexample: the request, not the whole declaration.
    return Object.assign(planned, {
      [fc.toStringMethod]: () =>
        `${operation.name}: ${operation.method} ${urlOf(planned)} ${planned.hasBody ? JSON.stringify(planned.body) : ''}`,
    })
  })
}

/** A path parameter: an id or name from the pools (read when generated: they grow during the run), or one from its schema. */
function paramValue(operation: Operation, name: string, ...pools: string[][]): fc.Arbitrary<string> {
  const schema = (operation.params as { properties: Record<string, JsonSchema> }).properties[name]
  // '.' and '..' would be resolved away by the URL parser before the request is sent.
  const usable = (text: string) => text !== '' && text !== '.' && text !== '..'
  const fromSchema = (validValue(schema) as fc.Arbitrary<string>).filter(usable)
  const known = fc.nat().chain((index) => {
    const now = pools.flat()
    return now.length ? fc.constant(now[index % now.length]) : fromSchema
  })
  // Longer than the router reads (100 characters): a 414 in the envelope, after the guard.
  const tooLong = fc.integer({ min: 101, max: 400 }).map((length) => 'a'.repeat(length))
  const broken = invalidValue(schema)
  return broken
    ? fc.oneof({ weight: 3, arbitrary: known }, fromSchema, tooLong, broken.map(String).filter(usable))
    : fc.oneof({ weight: 3, arbitrary: known }, fromSchema, tooLong)
}

function poolFor(operation: Operation, pools: Pools): string[] {
  const path = operation.path
  if (path.startsWith('/api/domains/')) return pools.domainIds
  if (path.startsWith('/api/collections/')) return pools.collectionIds
  if (path.startsWith('/api/endpoints/')) return pools.endpointIds
  if (path.startsWith('/jobs/')) return pools.jobIds
  if (path.startsWith('/queue/')) return pools.queueNames
  if (path.startsWith('/cron/')) return pools.cronNames
  return []
}

function remember(operation: Operation, body: unknown, created: Pools): void {
  const data = (body as { data?: Record<string, unknown> } | undefined)?.data
  if (!data || typeof data !== 'object') return
  const add = (pool: string[], value: unknown) => {
    if (typeof value === 'string' && !pool.includes(value)) pool.push(value)
  }
  switch (operation.name) {
    case 'createDomain':
      add(created.domainIds, data.id)
      break
    case 'createCollection':
      add(created.collectionIds, data.id)
      break
    case 'createEndpoint':
      add(created.endpointIds, data.id)
      break
    case 'createCronSchedule':
      add(created.cronNames, data.name)
      add(created.queueNames, data.queue)
      break
    case 'enqueueJobs': {
      const results = 'jobs' in data ? (data.jobs as Array<{ job: { id: string; queue: string } }>) : [data]
      for (const result of results as Array<{ job: { id: string; queue: string } }>) {
        add(created.jobIds, result.job.id)
        add(created.queueNames, result.job.queue)
      }
    }
  }
}

/** Query values travel as text, as a browser or curl would send them. */
function queryStrings(query: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!query || typeof query !== 'object' || Array.isArray(query)) return { fuzz: JSON.stringify(query) }
  for (const [key, value] of Object.entries(query)) {
    out[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return out
}

function urlOf(planned: PlannedRequest): string {
  const path = planned.operation.path.replaceAll(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(planned.params[name]),
  )
  const search = new URLSearchParams(planned.query).toString()
  return search ? `${path}?${search}` : path
}

async function send(controlUrl: string, planned: PlannedRequest, headers: Record<string, string> = {}) {
  const response = await fetch(controlUrl + urlOf(planned), {
    method: planned.operation.method,
    headers: planned.hasBody ? { 'content-type': 'application/json', ...headers } : headers,
    body: planned.hasBody ? JSON.stringify(planned.body ?? null) : undefined,
  })
  const contentType = response.headers.get('content-type') ?? ''
  if (contentType.startsWith('text/event-stream')) {
    // An event stream stays open: its status and content type are the answer; leave the stream.
    await response.body?.cancel()
    return { status: response.status, body: '', contentType, requestId: response.headers.get('x-request-id') }
  }
  const text = await response.text()
  let body: unknown = text
  if (contentType.startsWith('application/json')) body = JSON.parse(text)
  return { status: response.status, body, contentType, requestId: response.headers.get('x-request-id') }
}

/**
 * Decides, with the control plane's own validation rules (JSON bodies exactly as sent; query
 * strings and path parameters read as the schema's types), whether a request is valid, and
 * checks answers against the declarations.
 */
class Oracle {
  private readonly strict = withFormats(new Ajv({ strict: false, allErrors: false }))
  private readonly lenient = withFormats(new Ajv({ strict: false, coerceTypes: 'array', useDefaults: true }))
  private readonly caches = new Map<Ajv, Map<object, ValidateFunction>>()
  private readonly envelope = this.compile(this.strict, ErrorEnvelope)

  accepts(planned: PlannedRequest): boolean {
    const { operation } = planned
    if (operation.params && !this.compile(this.lenient, operation.params)(structuredClone(planned.params)))
      return false
    if (Object.values(planned.params).some((value) => value.length > 100)) return false // the router's limit: 414
    if (operation.query && !this.compile(this.lenient, operation.query)(structuredClone(planned.query)))
      return false
    if (!operation.query && Object.keys(planned.query).length) return true // ignored, like any HTTP server
    if (operation.body && !this.compile(this.strict, operation.body)(structuredClone(planned.body)))
      return false
    return true
  }

  checkAnswer(operation: Operation, status: number, body: unknown, contentType: string, what: string): void {
    const codes = errorsOf(operation)
    const success = operation.responses[status]
    if (success) {
      if (operation.produces) {
        assert.ok(contentType.startsWith(operation.produces.split(';')[0]), `content type of ${what}`)
        return
      }
      const validate = this.compile(this.strict, success)
      assert.ok(
        validate(body),
        `success body matches the declaration (${JSON.stringify(validate.errors)}): ${what}`,
      )
      return
    }
    assert.ok(
      this.envelope(body),
      `error body is the envelope (${JSON.stringify(this.envelope.errors)}): ${what}`,
    )
    const code = (body as { error: { code: ErrorCode } }).error.code
    assert.ok(codes.includes(code), `${code} is declared for ${operation.name}: ${what}`)
    assert.equal(ERROR_STATUS[code], status, `the status of ${code}: ${what}`)
  }

  private compile(ajv: Ajv, schema: object): ValidateFunction {
    let cache = this.caches.get(ajv)
    if (!cache) {
      cache = new Map()
      this.caches.set(ajv, cache)
    }
    let validate = cache.get(schema)
    if (!validate) {
      validate = ajv.compile(schema)
      cache.set(schema, validate)
    }
    return validate
  }
}

function withFormats(ajv: Ajv): Ajv {
  ;(addFormats as unknown as (ajv: Ajv) => Ajv)(ajv)
  return ajv
}
