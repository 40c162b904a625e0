// What both gateway benchmarks share: the hello handler deployed through the management API, and
// pinning the load generator to its own CPU.
import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { Child } from './child.ts'

/** Read before this process pins itself to one CPU, which availableParallelism() then reports. */
export const CORES = availableParallelism()

export const HELLO = `import { handler, Response } from '@edgeforge/sdk'

export default handler(async () => Response.ok({ hello: 'world' }))
`

/** Creates and deploys the hello handler through the management API; returns its gateway URL. */
export async function deployHello(gateway: Child): Promise<string> {
  const control = gateway.info.controlUrl
  if (!control) throw new Error('the edgeforge child did not report its control URL')
  const created = (await api(control, 'POST', '/api/endpoints', {
    name: 'hello',
    path: '/hello',
    method: 'GET',
    code: HELLO,
  })) as { id: string }
  const deployed = (await api(control, 'POST', `/api/endpoints/${created.id}/deploy`)) as {
    running_version: number
  }
  console.log(`edgeforge: deployed hello v${deployed.running_version} at ${gateway.info.url}/hello`)
  return `${gateway.info.url}/hello`
}

/** The scope the protected hello requires, and the client id that holds it. */
const PROTECTED_SCOPE = 'bench:hello'

/**
 * Deploys the same hello handler as an endpoint with `auth: { scopes }` and creates a client that
 * holds the scope; returns its gateway URL and the Authorization header to send.
 */
export async function deployProtectedHello(gateway: Child): Promise<{ url: string; authorization: string }> {
  const control = gateway.info.controlUrl
  if (!control) throw new Error('the edgeforge child did not report its control URL')
  const client = (await api(control, 'POST', '/api/clients/bench', { scopes: [PROTECTED_SCOPE] })) as {
    access_token: string
  }
  const created = (await api(control, 'POST', '/api/endpoints', {
    name: 'hello-protected',
    path: '/hello-protected',
    method: 'GET',
    code: HELLO,
    auth: { scopes: [PROTECTED_SCOPE] },
  })) as { id: string }
  await api(control, 'POST', `/api/endpoints/${created.id}/deploy`)
  return { url: `${gateway.info.url}/hello-protected`, authorization: `Bearer ${client.access_token}` }
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const reply = (await response.json()) as { ok: boolean; data?: unknown; error?: unknown }
  if (!reply.ok) throw new Error(`${method} ${path} failed: ${JSON.stringify(reply.error)}`)
  return reply.data
}

/**
 * Pins this process (autocannon) to `cpu`; the servers go to CPU 0. A core each keeps the two
 * sides from taking turns on one core and makes runs repeatable. False when it cannot.
 */
export function pinSelf(cpu: number): boolean {
  if (CORES < 2) return false
  try {
    execFileSync('taskset', ['-a', '-c', '-p', String(cpu), String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
