/**
 * A job thread: in-process job handlers run here, never on the main thread. The pool on the main
 * thread keeps claiming and finishing jobs (leases, owner guard, heartbeats); it sends this thread
 * the versions to load and the jobs to run, and may terminate it at any moment. Everything a job's
 * ctx does that needs the main thread (its log and progress, ctx.jobs, services) crosses the one
 * port, batched per turn of the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { JobInputQueue } from '@edgeforge/protocol'
import type {
  CacheClient,
  DatabaseClient,
  EmailClient,
  EnqueuedJob,
  FilesClient,
  JobArtifacts,
  JobContext,
  JobFunction,
  JobsClient,
  RecordsClient,
  StorageClient,
} from '@edgeforge/sdk'
import { instantiateVersion } from '../../deploy/version.ts'
import { type HandlerVersion, requestScope } from '../../gateway/index.ts'
import { type EndpointLogs, formatLogLine } from '../../observability/endpoint-logs.ts'
import type { ServiceCaller } from '../../services/caller.ts'
import { BoundServices } from '../../services/clients.ts'
import { LivenessWriter } from '../../threads/liveness.ts'
import { callChannel, describeServiceError } from '../../threads/wire.ts'
import { isUnrecoverable, withoutServerFrames } from '../errors.ts'
import { JobAbortError } from './runner.ts'
import { type ArtifactAccess, threadArtifacts } from './thread-artifacts.ts'
import type {
  AbortCause,
  FromThread,
  JobArtifact,
  JobFailure,
  JobThreadInit,
  ToThread,
} from './thread-protocol.ts'

const HEARTBEAT_MS = 50

const init = workerData as JobThreadInit
const port = parentPort!

// Everything this turn produced leaves in one message.
let outbox: FromThread[] = []
let flushScheduled = false
function flush(): void {
  flushScheduled = false
  if (outbox.length === 0) return
  const batch = outbox
  outbox = []
  try {
    port.postMessage(batch)
  } catch {
    // One item that cannot be cloned (a job's result or log argument): send them one by one.
    for (const event of batch) postOne(event)
  }
}
function postOne(event: FromThread): void {
  try {
    port.postMessage([event])
  } catch (error) {
    if (event.type === 'done' && event.ok)
      // What the store would keep of it anyway: its JSON.
      port.postMessage([{ ...event, value: jsonCopy(event.value) }])
    else serverLog('error', { err: error }, `a ${event.type} message could not be sent to the main thread`)
  }
}
function jsonCopy(value: unknown): unknown {
  const text = JSON.stringify(value)
  return text === undefined ? null : JSON.parse(text)
}
function send(event: FromThread): void {
  outbox.push(event)
  if (flushScheduled) return
  flushScheduled = true
  setImmediate(flush)
}
/**
 * Log lines leave at once (with what was queued before them, in order): a handler that logs and
 * then spins never lets this thread reach the turn's flush, and its last line is the one to keep.
 */
function sendNow(event: FromThread): void {
  outbox.push(event)
  flush()
}

function serverLog(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
  const err = fields.err
  const plain = err instanceof Error ? { ...fields, err: { message: err.message, stack: err.stack } } : fields
  sendNow({ type: 'server-log', level, fields: { jobThread: init.index, ...plain }, message })
}

// A handler's stray promise or throw in a timer must not end the thread (and every job on it).
process.on('unhandledRejection', (reason) =>
  serverLog('warn', { err: reason }, 'a job handler left a promise rejection unhandled'),
)
process.on('uncaughtException', (error) =>
  serverLog('error', { err: error }, 'a job handler threw outside a job'),
)

const { call: callMain, settle } = callChannel(send)
const serviceCaller: ServiceCaller = {
  call: (target, op, args) => callMain('services.call', [target, op, args]),
}
const artifactAccess = (jobId: string) => callMain('artifacts.access', [jobId]) as Promise<ArtifactAccess>
const jobsClient: JobsClient = {
  enqueue: (queue, payload, options) =>
    callMain('jobs.enqueue', [queue, payload, options ?? {}]) as Promise<EnqueuedJob>,
}

interface Loaded {
  version: HandlerVersion<JobFunction>
  slot: number
}
const versions = new Map<number, Loaded>()
const endpointLogs: Pick<EndpointLogs, 'append'> = {
  append: (endpointId, entry) => sendNow({ type: 'endpoint-log', endpointId, entry }),
}

function load(artifact: JobArtifact): HandlerVersion<JobFunction> {
  return instantiateVersion(
    { id: artifact.endpointId, name: artifact.endpointName, kind: 'job' },
    artifact.version,
    artifact.bundle,
    artifact.sourceMap,
    endpointLogs,
  ) as HandlerVersion<JobFunction>
}

function install(key: number, slot: number, artifact: JobArtifact): void {
  let version: HandlerVersion<JobFunction>
  try {
    version = load(artifact)
  } catch (error) {
    // Its jobs fail with this when they arrive (a version that loaded at deploy and not here now).
    failedLoads.set(key, error instanceof Error ? error.message : String(error))
    return
  }
  const { endpointId, version: versionNumber } = artifact
  version.env = Object.freeze({ ...artifact.env })
  version.services = new BoundServices(serviceCaller, artifact.bindings, (target, op, error, requestId) =>
    send({
      type: 'endpoint-log',
      endpointId,
      entry: {
        time: Date.now(),
        level: 'error',
        requestId: requestId ?? null,
        version: versionNumber,
        message: `service ${target.service} (ctx.${target.family}("${target.binding}")) ${op} failed: ${describeServiceError(error)}`,
      },
    }),
  )
  versions.set(key, { version, slot })
}
const failedLoads = new Map<number, string>()

/** One job running here: what the pool may still tell it (abort, input). */
class Run {
  readonly id: number
  controller: AbortController | null = null
  cause: AbortCause | null = null
  input: JobInputQueue | null = null

  constructor(id: number) {
    this.id = id
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.cause) this.controller.abort(new JobAbortError(this.cause))
    }
    return this.controller.signal
  }

  /** Made when the handler first reads `ctx.input`, which asks the pool for the job's messages. */
  get inputQueue(): JobInputQueue {
    if (!this.input) {
      this.input = new JobInputQueue()
      send({ type: 'input-wanted', run: this.id })
    }
    return this.input
  }

  abort(cause: AbortCause): void {
    if (this.cause) return
    this.cause = cause
    this.controller?.abort(new JobAbortError(cause))
  }
}
const runs = new Map<number, Run>()

/** A job's ctx: one object per job, its methods on the prototype. */
class ThreadJobContext implements JobContext {
  readonly jobId: string
  readonly queue: string
  readonly attempt: number
  readonly jobs = jobsClient
  private readonly run: Run
  private readonly version: HandlerVersion<JobFunction>

  constructor(run: Run, version: HandlerVersion<JobFunction>, command: Extract<ToThread, { type: 'run' }>) {
    this.run = run
    this.version = version
    this.jobId = command.jobId
    this.queue = command.queue
    this.attempt = command.attempt
  }

  get signal(): AbortSignal {
    return this.run.signal
  }

  get env(): Readonly<Record<string, string>> {
    return this.version.env
  }

  get input(): JobInputQueue {
    return this.run.inputQueue
  }

  get artifacts(): JobArtifacts {
    return threadArtifacts(this.jobId, artifactAccess)
  }

  log(...args: unknown[]): void {
    sendNow({ type: 'log', run: this.run.id, line: formatLogLine(args) })
  }

  progress(fraction: number): void {
    send({ type: 'progress', run: this.run.id, fraction })
  }

  database(name: string): DatabaseClient {
    return this.version.services!.database(name, this.jobId)
  }
  cache(name: string): CacheClient {
    return this.version.services!.cache(name, this.jobId)
  }
  storage(name: string): StorageClient {
    return this.version.services!.storage(name, this.jobId)
  }
  files(name: string): FilesClient {
    return this.version.services!.files(name, this.jobId)
  }
  email(name: string): EmailClient {
    return this.version.services!.email(name, this.jobId)
  }
  records(name: string, collection: string): RecordsClient {
    return this.version.services!.records(name, collection, this.jobId)
  }
}

const liveness = new LivenessWriter(init.liveness)
/** A call into handler code has no deadline of its own: only the watchdog's stall limit applies. */
const NO_DEADLINE = Number.MAX_VALUE

function start(command: Extract<ToThread, { type: 'run' }>): void {
  const run = new Run(command.run)
  runs.set(command.run, run)
  const loaded = versions.get(command.key)
  if (!loaded) {
    const why = failedLoads.get(command.key) ?? 'the version is not loaded in this job thread'
    finish(run, false, new Error(`the job handler could not be loaded: ${why}`), undefined)
    return
  }
  const { version, slot } = loaded
  const ctx = new ThreadJobContext(run, version, command)
  let result: unknown
  // While handler code runs synchronously, the watchdog can name its endpoint if it never returns.
  liveness.enter(NO_DEADLINE, slot)
  try {
    result = version.usesConsole
      ? requestScope.run({ requestId: command.jobId, version }, version.fn, command.payload, ctx)
      : version.fn(command.payload, ctx)
  } catch (error) {
    liveness.exit()
    finish(run, false, error, version)
    return
  }
  liveness.exit()
  Promise.resolve(result).then(
    (value) => finish(run, true, value, version),
    (error: unknown) => finish(run, false, error, version),
  )
}

function finish(
  run: Run,
  ok: boolean,
  value: unknown,
  version: HandlerVersion<JobFunction> | undefined,
): void {
  runs.delete(run.id)
  run.input?.close()
  if (ok) send({ type: 'done', run: run.id, ok: true, value })
  else send({ type: 'done', run: run.id, ok: false, failure: describeFailure(value, version) })
}

function describeFailure(error: unknown, version: HandlerVersion<JobFunction> | undefined): JobFailure {
  const unrecoverable = isUnrecoverable(error)
  if (error instanceof Error) {
    const raw = error.stack ?? `${error.name}: ${error.message}`
    return {
      name: error.name,
      message: error.message,
      stack: withoutServerFrames(version ? version.mapStack(raw) : raw),
      unrecoverable,
    }
  }
  const text = typeof error === 'string' ? error : safeJson(error)
  return { name: 'Error', message: text, stack: text, unrecoverable }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function handle(command: ToThread): void {
  switch (command.type) {
    case 'load':
      install(command.key, command.slot, command.artifact)
      return
    case 'unload':
      versions.delete(command.key)
      failedLoads.delete(command.key)
      return
    case 'validate': {
      let error: string | undefined
      try {
        load(command.artifact)
      } catch (thrown) {
        error = thrown instanceof Error ? thrown.message : String(thrown)
      }
      send({ type: 'validated', id: command.id, error })
      return
    }
    case 'run':
      start(command)
      return
    case 'abort':
      runs.get(command.run)?.abort(command.cause)
      return
    case 'input': {
      const run = runs.get(command.run)
      run?.inputQueue.push(command.message)
      return
    }
    case 'results':
      settle(command)
      return
  }
}

port.on('message', (batch: ToThread[]) => {
  for (const command of batch) handle(command)
})

setInterval(() => liveness.beat(0, 0), HEARTBEAT_MS)
liveness.beat(0, 0)
send({ type: 'ready' })
