// The data plane's own work, without sockets: the gateway's dispatcher (routing, request id,
// Exchange and SDK Request, the async hello handler, Response, timeout bookkeeping, metrics)
// against a bare handler doing the hello handler's work, both called in-process with the same
// stand-in request and response objects. Prints ns per request of each and the difference, which
// is what edgeforge adds to a request before node:http and the kernel do the rest.
//
//   npm run bench:dispatch                    # 6 rounds of 500,000 requests each
//   npm run bench:dispatch -- --rounds 2      # a quick look
//
// A micro-benchmark: its ns are not the gateway's cost per request with real sockets (that is
// bench:gateway's CPU µs/req), only the part that is edgeforge's own.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import { handler, Response } from '@edgeforge/sdk'
import { Dispatcher } from '../packages/server/src/gateway/dispatch.ts'
import { HandlerVersion } from '../packages/server/src/gateway/registry.ts'
import { RouterSnapshot } from '../packages/server/src/gateway/router.ts'
import { EndpointLogs } from '../packages/server/src/observability/endpoint-logs.ts'
import { createLogger } from '../packages/server/src/observability/logger.ts'
import { Metrics } from '../packages/server/src/observability/metrics.ts'
import { bareHello } from './support/bare-hello.ts'
import { intFlag } from './support/flags.ts'
import { median, printTable } from './support/table.ts'

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '500000' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(`npm run bench:dispatch -- [options]

  --rounds <n>     rounds, each timing edgeforge and bare once, who goes first alternating (default 6)
  --requests <n>   requests per timing (default 500000)`)
  process.exit(0)
}
const rounds = intFlag('bench:dispatch', 'rounds', flags.rounds, 1, 50)
const requests = intFlag('bench:dispatch', 'requests', flags.requests, 1000, 10_000_000)
/** Requests started before the event loop gets a turn: their handlers' microtasks run in between. */
const BATCH = 50

// The hello handler of bench:gateway, as the gateway would load it.
const hello = handler(async () => Response.ok({ hello: 'world' })).fn
const version = new HandlerVersion({
  endpointId: 'hello',
  endpointName: 'hello',
  version: 1,
  fn: hello,
  mapStack: (stack) => stack,
  usesConsole: false,
})
const snapshot = new RouterSnapshot([
  {
    endpointId: 'hello',
    route: { host: '*', method: 'GET', path: '/hello' },
    limits: { timeoutMs: 30_000, bodyLimitBytes: 1 << 20, drainTimeoutMs: 30_000 },
    current: version,
  },
])
const dispatcher = new Dispatcher({
  router: () => snapshot,
  endpointLogs: new EndpointLogs(100),
  logger: createLogger('warn'),
  jobs: {} as Dispatcher['jobs'],
  metrics: new Metrics(),
})

let bytes = 0
let answered = 0

/** What the handlers call on a ServerResponse, counting the bytes instead of sending them. */
class StandInResponse {
  statusCode = 200
  headersSent = false
  writableFinished = false
  writeHead(status: number, headers: Record<string, string | number>): this {
    this.statusCode = status
    for (const name in headers) bytes += name.length + String(headers[name]).length
    this.headersSent = true
    return this
  }
  end(body?: string): void {
    bytes += body === undefined ? 0 : body.length
    answered += 1
    this.writableFinished = true
  }
  setHeader(): void {}
  once(): this {
    return this
  }
}

const socket = { remoteAddress: '127.0.0.1' }

/** A GET /hello as autocannon sends it: one Host header. */
function standInRequest(): IncomingMessage {
  return {
    url: '/hello',
    method: 'GET',
    rawHeaders: ['Host', '127.0.0.1:9080'],
    headers: { host: '127.0.0.1:9080' },
    socket,
  } as unknown as IncomingMessage
}

type Handle = (req: IncomingMessage, res: ServerResponse) => void
const sides: Array<{ name: 'edgeforge' | 'bare'; handle: Handle; ns: number[] }> = [
  { name: 'edgeforge', handle: dispatcher.handle, ns: [] },
  { name: 'bare', handle: bareHello, ns: [] },
]

async function time(handle: Handle): Promise<number> {
  const started = process.hrtime.bigint()
  for (let done = 0; done < requests; done += BATCH) {
    for (let i = 0; i < BATCH; i++)
      handle(standInRequest(), new StandInResponse() as unknown as ServerResponse)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return Number(process.hrtime.bigint() - started) / requests
}

console.log(`bench:dispatch — ${new Date().toISOString()} — node ${process.version}`)
console.log(`${rounds} round(s) of ${requests} requests per side, after one warm-up round\n`)
for (const side of sides) await time(side.handle)
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) side.ns.push(await time(side.handle))
}
const sent = 2 * (rounds + 1) * Math.ceil(requests / BATCH) * BATCH
if (answered !== sent || bytes === 0) throw new Error(`${answered} of ${sent} requests were answered`)

const [edgeforge, peer] = sides.map((side) => median(side.ns))
printTable(
  ['side', 'ns/request (median)', 'rounds'],
  sides.map((side) => [side.name, median(side.ns).toFixed(0), side.ns.map((ns) => ns.toFixed(0)).join(' ')]),
  new Set(['side', 'rounds']),
)
console.log(
  `\nedgeforge's own work: ${(edgeforge - peer).toFixed(0)} ns per request (bare/edgeforge ${(peer / edgeforge).toFixed(3)}× without sockets; with them, bench:gateway)`,
)
