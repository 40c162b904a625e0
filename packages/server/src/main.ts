import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError, WORKER_SOCKET_PATH } from '@edgeforge/protocol'
import type { JobsClient } from '@edgeforge/sdk'
import {
  Authenticator,
  authGuard,
  authRoutes,
  ClientRateLimiter,
  ClientStore,
  createTemporaryCredentials,
  EndpointGate,
  hasScope,
  missingCredentials,
  type ScopeLookups,
  satisfies,
} from './auth/index.ts'
import { Catalog, catalogRoutes, type EndpointRecord } from './catalog/index.ts'
import { Compiler } from './compiler/index.ts'
import { type Config, redactedConfig } from './config.ts'
import {
  type CatalogPort,
  EndpointSync,
  Lifecycle,
  type LifecycleEndpoint,
  lifecycleRoutes,
  VersionStore,
} from './deploy/index.ts'
import {
  createControlApp,
  createGuard,
  type RegisteredRoute,
  registeredRoutes,
  systemRoutes,
} from './http/index.ts'
import {
  type ArtifactCredentials,
  ArtifactService,
  artifactRoutes,
  artifactScopes,
  type BlobStore,
  FilesystemBlobs,
  S3Blobs,
} from './jobs/artifacts/index.ts'
import {
  DeployedHandlers,
  EventFeed,
  eventRoutes,
  isEventStreamPath,
  JobRuntime,
  jobsRoutes,
  parseWorkerControl,
  registerJobMetrics,
  registerJobPoolMetrics,
  routeUpgrade,
  sweepEvents,
  WORKER_CONTROL_CHANNEL,
  WorkerHub,
  workerRoutes,
} from './jobs/index.ts'
import { EndpointLogs } from './observability/endpoint-logs.ts'
import { createLogger, type Logger } from './observability/logger.ts'
import { Metrics } from './observability/metrics.ts'
import { redactLocation } from './observability/redact.ts'
import {
  ServiceManager,
  ServiceRuntime,
  ServiceStore,
  ServiceSync,
  servicesRoutes,
} from './services/index.ts'
import { registerServiceMetrics } from './services/metrics.ts'
import { objectRoutes } from './services/object-routes.ts'
import { UrlSigner } from './services/signing.ts'
import { ListenConnection, openStore } from './store/index.ts'
import type { PrincipalAnswer } from './threads/auth-cache.ts'
import { ThreadSupervisor } from './threads/index.ts'

export const VERSION: string = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'),
).version

export interface RunningServer {
  version: string
  gatewayUrl: string
  controlUrl: string
  storeLocation: string
  lifecycle: Lifecycle
  /** The handler threads' supervisor: what every thread serves, their stats. */
  gateway: ThreadSupervisor
  jobs: JobRuntime
  /** The control plane's routes as registered (tests check them against the declarations). */
  controlRoutes: readonly RegisteredRoute[]
  /** Stops accepting, drains in-flight requests, closes the store. */
  close(): Promise<void>
}

/**
 * The composition root: config → store → contexts → listeners. Returns once both listeners
 * accept connections and every endpoint that was running before is serving again.
 */
export async function startServer(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const startedAt = Date.now()
  logger.info({ config: redactedConfig(config) }, 'starting edgeforge')
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl })
  const { db } = store

  const artifacts = new ArtifactService({
    db,
    blobs: await openArtifactBlobs(config),
    logger,
    maxBytes: config.artifactMaxBytes,
    counterFlushMs: config.artifactCounterFlushMs,
    sweepMs: config.artifactSweepMs,
  })
  // A run's artifact credential: root's, for its job only, until its lease ends.
  const artifactCredential: ArtifactCredentials = (jobId, expiry) =>
    config.adminToken
      ? createTemporaryCredentials({
          clientId: 'root',
          accessToken: config.adminToken,
          scopes: artifactScopes(jobId),
          expiry: Math.max(expiry, Date.now() + 1000),
        })
      : undefined
  // Known once the control plane listens; jobs upload artifacts to it like remote agents do.
  let selfUrl = ''

  const endpointLogs = new EndpointLogs(config.endpointLogLines)
  const metrics = new Metrics()
  // The depth gauge reads the engine at scrape time, after the runtime below has built it.
  const jobMetrics = registerJobMetrics(metrics.registry, {
    engine: { overview: () => jobRuntime.engine.overview() },
    onError: (err) => logger.error({ err }, 'job metrics collection failed'),
  })
  const jobRuntime = new JobRuntime({
    db,
    logger,
    endpointLogs,
    concurrency: config.jobConcurrency,
    leaseMs: config.jobLeaseMs,
    holdMs: config.jobHoldMs,
    observer: jobMetrics,
    // Job handlers run in job threads; what their ctx needs of this thread arrives here.
    threads: {
      threads: config.jobThreads,
      heapLimitMb: config.threadHeapMb,
      stallMs: config.jobStallMs,
      abortGraceMs: config.jobAbortGraceMs,
      quarantineAfter: config.quarantineAfter,
      quarantineWindowMs: config.quarantineWindowMs,
      calls: {
        'jobs.enqueue': (...args: Parameters<JobsClient['enqueue']>): ReturnType<JobsClient['enqueue']> =>
          jobRuntime.client.enqueue(...args),
        'services.call': (...args: Parameters<ServiceRuntime['call']>) => serviceRuntime.call(...args),
        // ctx.artifacts: the thread uploads over HTTP to this control plane, with this credential.
        'artifacts.access': async (jobId: string) => ({
          url: selfUrl,
          credential: artifactCredential(jobId, Date.now() + config.jobLeaseMs),
        }),
      },
      onQuarantine: (endpointId, reason) => {
        lifecycle
          ?.quarantine(endpointId, reason)
          .catch((err: unknown) => logger.error({ err, endpointId }, 'quarantine failed'))
      },
    },
  })
  registerJobPoolMetrics(metrics.registry, jobRuntime.pool)
  const jobs = jobRuntime.client
  const versions = new VersionStore(db)
  const handlers = new DeployedHandlers({
    current: (queue) => jobRuntime.deployedFor(queue),
    bundle: async (endpointId, version) => (await versions.artifact(endpointId, version))?.bundle,
  })
  const workerGuard = createGuard({ adminToken: config.adminToken, allowedHosts: config.controlAllowedHosts })
  const hub = new WorkerHub({
    engine: jobRuntime.engine,
    // The worker socket's one credential check: a client (or the admin token) whose scopes cover
    // queues:work:<queue> for every queue the agent declares.
    auth: {
      authenticate: async (req) => {
        const refused = workerGuard(req)
        if (refused) return refused
        try {
          const principal = await authenticator.authenticate(
            {
              authorization: req.headers.authorization,
              url: req.url ?? '/',
              method: 'GET',
              authorizedScopes: undefined,
            },
            true,
          )
          return principal ? { scopes: principal.scopes } : missingCredentials()
        } catch (error) {
          if (error instanceof ApiError) return error
          throw error
        }
      },
      mayWork: (credential, queues) => {
        const missing = queues.filter((queue) => !satisfies(credential.scopes, `queues:work:${queue}`))
        return missing.length === 0
          ? undefined
          : new ApiError(
              'forbidden',
              `this credential may not work queue ${missing.join(', ')}: it needs scope queues:work:<queue>`,
              {
                missing_scopes: missing.map((queue) => `queues:work:${queue}`),
              },
            )
      },
    },
    handlers,
    logger,
    leaseMs: config.jobLeaseMs,
    artifactCredential,
  })
  // Clients authenticate the control plane and protected endpoints; a change drops every cache,
  // the handler threads' too, before the call that made it answers.
  const clients = new ClientStore(db, async () => {
    authenticator.forget()
    endpointGate.forget()
    await gateway.forgetCredentials()
  })
  const authenticator = new Authenticator({
    clients,
    adminToken: config.adminToken,
    cacheMs: config.authCacheMs,
  })
  const endpointGate = new EndpointGate({
    authenticate: (input) => authenticator.authenticate(input, false),
    cacheMs: config.authCacheMs,
  })
  // No handler code runs on this thread: the data plane runs in the supervisor's threads.
  const gateway = new ThreadSupervisor({
    threads: config.gatewayThreads,
    gatewayPort: config.gatewayPort,
    gatewayHost: config.gatewayHost,
    headersTimeoutMs: config.gatewayHeadersTimeoutMs,
    requestTimeoutMs: config.gatewayRequestTimeoutMs,
    authCacheMs: config.authCacheMs,
    heapLimitMb: config.threadHeapMb,
    stuckGraceMs: config.threadStuckGraceMs,
    stallMs: config.threadStallMs,
    quarantineAfter: config.quarantineAfter,
    quarantineWindowMs: config.quarantineWindowMs,
    logger,
    endpointLogs,
    metrics,
    calls: {
      'jobs.enqueue': (...args: Parameters<typeof jobs.enqueue>) => jobs.enqueue(...args),
      // The seam of services/caller.ts: handler threads' ctx.database()… arrive here.
      'services.call': (...args: Parameters<ServiceRuntime['call']>) => serviceRuntime.call(...args),
      // A protected endpoint's caller, from the clients (cached here, see auth/gate.ts, and in
      // each thread, see threads/auth-cache.ts).
      'auth.principal': async (authorization: string | undefined): Promise<PrincipalAnswer> => {
        const answer = await endpointGate.principal(authorization)
        if (!answer.ok) return { ok: false, status: answer.error.status, body: answer.error.toBody() }
        const { clientId, scopes, expiresAt } = answer.principal
        return { ok: true, principal: { clientId, scopes, expiresAt } }
      },
    },
    onQuarantine: (endpointId, reason) => {
      lifecycle
        ?.quarantine(endpointId, reason)
        .catch((err: unknown) => logger.error({ err, endpointId }, 'quarantine failed'))
    },
  })
  // Threads load their modules while this thread builds the rest; restore below waits for them.
  const threadsStarted = gateway.start()
  threadsStarted.catch(() => {})
  const compiler = new Compiler({
    cacheDir: join(config.dataDir, 'cache'),
    typeCheck: config.typeCheck,
    npmCommand: config.npmCommand,
    typeCheckMaxHeapMb: config.typeCheckMaxHeapMb,
    typeCheckRecycleAfter: config.typeCheckRecycleAfter,
  })

  let lifecycle: Lifecycle | undefined
  const catalog = new Catalog(
    db,
    {
      assertRouteFree: (endpointId, route) => lifecycle?.assertRouteFree(endpointId, route),
      endpointsChanged: async (change) => lifecycle?.endpointsChanged(change),
    },
    {
      timeoutMs: config.requestTimeoutMs,
      bodyLimitBytes: config.bodyLimitBytes,
      drainTimeoutMs: config.drainTimeoutMs,
    },
  )
  const signer = new UrlSigner()
  const observeService = registerServiceMetrics(metrics.registry, () =>
    serviceRuntime.list().map((s) => ({ name: s.name, status: s.status() })),
  )
  const serviceRuntime: ServiceRuntime = new ServiceRuntime(
    { dataDir: config.dataDir, signUrl: (service, key, seconds) => signer.sign(service, key, seconds) },
    observeService,
  )
  const serviceStore = new ServiceStore(db)
  // Several processes on one PostgreSQL database run the same services (services/sync.ts).
  const serviceSync =
    db.dialect === 'postgres' && config.databaseUrl
      ? new ServiceSync(config.databaseUrl, db, () => services, logger)
      : undefined
  const services: ServiceManager = new ServiceManager({
    announce: serviceSync?.announce,
    store: serviceStore,
    runtime: serviceRuntime,
    env: { dataDir: config.dataDir, signUrl: (service, key, seconds) => signer.sign(service, key, seconds) },
    endpoints: {
      describe: async (ids) => {
        const found = []
        for (const id of ids) {
          const record = await catalog.getEndpoint(id).catch(() => undefined)
          if (record) found.push({ id, name: record.name, running: record.status === 'running' })
        }
        return found
      },
      exists: async (id) => (await catalog.getEndpoint(id).catch(() => undefined)) !== undefined,
    },
    logger,
  })
  // Before endpoints are restored, so their first calls find the services active.
  await services.start()
  const port = lifecyclePort(catalog, (id) => serviceStore.bindings(id))
  // Several processes on one PostgreSQL database follow each other's deploys.
  const sync =
    db.dialect === 'postgres' && config.databaseUrl
      ? new EndpointSync(config.databaseUrl, db, () => lifecycle!, logger)
      : undefined
  lifecycle = new Lifecycle({
    db,
    catalog: port,
    compiler,
    gateway,
    endpointLogs,
    logger,
    jobs: jobRuntime,
    announce: sync?.announce,
  })

  const guard = authGuard({
    authenticator,
    rateLimiter: new ClientRateLimiter(config.rateLimitPerMinute),
    lookups: scopeLookups(catalog, jobRuntime),
    presigned: (url) => {
      const checked = signer.check(url)
      return typeof checked === 'object' ? [`storage:read:${checked.service}`] : checked
    },
  })
  const app = await createControlApp({
    logger,
    adminToken: config.adminToken,
    allowedHosts: config.controlAllowedHosts,
    corsOrigins: config.corsOrigins,
    authenticate: guard.authenticate,
    version: VERSION,
  })
  guard.install(app)
  authRoutes(app, clients)
  systemRoutes(app, {
    version: VERSION,
    metrics,
    stats: async () => {
      const counts = await catalog.countEndpoints()
      // The job runtime keeps its versions in a registry of its own; its "requests" are jobs.
      const jobs = jobRuntime.stats()
      const gatewayStats = await gateway.stats()
      const { requests_handled: _, ...httpHandlers } = gatewayStats
      return {
        endpoints_total: counts.total,
        endpoints_running: counts.running.http + counts.running.job,
        endpoints_running_http: counts.running.http,
        endpoints_running_job: counts.running.job,
        requests_handled: gatewayStats.requests_handled,
        uptime_seconds: Math.floor((Date.now() - startedAt) / 1000),
        http_handlers: httpHandlers,
        job_handlers: {
          loaded: jobs.loaded,
          draining: jobs.draining,
          active_jobs: jobs.active_requests,
          draining_jobs: jobs.draining_requests,
          threads: jobRuntime.pool.threadCount,
          thread_restarts: jobRuntime.pool.restarts,
        },
      }
    },
  })
  catalogRoutes(app, catalog)
  servicesRoutes(app, services)
  objectRoutes(app, serviceRuntime, signer)
  lifecycleRoutes(app, lifecycle, port, endpointLogs)
  jobsRoutes(app, {
    engine: jobRuntime.engine,
    cron: jobRuntime.cron,
    db,
    schemaVersion: store.schemaVersion,
    bootedAt: startedAt,
  })
  const eventFeed = new EventFeed(db, { onError: (err) => logger.error({ err }, 'event feed failed') })
  const stopEventWakes = jobRuntime.engine.events?.onWritten(() => eventFeed.wake())
  eventRoutes(app, {
    engine: jobRuntime.engine,
    feed: eventFeed,
    hasScope,
    heartbeatMs: config.eventHeartbeatMs,
  })
  // Events past the retention window go; a cursor before them is answered cursor_expired.
  const eventSweeper = setInterval(() => {
    sweepEvents(db, Date.now() - config.eventRetentionSeconds * 1000).catch((err) =>
      logger.error({ err }, 'event sweep failed'),
    )
  }, 60_000)
  eventSweeper.unref()
  artifactRoutes(app, artifacts)
  workerRoutes(app, {
    hub,
    engine: jobRuntime.engine,
    handlers,
  })
  // Drain and disconnect asked of another process reach the one holding the agent's socket.
  const workerControl = config.databaseUrl
    ? new ListenConnection(config.databaseUrl, WORKER_CONTROL_CHANNEL, {
        onNotice: (payload) => {
          const control = parseWorkerControl(payload)
          if (control?.action === 'drain') hub.drain(control.id)
          else if (control?.action === 'disconnect') hub.disconnect(control.id)
        },
      })
    : undefined
  app.server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === WORKER_SOCKET_PATH) hub.handleUpgrade(req, socket, head)
    // Event streams upgrade through the app's router: the same hooks and checks as their SSE form.
    else if (isEventStreamPath(path)) routeUpgrade((raw, res) => app.routing(raw, res), req, socket, head)
    else socket.destroy()
  })

  try {
    await threadsStarted
  } catch (error) {
    await gateway.close(0).catch(() => {})
    await db.close()
    throw error
  }
  const restored = await lifecycle.restore()
  if (restored.restored || restored.failed) logger.info(restored, 'restored running endpoints')
  sync?.open()
  serviceSync?.open()
  jobRuntime.start()
  hub.start()
  workerControl?.open()
  await eventFeed.start()
  artifacts.start()

  let gatewayAddress: { port: number }
  try {
    gatewayAddress = { port: await gateway.listen() }
    await app.listen({ port: config.controlPort, host: config.controlHost })
  } catch (error) {
    await gateway.close(0).catch(() => {})
    await workerControl?.close().catch(() => {})
    await hub.stop().catch(() => {})
    await jobRuntime.stop(0).catch(() => {})
    await artifacts.stop().catch(() => {})
    await serviceRuntime.close()
    await sync?.close()
    await serviceSync?.close()
    await app.close().catch(() => {})
    await db.close()
    throw error
  }
  const controlPort = (app.server.address() as { port: number }).port
  signer.setBase(`http://${urlHost(config.controlHost)}:${controlPort}`)
  selfUrl = `http://${urlHost(config.controlHost)}:${controlPort}`
  const server: RunningServer = {
    version: VERSION,
    gatewayUrl: `http://${urlHost(config.gatewayHost)}:${gatewayAddress.port}`,
    controlUrl: `http://${urlHost(config.controlHost)}:${controlPort}`,
    storeLocation: config.databaseUrl
      ? redactLocation(config.databaseUrl)
      : join(config.dataDir, 'edgeforge.db'),
    lifecycle,
    gateway,
    jobs: jobRuntime,
    controlRoutes: registeredRoutes(app),
    async close() {
      await sync?.close()
      clearInterval(eventSweeper)
      stopEventWakes?.()
      await eventFeed.stop()
      await serviceSync?.close()
      await workerControl?.close()
      await hub.stop()
      await Promise.all([gateway.close(config.drainTimeoutMs), jobRuntime.stop(config.drainTimeoutMs)])
      // After the jobs: their last uploads are in, and the download counts still in memory are written.
      await artifacts.stop()
      // After the handlers drained: their last service calls finish, then the pools close.
      await serviceRuntime.close()
      await app.close()
      compiler.close()
      await db.close()
      logger.info('edgeforge stopped')
    },
  }
  if (config.warmCompiler && config.typeCheck) void compiler.warmUp()
  logger.info({ gateway: server.gatewayUrl, control: server.controlUrl }, 'edgeforge is serving')
  return server
}

/** Where job artifacts' bytes go: the S3 bucket when one is configured, else the data dir. */
async function openArtifactBlobs(config: Config): Promise<BlobStore> {
  if (config.artifactS3Bucket)
    return new S3Blobs({
      endpoint: config.artifactS3Endpoint,
      region: config.artifactS3Region,
      bucket: config.artifactS3Bucket,
      accessKey: config.artifactS3AccessKey,
      secretKey: config.artifactS3SecretKey,
      prefix: config.artifactS3Prefix,
    })
  return new FilesystemBlobs(join(config.dataDir, 'artifacts')).open()
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

/** Where the auth guard finds the names in a route's scopes: the endpoint's name, the job's queue. */
function scopeLookups(catalog: Catalog, jobs: JobRuntime): ScopeLookups {
  const absent = (error: unknown) => {
    if (error instanceof ApiError && error.code === 'not_found') return undefined
    throw error
  }
  return {
    endpointName: (id) => catalog.getEndpoint(id).then((endpoint) => endpoint.name, absent),
    jobQueue: (id) => jobs.engine.getJob(id).then((job) => job.queue, absent),
    endpointQueue: (id) => catalog.getEndpoint(id).then((endpoint) => endpoint.queue ?? undefined, absent),
    cronQueue: (name) => jobs.cron.get(name).then((schedule) => schedule.queue, absent),
  }
}

/** The catalog seen through the port the deploy lifecycle is written against. */
export function lifecyclePort(
  catalog: Catalog,
  bindingsOf: (endpointId: string) => Promise<Record<string, string>> = async () => ({}),
): CatalogPort {
  return {
    getEndpoint: async (id) =>
      toLifecycle(await catalog.getEndpoint(id), await bindingsOf(id), await catalog.endpointEnv(id)),
    routeOf: async (id) => catalog.routeOf(await catalog.getEndpoint(id)),
    listRunning: async () =>
      Promise.all(
        (await catalog.listEndpointsByStatus('running')).map(async (r) =>
          toLifecycle(r, await bindingsOf(r.id), await catalog.endpointEnv(r.id)),
        ),
      ),
    setState: async (id, patch) => {
      await catalog.setEndpointState(id, patch)
    },
  }
}

function toLifecycle(
  record: EndpointRecord,
  services: Record<string, string>,
  env: Record<string, string>,
): LifecycleEndpoint {
  return {
    services,
    env,
    id: record.id,
    name: record.name,
    kind: record.kind,
    queue: record.queue,
    code: record.code,
    dependencies: record.dependencies,
    status: record.status,
    runningVersion: record.runningVersion,
    compiledVersion: record.compiledVersion,
    active: record.enabled && record.parentsEnabled,
    resumeOnEnable: record.resumeOnEnable,
    limits: {
      timeoutMs: record.timeoutMs,
      bodyLimitBytes: record.bodyLimitBytes,
      drainTimeoutMs: record.drainTimeoutMs,
      authScopes: record.authScopes,
    },
  }
}
