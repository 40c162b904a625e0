// Does an idle spell slow the gateway down afterwards? Two edgeforge children serve the hello
// handler, one started with the Node.js flags `edgeforge serve` runs with (SERVE_NODE_FLAGS) and
// one without them. Each is loaded, left idle, and loaded again; the script prints the server's CPU
// per request before and after the idle spell, and the after/before ratio of each (1.00 = no
// change). Without --no-memory-reducer the ratio was ~1.3 on the machine of docs/performance.md.
//
//   npm run bench:gateway-idle                        # 10 s load, 25 s idle, 10 s load, per child
//   npm run bench:gateway-idle -- --duration 5 --idle 15
import { parseArgs } from 'node:util'
import autocannon, { type Result } from 'autocannon'
import { SERVE_NODE_FLAGS } from '../packages/server/src/cli/node-flags.ts'
import { type Child, startChild } from './support/child.ts'
import { processCpuMs } from './support/cpu.ts'
import { intFlag } from './support/flags.ts'
import { deployHello, pinSelf } from './support/gateway.ts'
import { fmtRate, printTable } from './support/table.ts'

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    idle: { type: 'string', default: '25' },
    connections: { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(`npm run bench:gateway-idle -- [options]

  --duration <s>     seconds of load before and after the idle spell (default 10)
  --idle <s>         seconds without requests in between (default 25)
  --connections <n>  concurrent connections (default 50)`)
  process.exit(0)
}
const durationS = intFlag('bench:gateway-idle', 'duration', flags.duration, 1, 60)
const idleS = intFlag('bench:gateway-idle', 'idle', flags.idle, 0, 120)
const connections = intFlag('bench:gateway-idle', 'connections', flags.connections, 1, 1000)

interface Load {
  reqPerS: number
  cpuUsPerReq: number
  failed: number
}

const children: Child[] = []
const budgetMs = 4 * (2 * durationS + idleS) * 1000 + 120_000
const watchdog = setTimeout(() => {
  console.error(`bench:gateway-idle: still running after ${budgetMs / 1000} s; giving up`)
  void Promise.all(children.map((child) => child.stop(1000))).finally(() => process.exit(2))
}, budgetMs)
watchdog.unref()

try {
  const pinned = pinSelf(1)
  console.log(
    `bench:gateway-idle — ${new Date().toISOString()} — node ${process.version}${pinned ? ' — servers on CPU 0, autocannon on CPU 1' : ''}`,
  )
  console.log(`${connections} connections; ${durationS} s of load, ${idleS} s idle, ${durationS} s of load\n`)
  const rows: string[][] = []
  let failed = 0
  for (const execArgv of [[...SERVE_NODE_FLAGS], []]) {
    const name = execArgv.length > 0 ? execArgv.join(' ') : '(no flags)'
    const child = await startChild(
      `edgeforge ${name}`,
      new URL('./servers/edgeforge.ts', import.meta.url).pathname,
      {
        execArgv,
        cpu: pinned ? 0 : undefined,
      },
    )
    children.push(child)
    const url = await deployHello(child)
    const before = await load(url, child)
    await new Promise((resolve) => setTimeout(resolve, idleS * 1000))
    const after = await load(url, child)
    await child.stop()
    failed += before.failed + after.failed
    rows.push([
      name,
      fmtRate(before.reqPerS),
      before.cpuUsPerReq.toFixed(1),
      fmtRate(after.reqPerS),
      after.cpuUsPerReq.toFixed(1),
      `${(after.cpuUsPerReq / before.cpuUsPerReq).toFixed(2)}×`,
    ])
  }
  console.log()
  const header = [
    'node flags',
    'req/s before',
    'CPU µs/req before',
    'req/s after',
    'CPU µs/req after',
    'after/before',
  ]
  printTable(header, rows, new Set(['node flags']))
  if (failed > 0) {
    console.error(`\n${failed} non-2xx responses or errors: the comparison is void`)
    process.exitCode = 1
  }
} finally {
  await Promise.all(children.map((child) => child.stop()))
  clearTimeout(watchdog)
}

async function load(url: string, child: Child): Promise<Load> {
  const cpuBefore = processCpuMs(child.process.pid)
  const result = await new Promise<Result>((resolve, reject) =>
    autocannon({ url, connections, pipelining: 1, duration: durationS, timeout: 10 }, (error, done) =>
      error ? reject(error) : resolve(done),
    ),
  )
  const cpuAfter = processCpuMs(child.process.pid)
  const cpuMs = cpuBefore === null || cpuAfter === null ? Number.NaN : cpuAfter - cpuBefore
  return {
    reqPerS: result.requests.total / result.duration,
    cpuUsPerReq: (cpuMs * 1000) / result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
  }
}
