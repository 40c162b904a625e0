import assert from 'node:assert/strict'
import { type IncomingHttpHeaders, request } from 'node:http'
import type { ApiReply, TestServer } from './server.ts'

// waitFor lives in wait.ts; this re-export keeps tests written before the move compiling.
export { waitFor } from './wait.ts'

/** An endpoint as the management API returns it (the fields the end-to-end tests read). */
export interface EndpointView {
  id: string
  name: string
  kind: string
  path: string | null
  method: string | null
  domain: string
  collection_id: string | null
  full_path: string | null
  enabled: boolean
  status: 'created' | 'compiled' | 'running' | 'stopped' | 'error'
  running_version: number | null
  compiled_version: number | null
  last_error: string | null
  body_limit_bytes: number
  timeout_ms: number
  code?: string
}

export interface Diagnostic {
  severity: string
  message: string
  file?: string
  line?: number
  column?: number
  code?: string
  lineText?: string
}

export interface CompileReport {
  endpoint_id: string
  status: string
  compiled_version: number
  reused: boolean
  diagnostics: Diagnostic[]
  timings_ms?: { install: number; type_check: number; bundle: number }
}

export interface RunReport {
  endpoint_id: string
  status: string
  running_version: number | null
  swapped: boolean
  draining: Array<{ version: number; in_flight: number }>
  compile?: CompileReport
}

export interface LogLine {
  time: string
  level: string
  request_id: string | null
  version: number | null
  message: string
}

/** `details` of a 400 compile_failed. */
export interface CompileFailure {
  stage: string
  diagnostics: Diagnostic[]
}

/** Asserts the status of a control-plane reply, showing its body when it differs. */
export function expectStatus<T>(reply: ApiReply<T>, status: number): ApiReply<T> {
  assert.equal(
    reply.status,
    status,
    `expected HTTP ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`,
  )
  return reply
}

/** Asserts a control-plane failure with this status and code; returns the error. */
export function expectError(
  reply: ApiReply<unknown>,
  status: number,
  code: string,
): { code: string; message: string; details?: unknown } {
  expectStatus(reply, status)
  assert.equal(reply.body.ok, false)
  assert.ok(reply.body.error, 'an error body')
  assert.equal(reply.body.error.code, code, reply.body.error.message)
  return reply.body.error
}

/** Creates an endpoint (201 expected). */
export async function createEndpoint(srv: TestServer, body: Record<string, unknown>): Promise<EndpointView> {
  return expectStatus(await srv.api<EndpointView>('POST', '/api/endpoints', body), 201).body.data
}

export async function getEndpoint(srv: TestServer, id: string): Promise<EndpointView> {
  return expectStatus(await srv.api<EndpointView>('GET', `/api/endpoints/${id}`), 200).body.data
}

/** POST /api/endpoints/{id}/{action}; returns the raw reply so callers can check failures. */
export function lifecycle(
  srv: TestServer,
  id: string,
  action: 'compile' | 'start' | 'stop' | 'deploy',
): Promise<ApiReply<RunReport & CompileReport>> {
  return srv.api<RunReport & CompileReport>('POST', `/api/endpoints/${id}/${action}`)
}

/** Creates an endpoint and deploys it; both must succeed. */
export async function deployEndpoint(
  srv: TestServer,
  body: Record<string, unknown>,
): Promise<{ endpoint: EndpointView; report: RunReport }> {
  const endpoint = await createEndpoint(srv, body)
  const report = expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200).body.data
  assert.equal(report.status, 'running')
  return { endpoint, report }
}

export async function readLogs(srv: TestServer, id: string, limit?: number): Promise<LogLine[]> {
  const query = limit === undefined ? '' : `?limit=${limit}`
  return expectStatus(await srv.api<LogLine[]>('GET', `/api/endpoints/${id}/logs${query}`), 200).body.data
}

export interface RawReply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/**
 * One request through node:http, for what fetch cannot do: setting the Host header. `host` is
 * sent as given (it may carry a port).
 */
export function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; host?: string; headers?: Record<string, string>; body?: string },
): Promise<RawReply> {
  const url = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { ...(options.host === undefined ? {} : { host: options.host }), ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}
