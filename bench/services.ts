// The services benchmark: a handler doing one `SELECT 1` through ctx.database (PostgreSQL) and
// one doing one `GET` through ctx.cache (Redis), served by a whole edgeforge process, against a
// bare node:http server doing the same with the same client libraries and pool size, in the same
// run with autocannon on loopback. Prints requests/s, p50 and p99 per scenario and the ratio
// edgeforge/bare, and the server process's CPU time per request (user + system, all its threads,
// from /proc/<pid>/stat around each slice): on a loaded machine throughput says how much CPU the
// server was given, CPU per request what each request cost it — the figure to compare there.
//
//   npm run bench:services                               # 3 rounds, 6 s per server and scenario in 1 s ABBA slices
//   npm run bench:services -- --rounds 1 --duration 2    # a quick look
//   npm run bench:services -- --cpu-prof                 # also profile the first round's edgeforge child, every thread
//   npm run bench:services -- --only cache               # one scenario (db or cache)
//
// Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379). The goal (issue
// 12) is a ratio of at least 0.8 in each scenario. Non-2xx responses or errors void the run
// (exit 1). docs/performance.md has results and how to read them.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon, { type Result } from 'autocannon'
import { Redis } from 'ioredis'
import { SERVE_NODE_FLAGS } from '../packages/server/src/cli/node-flags.ts'
import { type Child, startChild } from './support/child.ts'
import { intFlag } from './support/flags.ts'
import { printProfile } from './support/profile.ts'
import { fmtMs, fmtRate, median, printTable } from './support/table.ts'

const GOAL = 0.8
/** Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
const TICKS_PER_SECOND = 100
const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    pool: { type: 'string', default: '10' },
    'cpu-prof': { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(`npm run bench:services -- [options]

  --duration <s>      measured seconds per server, scenario and round, in 1 s slices alternating
                      ABBA between the two servers (default 6)
  --rounds <n>        rounds, each on a new pair of server processes (default 3)
  --warmup <s>        warm-up seconds per server and scenario (default 3)
  --connections <n>   concurrent connections (default 50)
  --pool <n>          connections to PostgreSQL and to Redis on both sides (default 10)
  --only db|cache     run one scenario only
  --cpu-prof          profile the first round's edgeforge child (node --cpu-prof, every thread)
                      and print where each thread's time goes`)
  process.exit(0)
}
const durationS = intFlag('bench:services', 'duration', flags.duration, 1, 120)
const rounds = intFlag('bench:services', 'rounds', flags.rounds, 1, 20)
const warmupS = intFlag('bench:services', 'warmup', flags.warmup, 0, 60)
const connections = intFlag('bench:services', 'connections', flags.connections, 1, 500)
const pool = intFlag('bench:services', 'pool', flags.pool, 1, 100)
if (flags.only !== undefined && flags.only !== 'db' && flags.only !== 'cache') {
  console.error(`bench:services: --only must be db or cache, not ${JSON.stringify(flags.only)}`)
  process.exit(2)
}
const scenarios: readonly Scenario[] = flags.only ? [flags.only as Scenario] : ['db', 'cache']

const DB_HANDLER = `import { handler, Response } from '@edgeforge/sdk'

export default handler(async (_req, ctx) => {
  const row = await ctx.database('db').queryOne<{ one: number }>('SELECT 1 AS one')
  return Response.ok({ one: row?.one })
})
`
const CACHE_HANDLER = `import { handler, Response } from '@edgeforge/sdk'

export default handler(async (_req, ctx) => Response.ok({ value: await ctx.cache('cache').get('bench:key') }))
`

type Scenario = 'db' | 'cache'
interface Tally {
  requests: number
  seconds: number
  /** Server CPU seconds (user + system, every thread) over the measured slices. */
  cpu: number
  /** The system (kernel) part of `cpu`: syscalls, wake-ups, context switches. */
  sys: number
  failures: number
  p50: number[]
  p99: number[]
}

const children: Child[] = []
const watchdog = setTimeout(
  () => {
    console.error('bench:services: ran too long; giving up')
    for (const child of children) child.process.kill('SIGKILL')
    process.exit(2)
  },
  (rounds * (4 * (warmupS + durationS) + 120) + 60) * 1000,
)
watchdog.unref()

try {
  await main()
} finally {
  await Promise.all(children.map((child) => child.stop()))
  clearTimeout(watchdog)
}

async function main(): Promise<void> {
  const seed = new Redis({ host: '127.0.0.1', port: 6379 })
  await seed.set('bench:key', 'hello')
  seed.disconnect()
  console.log(
    `${connections} connections, pool ${pool} on both sides; ${rounds} round(s), ${durationS} s per server and scenario\n`,
  )
  const tallies = new Map<string, Tally>()
  const tally = (scenario: Scenario, server: string) => {
    const key = `${scenario}/${server}`
    if (!tallies.has(key))
      tallies.set(key, { requests: 0, seconds: 0, cpu: 0, sys: 0, failures: 0, p50: [], p99: [] })
    return tallies.get(key)!
  }
  const profileDir = flags['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'edgeforge-bench-prof-')) : undefined
  for (let round = 1; round <= rounds; round++) {
    const profile = round === 1 && profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
    // The bare peer reads its pool size from the environment its fork inherits.
    process.env.BENCH_POOL_SIZE = String(pool)
    const [edgeforge, bare] = await Promise.all([
      startChild('edgeforge', new URL('./servers/edgeforge.ts', import.meta.url).pathname, {
        execArgv: [...SERVE_NODE_FLAGS, ...profile],
      }),
      startChild('bare', new URL('./servers/bare-services.ts', import.meta.url).pathname, {
        execArgv: [],
      }),
    ])
    children.push(edgeforge, bare)
    const gatewayUrl = await setUp(edgeforge)
    for (const scenario of scenarios) {
      const targets = [
        { name: 'edgeforge', url: `${gatewayUrl}/${scenario}`, pid: edgeforge.process.pid },
        { name: 'bare', url: `${bare.info.url}/${scenario}`, pid: bare.process.pid },
      ]
      const answers = await Promise.all(targets.map(async (t) => (await fetch(t.url)).text()))
      if (answers[0] !== answers[1])
        throw new Error(`the servers answer ${scenario} differently: ${answers.join(' vs ')}`)
      for (const target of targets) if (warmupS > 0) await load(target.url, warmupS)
      for (let slice = 0; slice < durationS; slice++) {
        const order = (slice + round) % 2 === 0 ? targets : [...targets].reverse()
        for (const target of order) {
          const [userBefore, sysBefore] = cpuSeconds(target.pid)
          const result = await load(target.url, 1)
          const t = tally(scenario, target.name)
          const [userAfter, sysAfter] = cpuSeconds(target.pid)
          t.cpu += userAfter - userBefore + (sysAfter - sysBefore)
          t.sys += sysAfter - sysBefore
          t.requests += result.requests.total
          t.seconds += result.duration
          t.failures += result.non2xx + result.errors + result.timeouts
          t.p50.push(result.latency.p50)
          t.p99.push(result.latency.p99)
        }
      }
    }
    await Promise.all(children.splice(0).map((child) => child.stop()))
  }
  if (profileDir)
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (control
    // plane, service actors), the others the handler threads (and the compiler's, idle here).
    for (const file of readdirSync(profileDir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .sort()) {
      console.log(`\n${file}`)
      printProfile(join(profileDir, file))
    }
  const rows: string[][] = []
  let failures = 0
  let below = false
  for (const scenario of scenarios) {
    const e = tally(scenario, 'edgeforge')
    const b = tally(scenario, 'bare')
    const ratio = e.requests / e.seconds / (b.requests / b.seconds)
    const cpuRatio = b.cpu / b.requests / (e.cpu / e.requests)
    if (ratio < GOAL) below = true
    failures += e.failures + b.failures
    for (const [name, t] of [
      ['edgeforge', e],
      ['bare', b],
    ] as const)
      rows.push([
        scenario,
        name,
        fmtRate(t.requests / t.seconds),
        fmtMs(median(t.p50)),
        fmtMs(median(t.p99)),
        name === 'edgeforge' ? `${ratio.toFixed(3)}x` : '',
        ((t.cpu / t.requests) * 1e6).toFixed(1),
        name === 'edgeforge' ? `${cpuRatio.toFixed(3)}x` : '',
        ((t.sys / t.requests) * 1e6).toFixed(1),
      ])
  }
  printTable(
    ['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'cpu µs/req', 'cpu ratio', 'of it sys µs'],
    rows,
    new Set(['scenario', 'server', 'ratio', 'cpu ratio']),
  )
  console.log(
    `\ncpu ratio = bare's CPU per request / edgeforge's (1 = the same cost; measured by the kernel, so it holds on a loaded machine)`,
  )
  console.log(`goal: at least ${GOAL}x req/s in each scenario${below ? ' — NOT met' : ' — met'}`)
  if (failures > 0) {
    console.error(`${failures} non-2xx responses or errors: the comparison is void`)
    process.exitCode = 1
  }
}

async function setUp(edgeforge: Child): Promise<string> {
  const control = edgeforge.info.controlUrl!
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(control + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const reply = (await res.json()) as { ok: boolean; data?: { id: string }; error?: unknown }
    if (!reply.ok) throw new Error(`${method} ${path}: ${JSON.stringify(reply.error)}`)
    return reply.data as { id: string }
  }
  const big = { pool_size: pool, max_queue: 10_000 }
  await api('POST', '/api/services', {
    name: 'bench-pg',
    service_type: 'postgres',
    config: { host: '127.0.0.1', port: 5432, database: 'postgres', username: 'postgres', ...big },
  })
  await api('POST', '/api/services', {
    name: 'bench-redis',
    service_type: 'redis',
    config: { host: '127.0.0.1', ...big },
  })
  for (const [name, code, binding, service] of [
    ['db', DB_HANDLER, 'db', 'bench-pg'],
    ['cache', CACHE_HANDLER, 'cache', 'bench-redis'],
  ]) {
    const endpoint = await api('POST', '/api/endpoints', { name, path: `/${name}`, method: 'GET', code })
    await api('POST', `/api/endpoints/${endpoint.id}/services`, { binding, service })
    await api('POST', `/api/endpoints/${endpoint.id}/deploy`)
  }
  return edgeforge.info.url
}

function load(url: string, seconds: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, pipelining: 1 }, (error, result) =>
      error ? reject(error) : resolve(result),
    )
  })
}

/** User and system CPU seconds of a process, every thread (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
function cpuSeconds(pid: number | undefined): [number, number] {
  if (pid === undefined) return [Number.NaN, Number.NaN]
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return [Number(fields[11]) / TICKS_PER_SECOND, Number(fields[12]) / TICKS_PER_SECOND]
}
