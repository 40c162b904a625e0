// The data-plane benchmark: a hello-world handler served through edgeforge against a bare
// node:http server doing the same work, each in its own child process, measured in the same run
// with autocannon on loopback. Prints requests/s, p50 and p99 of each and the ratio edgeforge/bare.
//
//   npm run bench:gateway                              # 10 rounds: new processes, 5 s warm-up, 6 s each in 1 s slices
//   npm run bench:gateway -- --duration 3 --rounds 1   # a quick look
//   npm run bench:gateway -- --cpu-prof                # also profile the gateway child
//   npm run bench:gateway -- --protected               # also the hello behind auth: { scopes } (issue 11)
//   npm run bench:gateway -- --threads 0               # only the one-thread comparison
//
// Two comparisons in the same run: edgeforge with one handler thread against one bare process
// (pinned to one CPU: the per-request cost), and edgeforge with N handler threads against a bare
// node:http server in N reusePort threads (N = --threads, default the number of cores; nothing
// pinned, autocannon shares the cores). The goal (issues 2 and 10) is a throughput ratio of at
// least 0.90 in each. Non-2xx responses and errors must be 0: any makes the script exit 1.
// docs/performance.md explains how to read the output.
import { mkdtempSync, readdirSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon, { type Result } from 'autocannon'
import { SERVE_NODE_FLAGS } from '../packages/server/src/cli/node-flags.ts'
import { type Child, startChild } from './support/child.ts'
import { machineBusyMs, ownCpuMs, processCpuMs, waitForQuiet } from './support/cpu.ts'
import { intFlag } from './support/flags.ts'
import { CORES, deployHello, deployProtectedHello, pinSelf } from './support/gateway.ts'
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
    duration: { type: 'string', default: '6' },
    slice: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'quiet-wait': { type: 'string', default: '15' },
    'cpu-prof': { type: 'boolean', default: false },
    protected: { type: 'boolean', default: false },
    threads: { type: 'string', default: String(CORES) },
    pin: { type: 'boolean', default: true },
    help: { type: 'boolean', default: false },
  },
})

if (flags.help) {
  console.log(`npm run bench:gateway -- [options]

  --duration <s>      measured seconds per server and round (default 6)
  --slice <s>         the measured seconds are taken in slices of this length, alternating between
                      the two servers in ABBA order, so the machine's drift hits both alike
                      (default 1; --slice equal to --duration measures each server in one go)
  --rounds <n>        rounds, each on a new pair of server processes (default 10): one process
                      can run several per cent faster or slower than the next for its whole life
  --warmup <s>        seconds of warm-up load on each new server first (default 5; 0 skips it)
  --connections <n>   concurrent connections (default 50; pipelining is always 1)
  --quiet-wait <s>    before each round's warm-up and its measured slices, wait up to this long
                      for other processes to go quiet
                      (default 15; 0 does not wait); runs they disturbed are flagged either way
  --protected         also measure the same hello as an endpoint with auth: { scopes } on the same
                      edgeforge process, called with a client's bearer token, and print its ratio
                      to the public one (goal ≥ 0.90)
  --threads <n>       the multi-core comparison: edgeforge with n handler threads against bare
                      node:http in n reusePort threads, neither pinned (default: the number of
                      cores; 0 or 1 skips it)
  --cpu-prof          profile the first round's edgeforge child (node --cpu-prof) and print where
                      its time went
  --no-pin            do not pin the servers to CPU 0 and autocannon to CPU 1 (pinning needs
                      taskset and 2 CPUs)`)
  process.exit(0)
}

const durationS = intFlag('bench:gateway', 'duration', flags.duration, 1, 120)
const sliceS = intFlag('bench:gateway', 'slice', flags.slice, 1, durationS)
if (durationS % sliceS !== 0) {
  console.error(`bench:gateway: --duration ${durationS} is not a multiple of --slice ${sliceS}`)
  process.exit(2)
}
const slices = durationS / sliceS
const rounds = intFlag('bench:gateway', 'rounds', flags.rounds, 1, 30)
const warmupS = intFlag('bench:gateway', 'warmup', flags.warmup, 0, 60)
const connections = intFlag('bench:gateway', 'connections', flags.connections, 1, 500)
const quietWaitS = intFlag('bench:gateway', 'quiet-wait', flags['quiet-wait'], 0, 120)
const threads = intFlag('bench:gateway', 'threads', flags.threads, 0, 64)

/** One comparison: how many threads each server gets, and whether they are pinned to CPU 0. */
interface Phase {
  label: string
  threads: number
  pinnable: boolean
}
const PHASES: Phase[] = [
  {
    label: '1 thread: edgeforge with 1 handler thread vs 1 bare node:http process',
    threads: 1,
    pinnable: true,
  },
  ...(threads > 1
    ? [
        {
          label: `${threads} threads: edgeforge with ${threads} handler threads vs bare node:http in ${threads} reusePort threads`,
          threads,
          pinnable: false,
        },
      ]
    : []),
]

interface Target {
  name: 'edgeforge' | 'bare' | 'protected'
  url: string
  pid: number | undefined
  headers?: Record<string, string>
}

/** What one server did in one round (or its warm-up), summed over its slices. */
class Measured {
  requests = 0
  /** Seconds under load, as autocannon timed them. */
  seconds = 0
  non2xx = 0
  /** Connection errors and timeouts. */
  errors = 0
  readonly latency = new LatencyHistogram()
  /** CPU the server process used under load, ms; null where /proc is missing. */
  serverCpuMs: number | null = 0
  /** CPU this process (autocannon) used under load, ms. */
  loadCpuMs = 0
  /** CPU everything else on the machine used under load, ms; null where /proc is missing. */
  otherCpuMs: number | null = 0
}

interface Run {
  phase: Phase
  round: number
  target: Target['name']
  measured: Measured
}

// The whole run is bounded: past this the children are killed and the script fails.
// Per round: a quiet wait before the warm-up and one before the slices, up to 1 s of autocannon's
// start and finish per load, and 60 s (generous) to start a pair of servers and deploy.
const targetCount = (flags.protected ? 3 : 2) + (PHASES.length - 1) * 2
const loadsPerRound = targetCount * ((warmupS > 0 ? 1 : 0) + slices)
const budgetMs =
  rounds *
    (targetCount * (warmupS + durationS) + PHASES.length * (2 * quietWaitS + 60) + loadsPerRound) *
    1000 +
  60_000
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
  const how =
    slices === 1
      ? `${durationS} s each, alternating who goes first`
      : `${durationS} s each in ${slices} slices of ${sliceS} s, alternating in ABBA order`
  console.log(
    `\n${connections} connections, pipelining 1; ${rounds} round(s), each on new server processes: warm-up ${warmupS} s each, then ${how}\n`,
  )
  const runs: Run[] = []
  for (let round = 1; round <= rounds; round += 1)
    for (const phase of PHASES) {
      const first = round === 1 && phase === PHASES[0]
      const cpu = pinned && phase.pinnable ? 0 : undefined
      runs.push(...(await runRound(phase, round, cpu, first ? profileDir : undefined)))
    }
  for (const phase of PHASES)
    report(
      phase,
      runs.filter((run) => run.phase === phase),
    )

  if (profileDir) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, which serves
    // the gateway; the compiler's type-check worker writes a profile of its own.
    const file = readdirSync(profileDir).find((name) => /\.0\.\d+\.cpuprofile$/.test(name))
    if (file) printProfile(join(profileDir, file))
    else console.error(`no main-thread .cpuprofile was written to ${profileDir}`)
  }
  const failures = runs.reduce((sum, run) => sum + run.measured.non2xx + run.measured.errors, 0)
  if (failures > 0) {
    console.error(`\n${failures} non-2xx responses or errors: the comparison is void`)
    process.exitCode = 1
  }
}

/** One round of one comparison: new server processes, warm-up, then the measured slices. */
async function runRound(
  phase: Phase,
  round: number,
  cpu: number | undefined,
  profileDir: string | undefined,
): Promise<Run[]> {
  const targets = await startServers(phase, cpu, profileDir)
  if (warmupS > 0) {
    await waitQuiet(targets)
    const rates: string[] = []
    for (const target of targets) {
      const warm = new Measured()
      await measure(target, warmupS, warm)
      rates.push(`${target.name} ${fmtRate(rate(warm))} req/s`)
    }
    console.log(`round ${round} (${phase.threads} thread(s)) warm-up: ${rates.join(', ')}`)
  }
  // Short slices in ABBA order (A B, B A, A B, …; even rounds start with B): the machine's speed
  // drifts by tens of per cent over seconds on a shared VM, and alternating often makes that
  // drift fall on both servers alike instead of on whichever was measured second.
  const mine = new Map(targets.map((target) => [target.name, new Measured()]))
  await waitQuiet(targets)
  for (let slice = 0; slice < slices; slice += 1) {
    const order = (slice + round) % 2 === 1 ? targets : [...targets].reverse()
    for (const target of order) await measure(target, sliceS, mine.get(target.name)!)
  }
  await Promise.all(children.splice(0).map((child) => child.stop()))
  return targets.map((target) => ({ phase, round, target: target.name, measured: mine.get(target.name)! }))
}

/**
 * Starts an edgeforge server (with the hello handler deployed) and a bare node:http server, both
 * pinned to `cpu` when given, and checks they answer alike. Each round gets new processes: one
 * process of the same code can run several per cent faster or slower than the next for its whole
 * life (where the JIT and the memory layout happened to land), so measuring one pair of
 * processes would measure that luck; a new pair per round averages it out.
 */
async function startServers(
  phase: Phase,
  cpu: number | undefined,
  profileDir: string | undefined,
): Promise<Target[]> {
  const bareScript = phase.threads === 1 ? './servers/bare-http.ts' : './servers/bare-http-threads.ts'
  const [gateway, bare] = await Promise.all([
    startChild('edgeforge', new URL('./servers/edgeforge.ts', import.meta.url).pathname, {
      execArgv: [...SERVE_NODE_FLAGS, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
      args: [String(phase.threads)],
      cpu,
    }),
    startChild('bare node:http', new URL(bareScript, import.meta.url).pathname, {
      args: [String(phase.threads)],
      cpu,
    }),
  ])
  children.push(gateway, bare)
  const targets: Target[] = [
    { name: 'edgeforge', url: await deployHello(gateway), pid: gateway.process.pid },
    { name: 'bare', url: bare.info.url, pid: bare.process.pid },
  ]
  if (flags.protected && phase.threads === 1) {
    const guarded = await deployProtectedHello(gateway)
    targets.push({
      name: 'protected',
      url: guarded.url,
      pid: gateway.process.pid,
      headers: { authorization: guarded.authorization },
    })
  }
  await checkSameAnswer(targets)
  return targets
}

/** Both servers must answer the same status and body, with the same header names. */
async function checkSameAnswer(targets: Target[]): Promise<void> {
  const answers = await Promise.all(
    targets.map(async (target) => {
      const response = await fetch(target.url, {
        headers: target.headers,
        signal: AbortSignal.timeout(10_000),
      })
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

/** Before a series of loads: wait (up to --quiet-wait) for the rest of the machine to go quiet. */
async function waitQuiet(all: Target[]): Promise<void> {
  if (quietWaitS === 0) return
  const pids = all.map((t) => t.pid)
  const quiet = await waitForQuiet({ pids, threshold: QUIET, maxWaitMs: quietWaitS * 1000 })
  if (quiet.otherShare !== null && quiet.otherShare >= QUIET) {
    console.log(
      `  (other processes still use ${fmtShare(quiet.otherShare)} of a core after ${Math.round(quiet.waitedMs / 1000)} s; measuring anyway)`,
    )
  }
}

/** One autocannon load of `seconds` against `target`, added to `into` with the CPU each side used. */
async function measure(target: Target, seconds: number, into: Measured): Promise<void> {
  const serverBefore = processCpuMs(target.pid)
  const loadBefore = ownCpuMs()
  const machineBefore = machineBusyMs()
  const result = await new Promise<Result>((resolve, reject) => {
    const options = {
      url: target.url,
      headers: target.headers,
      connections,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
    }
    autocannon(options, (error, done) => (error ? reject(error) : resolve(done))).on(
      'response',
      (_client, _status, _bytes, ms) => into.latency.record(ms),
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
  into.requests += result.requests.total
  into.seconds += result.duration
  into.non2xx += result.non2xx
  into.errors += result.errors + result.timeouts
  into.loadCpuMs += loadCpuMs
  into.serverCpuMs = into.serverCpuMs === null || serverCpuMs === null ? null : into.serverCpuMs + serverCpuMs
  into.otherCpuMs = into.otherCpuMs === null || otherCpuMs === null ? null : into.otherCpuMs + otherCpuMs
}

/** Completed requests per second under load (autocannon's average is of 1 s samples). */
function rate(measured: Measured): number {
  return measured.requests / measured.seconds
}

function cpuPerRequestUs(measured: Measured): number | null {
  return measured.serverCpuMs === null ? null : (measured.serverCpuMs * 1000) / measured.requests
}

function disturbed(measured: Measured): boolean {
  return measured.otherCpuMs !== null && measured.otherCpuMs / (measured.seconds * 1000) >= QUIET
}

function report(phase: Phase, runs: Run[]): void {
  console.log(`\n=== ${phase.label}${phase.pinnable ? '' : ' (not pinned)'}`)
  const share = (ms: number | null, run: Run) =>
    ms === null ? '-' : fmtShare(ms / (run.measured.seconds * 1000))
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
    runs.map((run) => {
      const m = run.measured
      return [
        String(run.round),
        run.target,
        fmtRate(rate(m)),
        fmtMs(m.latency.percentile(50)),
        fmtMs(m.latency.percentile(99)),
        fmtMs(m.latency.maxMs),
        String(m.requests),
        String(m.non2xx),
        String(m.errors),
        share(m.serverCpuMs, run),
        cpuPerRequestUs(m)?.toFixed(1) ?? '-',
        share(m.loadCpuMs, run),
        share(m.otherCpuMs, run),
        disturbed(m) ? 'disturbed' : '',
      ]
    }),
    TEXT_COLUMNS,
  )

  const summary = (name: Target['name']) => {
    const mine = runs.filter((run) => run.target === name).map((run) => run.measured)
    const requests = mine.reduce((sum, m) => sum + m.requests, 0)
    const seconds = mine.reduce((sum, m) => sum + m.seconds, 0)
    const cpu = mine.map(cpuPerRequestUs)
    return {
      name,
      rate: requests / seconds,
      p50: median(mine.map((m) => m.latency.percentile(50))),
      p99: median(mine.map((m) => m.latency.percentile(99))),
      cpuUs: cpu.includes(null) ? null : median(cpu as number[]),
      non2xx: mine.reduce((sum, m) => sum + m.non2xx, 0),
      errors: mine.reduce((sum, m) => sum + m.errors, 0),
    }
  }
  const edgeforge = summary('edgeforge')
  const bare = summary('bare')
  const guarded = flags.protected && phase.threads === 1 ? summary('protected') : undefined
  console.log('\nsummary (req/s over all rounds; the other columns are the median of the rounds)')
  printTable(
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'non-2xx', 'errors'],
    [edgeforge, bare, ...(guarded ? [guarded] : [])].map((s) => [
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
  const roundRatio = (top: Target['name'], bottom: Target['name']) =>
    [...new Set(runs.map((run) => run.round))].map((round) => {
      const of = (name: Target['name']) =>
        runs.find((run) => run.round === round && run.target === name)!.measured
      return (rate(of(top)) / rate(of(bottom))).toFixed(3)
    })
  const perRound = roundRatio('edgeforge', 'bare')
  const verdict = ratio >= GOAL ? 'met' : 'NOT met'
  console.log(
    `\nthroughput ratio edgeforge/bare: ${ratio.toFixed(3)}× (goal ≥ ${GOAL.toFixed(2)}×: ${verdict}); per round: ${perRound.join(', ')}`,
  )
  if (guarded) {
    const protectedRatio = guarded.rate / edgeforge.rate
    console.log(
      `throughput ratio protected/public edgeforge: ${protectedRatio.toFixed(3)}× (goal ≥ ${GOAL.toFixed(2)}×: ${protectedRatio >= GOAL ? 'met' : 'NOT met'}); per round: ${roundRatio('protected', 'edgeforge').join(', ')}`,
    )
  }
  console.log(
    `p99 latency: edgeforge ${fmtMs(edgeforge.p99)} ms, bare ${fmtMs(bare.p99)} ms (${(edgeforge.p99 / bare.p99).toFixed(2)}×)`,
  )
  if (edgeforge.cpuUs !== null && bare.cpuUs !== null) {
    console.log(
      `CPU per request: edgeforge ${edgeforge.cpuUs.toFixed(1)} µs, bare ${bare.cpuUs.toFixed(1)} µs (bare/edgeforge ${(bare.cpuUs / edgeforge.cpuUs).toFixed(3)}×)`,
    )
  }
  const noisy = runs.filter((run) => disturbed(run.measured)).length
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
