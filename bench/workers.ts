// The remote-worker benchmark, all on loopback and one SQLite store, in the same run:
//   1. end-to-end no-op jobs per second drained by the in-process runner, then by one remote agent
//      (a real edgeforge-worker process) with the same concurrency, from the same store;
//   2. log lines per second streamed from one job on the agent to a client following the log with
//      GET /jobs/{id}/log, then the same followed as an event stream (SSE on
//      GET /queue/{name}/events, then a WebSocket subscriber of GET /events: lines/s, events/s
//      and this process's CPU per event) (goal ≥ 50,000 lines/s for each);
//   5. event-stream delivery on its own: --events (default 20,000) small stored events read from a
//      cursor by one subscriber process of GET /events, over SSE and over a WebSocket: events/s,
//      and CPU per event of the server (this process) and of the subscriber, apart;
//   3. artifact upload MB/s: one file of --artifact-mb (default 1024) streamed with
//      PUT /jobs/{id}/artifacts/{name} into the data dir's blob store, against a plain streamed
//      file copy of the same file on the same disk (read, write, fsync), in the same run.
// docs/performance.md records runs.
//
//   npm run bench:workers                       # 5,000 jobs, concurrency 64, 100,000 log lines, 1 GB
//   npm run bench:workers -- --jobs 1000 --lines 20000 --artifact-mb 256 --events 5000
import { type ChildProcess, spawn } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { loadConfig } from '../packages/server/src/config.ts'
import { type RunningServer, startServer } from '../packages/server/src/main.ts'
import { createLogger } from '../packages/server/src/observability/logger.ts'
import { ownCpuMs, processRunMs } from './support/cpu.ts'
import { intFlag } from './support/flags.ts'
import { sseEvents } from './support/sse.ts'

const GOAL_RATIO = 0.5
const GOAL_LINES_PER_S = 50_000
const AGENT = join(import.meta.dirname, '..', 'packages', 'worker', 'src', 'cli.ts')
const SUBSCRIBER = join(import.meta.dirname, 'support', 'event-subscriber.ts')

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    lines: { type: 'string', default: '100000' },
    'artifact-mb': { type: 'string', default: '1024' },
    events: { type: 'string', default: '20000' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(
    'npm run bench:workers -- [--jobs 5000] [--concurrency 64] [--lines 100000] [--artifact-mb 1024] [--events 20000]',
  )
  process.exit(0)
}
const JOBS = intFlag('bench:workers', 'jobs', flags.jobs, 100, 1_000_000)
const CONCURRENCY = intFlag('bench:workers', 'concurrency', flags.concurrency, 1, 1000)
const LINES = intFlag('bench:workers', 'lines', flags.lines, 1000, 10_000_000)
const ARTIFACT_MB = intFlag('bench:workers', 'artifact-mb', flags['artifact-mb'], 1, 16_384)
const EVENTS = intFlag('bench:workers', 'events', flags.events, 1000, 1_000_000)

const NOOP = `import { job } from '@edgeforge/sdk'
export default job(async () => null)
`
const CHATTY = `import { job } from '@edgeforge/sdk'
export default job<{ lines: number }>(async (payload, ctx) => {
  for (let i = 0; i < payload.lines; i++) {
    ctx.log('line', i)
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve))
  }
  return null
})
`

const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-bench-workers-'))
const children: ChildProcess[] = []
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

async function boot(jobConcurrency: number): Promise<RunningServer> {
  const config = loadConfig(
    {},
    {
      'data-dir': dataDir,
      'gateway-host': '127.0.0.1',
      'gateway-port': '0',
      'control-port': '0',
      'log-level': 'silent',
      'warm-compiler': 'false',
      'job-concurrency': String(jobConcurrency),
    },
  )
  return startServer(config, createLogger(config.logLevel))
}

async function api<T>(server: RunningServer, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(server.controlUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await response.json()) as { ok: boolean; data: T; error?: { message: string } }
  if (!json.ok) throw new Error(`${method} ${path}: ${json.error?.message}`)
  return json.data
}

async function deploy(server: RunningServer, name: string, queue: string, code: string): Promise<void> {
  const created = await api<{ id: string }>(server, 'POST', '/api/endpoints', {
    name,
    kind: 'job',
    queue,
    code,
  })
  await api(server, 'POST', `/api/endpoints/${created.id}/deploy`)
}

async function succeeded(server: RunningServer, queue: string): Promise<number> {
  const overview = await api<Array<{ queue: string; counts: Record<string, number> }>>(
    server,
    'GET',
    '/queue/overview',
  )
  return overview.find((entry) => entry.queue === queue)?.counts.succeeded ?? 0
}

interface Drained {
  jobsPerSecond: number
  /** CPU of this process (the server, its job threads, and the bench's client calls) per job, µs. */
  serverMicros: number
  /** CPU of the agent process per job, µs (0 without one). */
  agentMicros: number
}

/**
 * Enqueues `JOBS` no-op jobs in batches, then times until the store records them all done; CPU
 * per job of this process and of the agent (from /proc) over the same window.
 */
async function drain(server: RunningServer, queue: string, agentPid?: number): Promise<Drained> {
  const before = await succeeded(server, queue)
  const started = performance.now()
  const cpuAt = ownCpuMs()
  const agentAt = agentPid === undefined ? null : processRunMs(agentPid)
  for (let sent = 0; sent < JOBS; sent += 1000) {
    const jobs = Array.from({ length: Math.min(1000, JOBS - sent) }, () => ({ queue, payload: null }))
    await api(server, 'POST', '/jobs', { jobs })
  }
  while ((await succeeded(server, queue)) - before < JOBS)
    await new Promise((resolve) => setTimeout(resolve, 20))
  const seconds = (performance.now() - started) / 1000
  const agentMs =
    agentPid === undefined || agentAt === null ? 0 : (processRunMs(agentPid) ?? agentAt) - agentAt
  return {
    jobsPerSecond: JOBS / seconds,
    serverMicros: ((ownCpuMs() - cpuAt) * 1000) / JOBS,
    agentMicros: (agentMs * 1000) / JOBS,
  }
}

function spawnAgent(server: RunningServer, queue: string, concurrency: number): number | undefined {
  const child = spawn(
    process.execPath,
    [
      AGENT,
      '--url',
      server.controlUrl,
      '--queue',
      queue,
      '--concurrency',
      String(concurrency),
      '--cache-dir',
      join(dataDir, 'agent-cache'),
    ],
    { stdio: 'ignore' },
  )
  children.push(child)
  return child.pid
}

async function waitForWorker(server: RunningServer): Promise<void> {
  while ((await api<unknown[]>(server, 'GET', '/workers')).length === 0)
    await new Promise((resolve) => setTimeout(resolve, 50))
}

// 1. in-process, then remote, same store and queue.
const local = await boot(CONCURRENCY)
await deploy(local, 'noop', 'noop', NOOP)
await deploy(local, 'chatty', 'chatty', CHATTY)
await drain(local, 'noop') // warm-up: compile cache, SQLite pages, JIT
const inProcessRun = await drain(local, 'noop')
const inProcess = inProcessRun.jobsPerSecond
await local.close()

const remote = await boot(0)
const noopAgent = spawnAgent(remote, 'noop', CONCURRENCY)
await waitForWorker(remote)
await drain(remote, 'noop', noopAgent)
const viaAgentRun = await drain(remote, 'noop', noopAgent)
const viaAgent = viaAgentRun.jobsPerSecond

// 2. log lines of one remote job, read by a follower as they are stored.
spawnAgent(remote, 'chatty', 1)
while ((await api<unknown[]>(remote, 'GET', '/workers')).length < 2)
  await new Promise((resolve) => setTimeout(resolve, 50))
const { job } = await api<{ job: { id: string } }>(remote, 'POST', '/jobs', {
  queue: 'chatty',
  payload: { lines: LINES },
})
let start = 0
let firstAt = 0
while (start < LINES) {
  const page = await api<{ lines: unknown[]; next_start: number }>(
    remote,
    'GET',
    `/jobs/${job.id}/log?start=${start}&limit=10000`,
  )
  if (page.lines.length > 0 && firstAt === 0) firstAt = performance.now()
  start = page.next_start
  if (page.lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
}
const linesPerSecond = LINES / ((performance.now() - firstAt) / 1000)

// 3. artifact upload against a plain file copy, of one file, on the data dir's disk.
const source = join(dataDir, 'artifact-source.bin')
{
  const block = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 17) & 0xff
  let left = ARTIFACT_MB
  await pipeline(
    new Readable({
      read() {
        this.push(left-- > 0 ? block : null)
      },
    }),
    createWriteStream(source),
  )
}
const copyStarted = performance.now()
const copyTarget = join(dataDir, 'artifact-copy.bin')
await pipeline(createReadStream(source), createWriteStream(copyTarget))
const copied = await open(copyTarget, 'r+')
await copied.sync()
await copied.close()
const copySeconds = (performance.now() - copyStarted) / 1000
rmSync(copyTarget)
const { job: artifactJob } = await api<{ job: { id: string } }>(remote, 'POST', '/jobs', {
  queue: 'artifacts',
  payload: {},
})
const uploadStarted = performance.now()
const uploaded = await fetch(`${remote.controlUrl}/jobs/${artifactJob.id}/artifacts/bench.bin`, {
  method: 'PUT',
  headers: { 'content-type': 'application/octet-stream' },
  body: Readable.toWeb(createReadStream(source)) as ReadableStream,
  duplex: 'half',
} as RequestInit)
const uploadSeconds = (performance.now() - uploadStarted) / 1000
if (uploaded.status !== 201)
  throw new Error(`artifact upload answered ${uploaded.status}: ${await uploaded.text()}`)
await uploaded.body?.cancel()
const uploadMbps = ARTIFACT_MB / uploadSeconds
const copyMbps = ARTIFACT_MB / copySeconds
// 4. the log lines of 2, followed as an event stream: the queue's SSE stream opened before the job is
// enqueued, its `log` events counted line by line as they arrive; then a WebSocket subscriber of
// GET /events. Both count from the first log event to the last line.
interface Followed {
  events: number
  seconds: number
}

async function followSse(): Promise<Followed> {
  const stream = await fetch(`${remote.controlUrl}/queue/chatty/events`, {
    headers: { accept: 'text/event-stream' },
  })
  if (!stream.body) throw new Error('the event stream did not open')
  await api(remote, 'POST', '/jobs', { queue: 'chatty', payload: { lines: LINES } })
  let streamed = 0
  let events = 0
  let firstAt = 0
  for await (const event of sseEvents<{ type: string; data: { lines?: unknown[] } }>(stream.body)) {
    if (event.type !== 'log' && firstAt === 0) continue
    if (firstAt === 0) firstAt = performance.now()
    events += 1
    streamed += event.data.lines?.length ?? 0
    if (streamed >= LINES) break
  }
  const seconds = (performance.now() - firstAt) / 1000
  await stream.body.cancel().catch(() => {})
  return { events, seconds }
}

async function followWebSocket(): Promise<Followed> {
  const socket = new WebSocket(`${remote.controlUrl.replace(/^http/, 'ws')}/events`)
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  let streamed = 0
  let events = 0
  let firstAt = 0
  const done = new Promise<Followed>((resolve) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as {
        type: string
        event?: { type: string; data: { lines?: unknown[] } }
      }
      if (frame.type !== 'event' || !frame.event) return
      if (frame.event.type !== 'log' && firstAt === 0) return
      if (firstAt === 0) firstAt = performance.now()
      events += 1
      streamed += frame.event.data.lines?.length ?? 0
      if (streamed >= LINES) resolve({ events, seconds: (performance.now() - firstAt) / 1000 })
    })
  })
  await api(remote, 'POST', '/jobs', { queue: 'chatty', payload: { lines: LINES } })
  const followed = await done
  socket.close()
  return followed
}

const sse = await followSse()
const ws = await followWebSocket()
const streamedPerSecond = LINES / sse.seconds
const wsLinesPerSecond = LINES / ws.seconds

// 5. the stream's own cost: EVENTS small events (enqueues into a queue nobody works) already in
// the store, read from a cursor taken before them by one subscriber of GET /events, over SSE and
// over a WebSocket: the feed reading the store, the fan-out, the framing, the subscriber parsing.
const headCursor = async () =>
  Number(
    (await remote.jobs.engine.db.get<{ id: number | null }>('SELECT max(id) AS id FROM events'))?.id ?? 0,
  )
const replayFrom = await headCursor()
for (let sent = 0; sent < EVENTS; sent += 1000) {
  const jobs = Array.from({ length: Math.min(1000, EVENTS - sent) }, () => ({
    queue: 'quiet',
    payload: null,
  }))
  await api(remote, 'POST', '/jobs', { jobs })
}
while ((await headCursor()) < replayFrom + EVENTS) await new Promise((resolve) => setTimeout(resolve, 20))

interface Replayed {
  events: number
  seconds: number
  /** The subscriber's process. */
  subscriberMicros: number
  /** This process: the server. */
  serverMicros: number
}

/** One subscriber process reads the EVENTS stored events from `replayFrom` over `mode`. */
async function replay(mode: 'sse' | 'ws'): Promise<Replayed> {
  const cpuAt = process.cpuUsage()
  const child = spawn(
    process.execPath,
    [SUBSCRIBER, mode, `${remote.controlUrl}/events?cursor=${replayFrom}`, String(EVENTS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  children.push(child)
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const cpu = process.cpuUsage(cpuAt)
  if (code !== 0) throw new Error(`the ${mode} subscriber exited with ${code}: ${out}`)
  const result = JSON.parse(out) as { events: number; seconds: number; cpuMicros: number }
  return {
    events: result.events,
    seconds: result.seconds,
    subscriberMicros: result.cpuMicros,
    serverMicros: cpu.user + cpu.system,
  }
}

await replay('sse') // warm-up: the feed's statements, the stream routes, JIT
await replay('ws')
const replayedSse = await replay('sse')
const replayedWs = await replay('ws')
await remote.close()

const ratio = viaAgent / inProcess
console.log(`jobs: ${JOBS} no-op, concurrency ${CONCURRENCY}, SQLite, loopback`)
console.log(
  `  in-process runner      ${inProcess.toFixed(0)} jobs/s; CPU/job ${inProcessRun.serverMicros.toFixed(1)} µs (this process: server, job threads, bench client)`,
)
console.log(
  `  one remote agent       ${viaAgent.toFixed(0)} jobs/s; CPU/job ${(viaAgentRun.serverMicros + viaAgentRun.agentMicros).toFixed(1)} µs (server ${viaAgentRun.serverMicros.toFixed(1)} + agent ${viaAgentRun.agentMicros.toFixed(1)})`,
)
console.log(
  `  ratio                  ${ratio.toFixed(3)}x (goal ≥ ${GOAL_RATIO}x: ${ratio >= GOAL_RATIO ? 'met' : 'NOT met'})`,
)
console.log(`log: ${LINES} lines from one remote job to a following client`)
console.log(
  `  ${linesPerSecond.toFixed(0)} lines/s (goal ≥ ${GOAL_LINES_PER_S}: ${linesPerSecond >= GOAL_LINES_PER_S ? 'met' : 'NOT met'})`,
)
console.log(`artifacts: one ${ARTIFACT_MB} MB file on the data dir's disk`)
console.log(`  plain file copy        ${copyMbps.toFixed(0)} MB/s (stream, fsync)`)
console.log(`  artifact upload        ${uploadMbps.toFixed(0)} MB/s (PUT over loopback, SHA-256, fsync)`)
console.log(`  ratio                  ${(uploadMbps / copyMbps).toFixed(3)}x`)
// These events are the log chunks of a busy job (about a thousand lines each), so this process's
// CPU in the window is mostly the server storing the lines, not the stream: section 5 isolates it.
const perEvent = (followed: Followed) =>
  `${(followed.events / followed.seconds).toFixed(0)} events/s (${followed.events} events)`
console.log(`events: the same ${LINES} lines followed as an event stream, one chatty job each`)
console.log(
  `  SSE, GET /queue/{name}/events   ${streamedPerSecond.toFixed(0)} lines/s (goal ≥ ${GOAL_LINES_PER_S}: ${streamedPerSecond >= GOAL_LINES_PER_S ? 'met' : 'NOT met'}); ${perEvent(sse)}`,
)
console.log(
  `  WebSocket, GET /events          ${wsLinesPerSecond.toFixed(0)} lines/s (goal ≥ ${GOAL_LINES_PER_S}: ${wsLinesPerSecond >= GOAL_LINES_PER_S ? 'met' : 'NOT met'}); ${perEvent(ws)}`,
)
console.log(
  `event stream: ${EVENTS} stored enqueue events read from a cursor by one subscriber of GET /events`,
)
const perReplayed = (replayed: Replayed) =>
  `${(replayed.events / replayed.seconds).toFixed(0)} events/s; CPU/event: server ${(replayed.serverMicros / replayed.events).toFixed(1)} µs, subscriber ${(replayed.subscriberMicros / replayed.events).toFixed(1)} µs`
console.log(`  SSE        ${perReplayed(replayedSse)}`)
console.log(`  WebSocket  ${perReplayed(replayedWs)}`)
process.exit(0)
