/**
 * A handler thread: the whole data plane (listener, router snapshot, registry, dispatcher, SDK)
 * runs here, and so does every HTTP handler. The supervisor on the main thread sends it versions
 * to serve and may terminate it at any moment; it holds nothing that is not also in the
 * supervisor's bookkeeping, so a replacement starts from `workerData.endpoints`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { EnqueuedJob, HandlerFunction, JobsClient } from '@edgeforge/sdk'
import { instantiateVersion } from '../deploy/version.ts'
import {
  Dispatcher,
  GatewayListener,
  HandlerRegistry,
  type HandlerVersion,
  RouterSnapshot,
} from '../gateway/index.ts'
import { EndpointSeries } from '../observability/series.ts'
import type { ServiceCaller } from '../services/caller.ts'
import { BoundServices } from '../services/clients.ts'
import { type PrincipalAnswer, ThreadAuthCache } from './auth-cache.ts'
import { LivenessWriter } from './liveness.ts'
import type { Command, Event, ServedEndpoint, ThreadInit, ThreadStats, VersionArtifact } from './protocol.ts'
import { callChannel, describeServiceError } from './wire.ts'

const HEARTBEAT_MS = 50

const init = workerData as ThreadInit
const port = parentPort!
const send = (event: Event) => port.postMessage(event)

// A handler's stray promise or throw in a timer must not end the thread (and every request on it).
process.on('unhandledRejection', (reason) =>
  serverLog('warn', { err: reason }, 'a handler left a promise rejection unhandled'),
)
process.on('uncaughtException', (error) =>
  serverLog('error', { err: error }, 'a handler threw outside a request'),
)

function serverLog(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
  const err = fields.err
  const plain = err instanceof Error ? { ...fields, err: { message: err.message, stack: err.stack } } : fields
  try {
    send({ type: 'server-log', level, fields: { thread: init.index, ...plain }, message })
  } catch {
    send({ type: 'server-log', level, fields: { thread: init.index }, message })
  }
}

const logger = {
  warn: (fields: object, message: string) => serverLog('warn', fields as Record<string, unknown>, message),
  error: (fields: object, message: string) => serverLog('error', fields as Record<string, unknown>, message),
}

// Calls into the main thread: one channel, request ids. Services (#12) will be reached the same way.
const { call: callMain, settle } = callChannel(send)
const serviceCaller: ServiceCaller = {
  call: (target, op, args) => callMain('services.call', [target, op, args]),
}
const jobs: JobsClient = {
  enqueue: (queue, payload, options) =>
    callMain('jobs.enqueue', [queue, payload, options ?? {}]) as Promise<EnqueuedJob>,
}

/** A protected endpoint's caller: asked of the main thread, where the clients are, and cached here. */
const guard = new ThreadAuthCache({
  ask: (authorization) => callMain('auth.principal', [authorization]) as Promise<PrincipalAnswer>,
  ttlMs: init.authCacheMs,
})

const series = new Map<string, EndpointSeries>()
const liveness = new LivenessWriter(init.liveness)
const registry = new HandlerRegistry()
let snapshot = new RouterSnapshot([])
const dispatcher = new Dispatcher({
  router: () => snapshot,
  guard,
  endpointLogs: { append: (endpointId, entry) => send({ type: 'log', endpointId, entry }) },
  logger,
  jobs,
  metrics: {
    series: (name) => {
      let entry = series.get(name)
      if (!entry) {
        entry = new EndpointSeries()
        series.set(name, entry)
      }
      return entry
    },
  },
  watch: liveness,
})
registry.onDrainTimeout = dispatcher.expire
let reportedRequests = 0

function publish(): void {
  snapshot = new RouterSnapshot(registry.slots.values())
  for (const skipped of snapshot.skipped) serverLog('error', skipped, 'endpoint could not be routed')
}

function load(artifact: VersionArtifact): HandlerVersion<HandlerFunction> {
  // instantiateVersion checked that an 'http' bundle exports a handler.
  const version = instantiateVersion(
    { id: artifact.endpointId, name: artifact.endpointName, kind: 'http' },
    artifact.version,
    artifact.bundle,
    artifact.sourceMap,
    { append: (endpointId, entry) => send({ type: 'log', endpointId, entry }) },
  ) as HandlerVersion<HandlerFunction>
  return version
}

function install(endpoint: ServedEndpoint) {
  const version = load(endpoint.artifact)
  version.watchSlot = endpoint.slot
  version.bindingKey = endpoint.artifact.bindingKey
  version.env = Object.freeze({ ...endpoint.env })
  const { endpointId, version: versionNumber } = endpoint.artifact
  // ctx.database()… of this version: every operation is one call into the main thread's services.
  version.services = new BoundServices(
    serviceCaller,
    endpoint.artifact.bindings,
    (target, op, error, requestId) =>
      send({
        type: 'log',
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
  const result = registry.install(endpoint.artifact.endpointId, endpoint.route, endpoint.limits, version)
  registry.get(endpoint.artifact.endpointId)!.quarantined = endpoint.quarantined
  publish()
  return result
}

function stats(): ThreadStats {
  const out: ThreadStats['series'] = {}
  for (const [name, entry] of series) {
    const taken = entry.take()
    if (taken) out[name] = taken
  }
  const handled = dispatcher.requestsHandled
  const registryStats = registry.stats()
  const delta = handled - reportedRequests
  reportedRequests = handled
  return {
    requestsHandled: delta,
    loaded: registryStats.loaded,
    draining: registryStats.draining,
    activeRequests: registryStats.active_requests,
    drainingRequests: registryStats.draining_requests,
    series: out,
  }
}

const listener = new GatewayListener(dispatcher, registry, {
  headersTimeoutMs: init.headersTimeoutMs,
  requestTimeoutMs: init.requestTimeoutMs,
})

async function run(command: Command): Promise<unknown> {
  switch (command.type) {
    case 'install':
      return install(command.endpoint)
    case 'remove': {
      const result = registry.remove(command.endpointId)
      publish()
      return result
    }
    case 'update':
      registry.update(command.endpointId, command.route, command.limits)
      publish()
      return undefined
    case 'auth-forget':
      guard.forget()
      return undefined
    case 'quarantine': {
      const slot = registry.get(command.endpointId)
      if (slot) slot.quarantined = true
      return undefined
    }
    case 'validate':
      load(command.artifact)
      return undefined
    case 'draining':
      return registry.drainingOf(command.endpointId)
    case 'stats':
      return stats()
    case 'listen':
      return (await listener.listen(command.port, init.gatewayHost, true)).port
    case 'close':
      clearInterval(heartbeat)
      await listener.close(command.drainMs)
      return undefined
    case 'results':
      return undefined
  }
}

port.on('message', (command: Command) => {
  if (command.type === 'results') {
    settle(command)
    return
  }
  run(command).then(
    (value) => send({ type: 'reply', id: command.id, ok: true, value }),
    (error: unknown) =>
      send({
        type: 'reply',
        id: command.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  )
})

const heartbeat = setInterval(() => {
  const oldest = dispatcher.oldestPending()
  liveness.beat(oldest?.deadline ?? 0, oldest?.slot ?? 0)
}, HEARTBEAT_MS)
liveness.beat(0, 0)

for (const endpoint of init.endpoints) {
  try {
    install(endpoint)
  } catch (error) {
    serverLog(
      'error',
      { err: error, endpoint: endpoint.artifact.endpointName },
      'a replacement thread could not load an endpoint',
    )
  }
}
// A replacement listens at once; the first threads listen when the supervisor says (after restore).
const port0 = init.listen ? (await listener.listen(init.gatewayPort, init.gatewayHost, true)).port : 0
send({ type: 'ready', port: port0 })
