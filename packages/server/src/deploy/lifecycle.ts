import { createHash } from 'node:crypto'
import { ApiError } from '@edgeforge/protocol'
import type { CompileResult, Compiler, Diagnostic } from '../compiler/index.ts'
import type { Route } from '../gateway/index.ts'
import type { EndpointLogs } from '../observability/endpoint-logs.ts'
import type { Logger } from '../observability/logger.ts'
import type { Db } from '../store/index.ts'
import { Placement } from './placement.ts'
import type {
  CatalogPort,
  CompileReport,
  EndpointStatus,
  GatewayPort,
  HttpVersion,
  JobHandlerPort,
  LifecycleEndpoint,
  RunReport,
} from './ports.ts'
import type { AnyVersion } from './version.ts'
import { VersionStore } from './versions.ts'

export interface LifecycleDeps {
  db: Db
  catalog: CatalogPort
  compiler: Compiler
  /** The handler threads: every change resolves once each of them applied it. */
  gateway: GatewayPort
  endpointLogs: EndpointLogs
  logger: Logger
  jobs?: JobHandlerPort
  /**
   * Tells the other processes sharing the store that an endpoint's serving state changed (start,
   * stop, swap, re-route, removal); they call `reconcile` with its id. Absent with one process.
   */
  announce?: (endpointId: string) => void
}

/**
 * The endpoint lifecycle: compile → load → swap → drain, and restore at boot. Operations on one
 * endpoint run one at a time; different endpoints proceed independently.
 */
export class Lifecycle {
  private readonly deps: LifecycleDeps
  private readonly versions: VersionStore
  /** Where this process serves versions: the handler threads or the job runtime. */
  private readonly placement: Placement
  private readonly queues = new Map<string, Promise<unknown>>()
  /** Versions compiled and loaded (to validate them) but not started yet: start reuses them. */
  private readonly prepared = new Map<string, AnyVersion>()

  constructor(deps: LifecycleDeps) {
    this.deps = deps
    this.versions = new VersionStore(deps.db)
    this.placement = new Placement({
      gateway: deps.gateway,
      jobs: deps.jobs,
      routeOf: (id) => deps.catalog.routeOf(id),
    })
  }

  compile(id: string): Promise<CompileReport> {
    return this.changing(id, () => this.compileLocked(id, false))
  }

  start(id: string): Promise<RunReport> {
    return this.changing(id, () => this.startLocked(id))
  }

  stop(id: string): Promise<RunReport> {
    return this.changing(id, () => this.stopLocked(id))
  }

  /** Compiles when the code or dependencies changed since the last compile, then starts or swaps. */
  deploy(id: string): Promise<RunReport> {
    return this.changing(id, async () => {
      const compile = await this.compileLocked(id, true)
      const report = await this.startLocked(id)
      return { ...report, compile }
    })
  }

  /** Loads every endpoint that was running before the last shutdown, from stored artifacts. */
  async restore(): Promise<{ restored: number; failed: number }> {
    let restored = 0
    let failed = 0
    for (const endpoint of await this.deps.catalog.listRunning()) {
      try {
        if (endpoint.runningVersion === null) throw new Error('no running version recorded')
        const version = await this.loadStored(endpoint, endpoint.runningVersion)
        await this.placement.install(endpoint, version)
        restored += 1
      } catch (error) {
        failed += 1
        const message = `restore failed: ${(error as Error).message}`
        this.deps.logger.error({ endpoint: endpoint.name, err: error }, message)
        await this.deps.catalog.setState(endpoint.id, { status: 'error', lastError: message })
      }
    }
    return { restored, failed }
  }

  /**
   * Catalog changes: removed endpoints leave service, updated ones get their new route. One that
   * a disable takes out is marked, and put back when it is enabled again.
   */
  async endpointsChanged(change: { updated: string[]; removed: string[] }): Promise<void> {
    for (const id of change.removed) await this.forget(id)
    for (const id of change.updated) {
      await this.exclusive(id, async () => {
        const endpoint = await this.deps.catalog.getEndpoint(id)
        if (endpoint.resumeOnEnable && endpoint.active && endpoint.status !== 'running')
          return this.resume(endpoint)
        if (!(await this.placement.follow(endpoint)))
          await this.deps.catalog.setState(id, { status: 'stopped', resumeOnEnable: true })
      })
    }
    for (const id of [...change.removed, ...change.updated]) this.deps.announce?.(id)
  }

  /**
   * Brings this process in line with what the store says of one endpoint after another process
   * changed it: loads and swaps in its running version, follows a new route or queue, or takes it
   * out of service. Nothing is compiled: versions are loaded from their stored artifacts.
   */
  reconcile(id: string): Promise<void> {
    return this.exclusive(id, async () => {
      let endpoint: LifecycleEndpoint
      try {
        endpoint = await this.deps.catalog.getEndpoint(id)
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'not_found')) throw error
        await this.forget(id)
        return
      }
      const wanted = endpoint.status === 'running' ? endpoint.runningVersion : null
      const current = this.placement.currentOf(endpoint)
      const local = current?.version
      if (wanted === null) {
        if (local !== undefined) await this.placement.remove(endpoint)
      } else if (local === wanted && current?.bindingKey === setupKey(endpoint)) {
        await this.placement.follow(endpoint)
      } else {
        await this.placement.install(endpoint, await this.loadStored(endpoint, wanted))
      }
    })
  }

  /** `reconcile` for every endpoint that runs here or is recorded as running. */
  async reconcileAll(): Promise<void> {
    const ids = new Set([
      ...(await this.deps.catalog.listRunning()).map((endpoint) => endpoint.id),
      ...this.placement.installedIds(),
    ])
    for (const id of ids) {
      await this.reconcile(id).catch((error: unknown) =>
        this.deps.logger.error({ endpointId: id, err: error }, 'could not follow an endpoint change'),
      )
    }
  }

  /** Puts back the version that ran before a disable; if it cannot (its route was taken), says why. */
  private async resume(endpoint: LifecycleEndpoint): Promise<void> {
    try {
      if (endpoint.runningVersion === null) throw new Error('no running version recorded')
      await this.placement.install(endpoint, await this.loadStored(endpoint, endpoint.runningVersion))
      await this.deps.catalog.setState(endpoint.id, {
        status: 'running',
        resumeOnEnable: false,
        lastError: null,
      })
    } catch (error) {
      const message = `not restored when enabled again: ${(error as Error).message}`
      this.deps.logger.warn({ endpoint: endpoint.name }, message)
      await this.deps.catalog.setState(endpoint.id, { resumeOnEnable: false, lastError: message })
    }
  }

  /** Drops everything this process holds of a deleted endpoint. */
  private async forget(id: string): Promise<void> {
    this.prepared.delete(id)
    await this.placement.removeId(id)
    this.deps.endpointLogs.forget(id)
  }

  /** Throws 409 when another routed endpoint already serves this route. */
  assertRouteFree(endpointId: string, route: Route): void {
    this.placement.assertRouteFree(endpointId, route)
  }

  private async compileLocked(id: string, reuse: boolean): Promise<CompileReport> {
    const endpoint = await this.deps.catalog.getEndpoint(id)
    const compiled = endpoint.compiledVersion
    if (
      reuse &&
      compiled !== null &&
      (await this.versions.builtFrom(id, compiled, endpoint.code, endpoint.dependencies))
    ) {
      return {
        endpoint_id: id,
        status: endpoint.status,
        compiled_version: compiled,
        reused: true,
        diagnostics: [],
      }
    }
    if (!endpoint.code.trim()) {
      throw new ApiError('compile_failed', `endpoint ${endpoint.name} has no code yet: set "code" first`, {
        stage: 'bundle',
        diagnostics: [],
      })
    }
    const result: CompileResult = await this.deps.compiler.compile({
      source: endpoint.code,
      filename: `${endpoint.name}.ts`,
      dependencies: endpoint.dependencies,
    })
    if (!result.ok)
      return this.compileFailed(endpoint, formatDiagnostics(endpoint.name, result.diagnostics), {
        stage: result.stage,
        diagnostics: result.diagnostics,
      })
    const versionNumber = await this.versions.nextNumber(id)
    let version: AnyVersion
    try {
      version = await this.instantiate(endpoint, versionNumber, result.bundle, result.sourceMap, true)
    } catch (error) {
      return this.compileFailed(endpoint, (error as Error).message, { stage: 'load', diagnostics: [] })
    }
    await this.versions.add(id, versionNumber, {
      source: endpoint.code,
      dependencies: endpoint.dependencies,
      bundle: result.bundle,
      sourceMap: result.sourceMap,
    })
    const status: EndpointStatus = endpoint.status === 'running' ? 'running' : 'compiled'
    await this.deps.catalog.setState(id, { status, compiledVersion: versionNumber, lastError: null })
    this.prepared.set(id, version)
    return {
      endpoint_id: id,
      status,
      compiled_version: versionNumber,
      reused: false,
      diagnostics: result.diagnostics,
      timings_ms: {
        install: Math.round(result.timings.installMs),
        type_check: Math.round(result.timings.typeCheckMs),
        bundle: Math.round(result.timings.bundleMs),
      },
    }
  }

  private async compileFailed(
    endpoint: LifecycleEndpoint,
    message: string,
    details: unknown,
  ): Promise<never> {
    // A running endpoint keeps serving its previous version; only the error is recorded.
    const status: EndpointStatus = endpoint.status === 'running' ? 'running' : 'error'
    await this.deps.catalog.setState(endpoint.id, { status, lastError: message })
    throw new ApiError('compile_failed', message, details)
  }

  private async startLocked(id: string): Promise<RunReport> {
    const endpoint = await this.deps.catalog.getEndpoint(id)
    const target = endpoint.compiledVersion
    if (target === null) {
      throw new ApiError(
        'conflict',
        `endpoint ${endpoint.name} has not been compiled: POST /api/endpoints/${id}/deploy compiles and starts it`,
      )
    }
    const current = this.placement.currentOf(endpoint)
    // Same version with the same bindings and environment: nothing to swap. Changed ones swap in
    // a fresh instance of the version, so requests in flight finish with what they started with.
    if (
      endpoint.status === 'running' &&
      current?.version === target &&
      current.bindingKey === setupKey(endpoint)
    ) {
      // A start that succeeds leaves no error behind, even when it had nothing to do.
      await this.deps.catalog.setState(id, { lastError: null })
      return {
        endpoint_id: id,
        status: 'running',
        running_version: target,
        swapped: false,
        draining: await this.placement.draining(endpoint),
      }
    }
    const prepared = this.prepared.get(id)
    const version =
      prepared?.version === target && prepared.bindingKey === setupKey(endpoint)
        ? prepared
        : await this.loadStored(endpoint, target)
    const report = await this.placement.install(endpoint, version)
    this.prepared.delete(id)
    await this.deps.catalog.setState(id, {
      status: 'running',
      runningVersion: target,
      lastError: null,
      resumeOnEnable: false,
    })
    this.deps.announce?.(id)
    return {
      endpoint_id: id,
      status: 'running',
      running_version: target,
      swapped: report.swapped,
      draining: report.draining,
    }
  }

  private async stopLocked(id: string): Promise<RunReport> {
    const endpoint = await this.deps.catalog.getEndpoint(id)
    const draining = await this.placement.remove(endpoint)
    const status: EndpointStatus = endpoint.status === 'running' ? 'stopped' : endpoint.status
    // A stop while disabled also means: do not bring it back on enable.
    await this.deps.catalog.setState(id, { status, resumeOnEnable: false })
    this.deps.announce?.(id)
    return { endpoint_id: id, status, running_version: endpoint.runningVersion, swapped: false, draining }
  }

  private async loadStored(endpoint: LifecycleEndpoint, versionNumber: number): Promise<AnyVersion> {
    const stored = await this.versions.artifact(endpoint.id, versionNumber)
    if (!stored)
      throw new ApiError(
        'conflict',
        `version ${versionNumber} of ${endpoint.name} has no stored artifact; deploy it again`,
      )
    return this.instantiate(endpoint, versionNumber, stored.bundle, stored.sourceMap, false)
  }

  /**
   * A version is its artifact: the handler threads (HTTP) or the job threads (jobs) evaluate it,
   * so `check` has one of them load it once (a module that throws at top level fails its compile).
   */
  private async instantiate(
    endpoint: LifecycleEndpoint,
    versionNumber: number,
    bundle: string,
    sourceMap: string,
    check: boolean,
  ): Promise<AnyVersion> {
    const version: HttpVersion = {
      endpointId: endpoint.id,
      endpointName: endpoint.name,
      version: versionNumber,
      bundle,
      sourceMap,
      // The threads build the version's ctx.database()… from these, over their call channel.
      bindings: endpoint.services,
      env: endpoint.env,
      bindingKey: setupKey(endpoint),
    }
    if (!check) return version
    if (endpoint.kind === 'job') await this.deps.jobs?.validate(version)
    else await this.deps.gateway.validate(version)
    return version
  }

  /**
   * The endpoint's handler kept stopping its thread: it goes to `error` with the reason, and the
   * gateway answers it 503 `endpoint_quarantined` until an operator starts it again.
   */
  quarantine(id: string, reason: string): Promise<void> {
    return this.exclusive(id, async () => {
      const endpoint = await this.deps.catalog.getEndpoint(id)
      await this.placement.quarantine(endpoint)
      await this.deps.catalog.setState(id, { status: 'error', lastError: reason })
      this.deps.announce?.(id)
    })
  }

  /**
   * For operations that change what an endpoint runs: one at a time in this process, and under
   * the endpoint's lock in the store, so processes sharing a database take turns too. Without the
   * store lock two processes numbered the same version and one deploy failed, or a deploy that
   * had read the older code stored its version last and both served it while the record showed
   * the newer code. `reconcile` needs only the local queue: it reads what was committed.
   */
  private changing<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.exclusive(id, () => this.deps.db.withLock(`endpoint ${id}`, work))
  }

  private exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => {})
    this.queues.set(id, settled)
    settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id)
    })
    return next
  }
}

function formatDiagnostics(name: string, diagnostics: Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error')
  const first = errors[0] ?? diagnostics[0]
  if (!first) return `compiling ${name} failed`
  const where = first.line ? `${first.file ?? `${name}.ts`}:${first.line}:${first.column ?? 1}: ` : ''
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''
  return `${where}${first.code ? `${first.code} ` : ''}${first.message}${more}`
}

/**
 * What an instance of a version was made with — its bindings in a canonical order and a digest of
 * its environment (the values are secrets: the key, which is compared and kept, holds none) — to
 * tell whether a served instance matches the endpoint's record.
 */
function setupKey(endpoint: Pick<LifecycleEndpoint, 'services' | 'env'>): string {
  const sorted = (record: Record<string, string>) =>
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const bindings = JSON.stringify(sorted(endpoint.services))
  const env = sorted(endpoint.env)
  if (env.length === 0) return bindings
  return `${bindings} env:${createHash('sha256').update(JSON.stringify(env)).digest('base64url')}`
}
