// The data-plane benchmark: a hello-world handler served through edgeforge against a bare
// node:http server doing the same work, each in its own child process, measured in the same run
// with autocannon on loopback. Prints requests/s, p50 and p99 of each and the ratio edgeforge/bare.
//
//   npm run bench:gateway                              # 6 rounds: new processes, 5 s warm-up, 10 s each
//   npm run bench:gateway -- --duration 3 --rounds 1   # a quick look
//   npm run bench:gateway -- --cpu-prof                # also profile the gateway child
//
// The goal (issue 2) is a throughput ratio of at least 0.90. Non-2xx responses and errors must be
// 0: any makes the script exit 1. docs/performance.md explains how to read the output.
import { mkdtempSync, readdirSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon, { type Result } from 'autocannon'
import { SERVE_NODE_FLAGS } from '../packages/server/src/cli/node-flags.ts'
import { type Child, startChild } from './support/child.ts'
import { machineBusyMs, ownCpuMs, processCpuMs, waitForQuiet } from './support/cpu.ts'
import { intFlag } from './support/flags.ts'
import { CORES, deployHello, pinSelf } from './support/gateway.ts'
import { LatencyHistogram } from './support/latency.ts'
import { printProfile } from './support/profile.ts'
import { fmtMs, fmtRate, fmtShare, median, printTable } from './support/table.ts'

const GOAL = 0.9
/** Other processes using more than this share of a core make a run "disturbed". */
const QUIET = 0.1
const TEXT_COLUMNS = new Set(['server', 'note'])

const { values: flags } = parseArgs({
  allowNegative: true,
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'quiet-wait': { type: 'string', default: '15' },
    'cpu-prof': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: true },
    help: { type: 'boolean', default: false },
  },
})

if (flags.help) {
  console.log(`npm run bench:gateway -- [options]

  --duration <s>      seconds per measured run (default 10)
  --rounds <n>        rounds, each on a new pair of server processes measured once each, who goes
                      first alternating (default 6)
  --warmup <s>        seconds of warm-up load on each new server first (default 5; 0 skips it)
  --connections <n>   concurrent connections (default 50; pipelining is always 1)
  --quiet-wait <s>    before each run, wait up to this long for other processes to go quiet
                      (default 15; 0 does not wait); runs they disturbed are flagged either way
  --cpu-prof          profile the first round's edgeforge child (node --cpu-prof) and print where
                      its time went
  --no-pin            do not pin the servers to CPU 0 and autocannon to CPU 1 (pinning needs
                      taskset and 2 CPUs)`)
  process.exit(0)
}

const durationS = intFlag('bench:gateway', 'duration', flags.duration, 1, 120)
const rounds = intFlag('bench:gateway', 'rounds', flags.rounds, 1, 10)
const warmupS = intFlag('bench:gateway', 'warmup', flags.warmup, 0, 60)
const connections = intFlag('bench:gateway', 'connections', flags.connections, 1, 500)
const quietWaitS = intFlag('bench:gateway', 'quiet-wait', flags['quiet-wait'], 0, 120)

interface Target {
  name: 'edgeforge' | 'bare'
  url: string
  pid: number | undefined
}

interface Measured {
  result: Result
  latency: LatencyHistogram
  /** CPU the server process used during the run, ms; null where /proc is missing. */
  serverCpuMs: number | null
  /** CPU this process (autocannon) used during the run, ms. */
  loadCpuMs: number
  /** CPU everything else on the machine used during the run, ms. */
  otherCpuMs: number | null
}

interface Run extends Measured {
  round: number
  target: Target['name']
}

// The whole run is bounded: past this the children are killed and the script fails.
const runs = rounds * (warmupS > 0 ? 4 : 2)
// Starting a pair of servers and deploying the handler takes a few seconds: 60 s each is generous.
const budgetMs = (rounds * 2 * (warmupS + durationS) + runs * (quietWaitS + 1) + rounds * 60) * 1000 + 60_000
const children: Child[] = []
const watchdog = setTimeout(() => {
  console.error(`bench:gateway: still running after ${budgetMs / 1000} s; giving up`)
  for (const child of children) child.process.kill('SIGKILL')
  process.exit(2)
}, budgetMs)
watchdog.unref()

try {
  await main()
} finally {
  await Promise.all(children.map((child) => child.stop()))
  clearTimeout(watchdog)
}

async function main(): Promise<void> {
  const pinned = flags.pin && pinSelf(1)
  printMachine(pinned)
  const profileDir = flags['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'edgeforge-bench-prof-')) : undefined
  console.log(
    `\n${connections} connections, pipelining 1; ${rounds} round(s), each on new server processes: warm-up ${warmupS} s each, then ${durationS} s each, alternating who goes first\n`,
  )
  const measured: Run[] = []
  for (let round = 1; round <= rounds; round += 1) {
    const targets = await startServers(pinned ? 0 : undefined, round === 1 ? profileDir : undefined)
    if (warmupS > 0) {
      const rates: string[] = []
      for (const target of targets) {
        const { result } = await measure(target, warmupS, targets)
        rates.push(`${target.name} ${fmtRate(rate(result))} req/s`)
      }
      console.log(`round ${round} warm-up: ${rates.join(', ')}`)
    }
    // Alternate who goes first, so drift within a round does not favour one side.
    const order = round % 2 === 1 ? targets : [...targets].reverse()
    for (const target of order) {
      measured.push({ round, target: target.name, ...(await measure(target, durationS, targets)) })
    }
    await Promise.all(children.splice(0).map((child) => child.stop()))
  }
  report(measured)

  if (profileDir) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, which serves
    // the gateway; the compiler's type-check worker writes a profile of its own.
    const file = readdirSync(profileDir).find((name) => /\.0\.\d+\.cpuprofile$/.test(name))
    if (file) printProfile(join(profileDir, file))
    else console.error(`no main-thread .cpuprofile was written to ${profileDir}`)
  }
  const failures = measured.reduce((sum, run) => sum + run.result.non2xx + errorsOf(run.result), 0)
  if (failures > 0) {
    console.error(`\n${failures} non-2xx responses or errors: the comparison is void`)
    process.exitCode = 1
  }
}

/**
 * Starts an edgeforge server (with the hello handler deployed) and a bare node:http server, both
 * pinned to `cpu` when given, and checks they answer alike. Each round gets new processes: one
 * process of the same code can run several per cent faster or slower than the next for its whole
 * life (where the JIT and the memory layout happened to land), so measuring one pair of
 * processes would measure that luck; a new pair per round averages it out.
 */
async function startServers(cpu: number | undefined, profileDir: string | undefined): Promise<Target[]> {
  const [gateway, bare] = await Promise.all([
    startChild('edgeforge', new URL('./servers/edgeforge.ts', import.meta.url).pathname, {
      execArgv: [...SERVE_NODE_FLAGS, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
      cpu,
    }),
    startChild('bare node:http', new URL('./servers/bare-http.ts', import.meta.url).pathname, { cpu }),
  ])
  children.push(gateway, bare)
  const targets: Target[] = [
    { name: 'edgeforge', url: await deployHello(gateway), pid: gateway.process.pid },
    { name: 'bare', url: bare.info.url, pid: bare.process.pid },
  ]
  await checkSameAnswer(targets)
  return targets
}

/** Both servers must answer the same status and body, with the same header names. */
async function checkSameAnswer(targets: Target[]): Promise<void> {
  const answers = await Promise.all(
    targets.map(async (target) => {
      const response = await fetch(target.url, { signal: AbortSignal.timeout(10_000) })
      const body = await response.text()
      return { target, status: response.status, body, headers: [...response.headers.keys()] }
    }),
  )
  for (const answer of answers) {
    const { target, status, body, headers } = answer
    console.log(`${target.name.padEnd(9)} ${status} ${body} — headers: ${headers.join(', ')}`)
  }
  const [first, ...rest] = answers
  if (first.status !== 200) throw new Error(`the hello handler answered ${first.status}`)
  for (const other of rest) {
    if (other.status !== first.status || other.body !== first.body) {
      throw new Error(`the servers do not answer alike: ${first.body} vs ${other.body}`)
    }
  }
}

/** One autocannon run against `target`, with the CPU each side (and everything else) used. */
async function measure(target: Target, seconds: number, all: Target[]): Promise<Measured> {
  if (quietWaitS > 0) {
    const pids = all.map((t) => t.pid)
    const quiet = await waitForQuiet({ pids, threshold: QUIET, maxWaitMs: quietWaitS * 1000 })
    if (quiet.otherShare !== null && quiet.otherShare >= QUIET) {
      console.log(
        `  (other processes still use ${fmtShare(quiet.otherShare)} of a core after ${Math.round(quiet.waitedMs / 1000)} s; measuring anyway)`,
      )
    }
  }
  const latency = new LatencyHistogram()
  const serverBefore = processCpuMs(target.pid)
  const loadBefore = ownCpuMs()
  const machineBefore = machineBusyMs()
  const result = await new Promise<Result>((resolve, reject) => {
    const options = { url: target.url, connections, pipelining: 1, duration: seconds, timeout: 10 }
    autocannon(options, (error, done) => (error ? reject(error) : resolve(done))).on(
      'response',
      (_client, _status, _bytes, ms) => latency.record(ms),
    )
  })
  const serverAfter = processCpuMs(target.pid)
  const loadCpuMs = ownCpuMs() - loadBefore
  const machineAfter = machineBusyMs()
  const serverCpuMs = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore
  const otherCpuMs =
    machineBefore === null || machineAfter === null || serverCpuMs === null
      ? null
      : Math.max(0, machineAfter - machineBefore - serverCpuMs - loadCpuMs)
  return { result, latency, serverCpuMs, loadCpuMs, otherCpuMs }
}

/** Completed requests per second over the whole run (autocannon's average is of 1 s samples). */
function rate(result: Result): number {
  return result.requests.total / result.duration
}

function errorsOf(result: Result): number {
  return result.errors + result.timeouts
}

function cpuPerRequestUs(run: Measured): number | null {
  return run.serverCpuMs === null ? null : (run.serverCpuMs * 1000) / run.result.requests.total
}

function disturbed(run: Measured): boolean {
  return run.otherCpuMs !== null && run.otherCpuMs / (run.result.duration * 1000) >= QUIET
}

function report(runs: Run[]): void {
  const share = (ms: number | null, run: Run) =>
    ms === null ? '-' : fmtShare(ms / (run.result.duration * 1000))
  console.log()
  printTable(
    [
      'round',
      'server',
      'req/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'requests',
      'non-2xx',
      'errors',
      'server CPU',
      'CPU µs/req',
      'autocannon CPU',
      'other CPU',
      'note',
    ],
    runs.map((run) => [
      String(run.round),
      run.target,
      fmtRate(rate(run.result)),
      fmtMs(run.latency.percentile(50)),
      fmtMs(run.latency.percentile(99)),
      fmtMs(run.latency.maxMs),
      String(run.result.requests.total),
      String(run.result.non2xx),
      String(errorsOf(run.result)),
      share(run.serverCpuMs, run),
      cpuPerRequestUs(run)?.toFixed(1) ?? '-',
      share(run.loadCpuMs, run),
      share(run.otherCpuMs, run),
      disturbed(run) ? 'disturbed' : '',
    ]),
    TEXT_COLUMNS,
  )

  const summary = (name: Target['name']) => {
    const mine = runs.filter((run) => run.target === name)
    const requests = mine.reduce((sum, run) => sum + run.result.requests.total, 0)
    const seconds = mine.reduce((sum, run) => sum + run.result.duration, 0)
    const cpu = mine.map(cpuPerRequestUs)
    return {
      name,
      rate: requests / seconds,
      p50: median(mine.map((run) => run.latency.percentile(50))),
      p99: median(mine.map((run) => run.latency.percentile(99))),
      cpuUs: cpu.includes(null) ? null : median(cpu as number[]),
      non2xx: mine.reduce((sum, run) => sum + run.result.non2xx, 0),
      errors: mine.reduce((sum, run) => sum + errorsOf(run.result), 0),
    }
  }
  const edgeforge = summary('edgeforge')
  const bare = summary('bare')
  console.log('\nsummary (req/s over all rounds; the other columns are the median of the rounds)')
  printTable(
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'non-2xx', 'errors'],
    [edgeforge, bare].map((s) => [
      s.name,
      fmtRate(s.rate),
      fmtMs(s.p50),
      fmtMs(s.p99),
      s.cpuUs?.toFixed(1) ?? '-',
      String(s.non2xx),
      String(s.errors),
    ]),
    TEXT_COLUMNS,
  )

  const ratio = edgeforge.rate / bare.rate
  const perRound = [...new Set(runs.map((run) => run.round))].map((round) => {
    const of = (name: Target['name']) => runs.find((run) => run.round === round && run.target === name)!
    return (rate(of('edgeforge').result) / rate(of('bare').result)).toFixed(3)
  })
  const verdict = ratio >= GOAL ? 'met' : 'NOT met'
  console.log(
    `\nthroughput ratio edgeforge/bare: ${ratio.toFixed(3)}× (goal ≥ ${GOAL.toFixed(2)}×: ${verdict}); per round: ${perRound.join(', ')}`,
  )
  console.log(
    `p99 latency: edgeforge ${fmtMs(edgeforge.p99)} ms, bare ${fmtMs(bare.p99)} ms (${(edgeforge.p99 / bare.p99).toFixed(2)}×)`,
  )
  if (edgeforge.cpuUs !== null && bare.cpuUs !== null) {
    console.log(
      `CPU per request: edgeforge ${edgeforge.cpuUs.toFixed(1)} µs, bare ${bare.cpuUs.toFixed(1)} µs (bare/edgeforge ${(bare.cpuUs / edgeforge.cpuUs).toFixed(3)}×)`,
    )
  }
  const noisy = runs.filter(disturbed).length
  if (noisy > 0) {
    console.log(
      `WARNING: ${noisy} of ${runs.length} runs were disturbed by other processes (other CPU ≥ ${fmtShare(QUIET)} of a core): the throughput ratio is unreliable; CPU µs/req holds up better`,
    )
  }
}

function printMachine(pinned: boolean): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `bench:gateway — ${new Date().toISOString()} — node ${process.version} — ${CORES} cores, ${cpu}`,
  )
  console.log(
    pinned
      ? 'servers pinned to CPU 0, autocannon to CPU 1'
      : 'not pinned: the servers and autocannon share the CPUs as the scheduler likes',
  )
}
