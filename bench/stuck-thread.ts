// Casualties of a stuck handler thread (issue 10, item 1): an edgeforge server with N handler
// threads serves a steady hello endpoint under autocannon load while one request runs a handler
// that never returns (`while (true) {}`, timeout_ms 1000). Counts what the load lost — non-2xx,
// errors, timeouts — and how the spinning request ended, per round on a new server.
//
//   npm run bench:stuck-thread                                   # 3 rounds, 2 threads, 16 connections, 8 s
//   npm run bench:stuck-thread -- --rounds 1 --connections 50
//
// The numbers go in docs/performance.md ("Casualties of a stuck thread"); docs/handlers.md says
// what a client sees.
import { parseArgs } from 'node:util'
import autocannon, { type Result } from 'autocannon'
import { SERVE_NODE_FLAGS } from '../packages/server/src/cli/node-flags.ts'
import { type Child, startChild } from './support/child.ts'
import { intFlag } from './support/flags.ts'
import { CORES, deployHello } from './support/gateway.ts'
import { printTable } from './support/table.ts'

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.max(2, CORES)) },
    connections: { type: 'string', default: '16' },
    duration: { type: 'string', default: '8' },
    'timeout-ms': { type: 'string', default: '1000' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(`npm run bench:stuck-thread -- [options]

  --rounds <n>        rounds, each on a new server (default 3)
  --threads <n>       handler threads (default: the cores, at least 2)
  --connections <n>   autocannon's keep-alive connections on the steady endpoint (default 16)
  --duration <s>      seconds of load per round; the spinner is called after a quarter (default 8)
  --timeout-ms <ms>   the spinning endpoint's timeout_ms (default 1000)`)
  process.exit(0)
}
const rounds = intFlag('bench:stuck-thread', 'rounds', flags.rounds, 1, 20)
const threads = intFlag('bench:stuck-thread', 'threads', flags.threads, 2, 64)
const connections = intFlag('bench:stuck-thread', 'connections', flags.connections, 1, 500)
const durationS = intFlag('bench:stuck-thread', 'duration', flags.duration, 4, 120)
const timeoutMs = intFlag('bench:stuck-thread', 'timeout-ms', flags['timeout-ms'], 100, 60_000)

const SPINNER = `import { handler } from '@edgeforge/sdk'

export default handler(() => {
  while (true) {}
})
`

interface Outcome {
  round: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  spinner: string
  spinnerMs: number
  restarts: number
}

async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const reply = (await response.json()) as { ok: boolean; data: T; error?: unknown }
  if (!reply.ok) throw new Error(`${method} ${path} failed: ${JSON.stringify(reply.error)}`)
  return reply.data
}

async function round(index: number): Promise<Outcome> {
  const server: Child = await startChild(
    'edgeforge',
    new URL('./servers/edgeforge.ts', import.meta.url).pathname,
    { execArgv: [...SERVE_NODE_FLAGS], args: [String(threads)] },
  )
  try {
    const control = server.info.controlUrl!
    const steady = await deployHello(server)
    const created = await api<{ id: string }>(control, 'POST', '/api/endpoints', {
      name: 'spinner',
      path: '/spin',
      method: 'GET',
      timeout_ms: timeoutMs,
      code: SPINNER,
    })
    await api(control, 'POST', `/api/endpoints/${created.id}/deploy`)
    const load = new Promise<Result>((resolve, reject) =>
      autocannon(
        { url: steady, connections, pipelining: 1, duration: durationS, timeout: 10 },
        (error, done) => (error ? reject(error) : resolve(done)),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, (durationS * 1000) / 4))
    const startedAt = performance.now()
    const spinner = await fetch(`${server.info.url}/spin`, { signal: AbortSignal.timeout(30_000) }).then(
      async (response) => `${response.status} ${(await response.text()).slice(0, 60)}`,
      (error: Error) => (error.name === 'TimeoutError' ? 'no answer in 30 s' : 'connection closed'),
    )
    const spinnerMs = performance.now() - startedAt
    const result = await load
    const stats = await api<{ http_handlers: { thread_restarts: number } }>(control, 'GET', '/api/stats')
    return {
      round: index,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      spinner,
      spinnerMs,
      restarts: stats.http_handlers.thread_restarts,
    }
  } finally {
    await server.stop()
  }
}

console.log(
  `bench:stuck-thread — ${new Date().toISOString()} — node ${process.version} — ${CORES} cores; ${threads} handler threads, ${connections} connections on /hello for ${durationS} s, one GET /spin (while (true) {}, timeout_ms ${timeoutMs}) after ${durationS / 4} s`,
)
const outcomes: Outcome[] = []
for (let i = 1; i <= rounds; i += 1) outcomes.push(await round(i))
printTable(
  ['round', 'requests', 'non-2xx', 'errors', 'timeouts', 'lost share', 'spinner got', 'after ms', 'restarts'],
  outcomes.map((o) => [
    String(o.round),
    String(o.requests),
    String(o.non2xx),
    String(o.errors),
    String(o.timeouts),
    `${(((o.non2xx + o.errors + o.timeouts) / o.requests) * 100).toFixed(2)}%`,
    o.spinner,
    o.spinnerMs.toFixed(0),
    String(o.restarts),
  ]),
  new Set(['spinner got']),
)
