import { ApiError, type Service, type ServiceCreate, type ServiceUpdate } from '@edgeforge/protocol'
import type { Logger } from '../observability/logger.ts'
import { checkFields, type FieldProblem, mergeFields, resolveConfig } from './fields.ts'
import type { KindEnvironment } from './kind.ts'
import { KINDS, kindOf } from './kinds.ts'
import type { ServiceRecord, ServiceStore } from './records.ts'
import { fingerprint, type ServiceRuntime } from './runtime.ts'
import { ActiveService } from './service.ts'

/** What the service manager needs to know about endpoints (the catalog, adapted in main.ts). */
export interface EndpointLookup {
  /** Name and whether it is running, for the ids that exist. */
  describe(ids: readonly string[]): Promise<{ id: string; name: string; running: boolean }[]>
  exists(id: string): Promise<boolean>
}

const TEST_TIMEOUT_MS = 10_000

/**
 * Service records and their actors: create, update, delete, activate, deactivate, test, and the
 * endpoint bindings. A record's `enabled` is whether its actor should run; every start of the
 * server activates the enabled ones. Secrets are merged in when an actor starts and are never
 * part of an answer or a log line.
 */
export class ServiceManager {
  readonly store: ServiceStore
  private readonly runtime: ServiceRuntime
  private readonly env: KindEnvironment
  private readonly endpoints: EndpointLookup
  private readonly logger: Logger
  private readonly announce: (serviceId: string) => void
  /** Reconciles run one at a time, in the order the notices came. */
  private reconciling: Promise<void> = Promise.resolve()

  constructor(deps: {
    store: ServiceStore
    runtime: ServiceRuntime
    env: KindEnvironment
    endpoints: EndpointLookup
    logger: Logger
    /** Tells the other gateway processes on the same database that a service changed (sync.ts); absent with one process. */
    announce?: (serviceId: string) => void
  }) {
    this.store = deps.store
    this.runtime = deps.runtime
    this.env = deps.env
    this.endpoints = deps.endpoints
    this.logger = deps.logger
    this.announce = deps.announce ?? (() => {})
  }

  /**
   * Makes this process's actor for one service match its stored record: started when it is
   * enabled and not running here, restarted when its name, config or secrets changed, stopped
   * (after draining) when it is disabled or deleted. What another process's change runs here.
   */
  reconcile(id: string): Promise<void> {
    const next = this.reconciling.then(() => this.reconcileOne(id, undefined))
    this.reconciling = next.catch(() => {})
    return next
  }

  /** `reconcile` for every stored service; actors whose record is gone are stopped. */
  reconcileAll(): Promise<void> {
    const next = this.reconciling.then(async () => {
      const records = await this.store.list()
      const ids = new Set(records.map((r) => r.id))
      for (const running of this.runtime.list())
        if (!ids.has(running.id)) await this.runtime.deactivate(running.name)
      for (const record of records) await this.reconcileOne(record.id, record)
    })
    this.reconciling = next.catch(() => {})
    return next
  }

  private async reconcileOne(id: string, known: ServiceRecord | undefined): Promise<void> {
    const record = known ?? (await this.store.get(id))
    const running = this.runtime.list().find((s) => s.id === id)
    if (!record?.enabled) {
      if (running) {
        await this.runtime.deactivate(running.name)
        this.logger.info({ service: running.name }, 'service deactivated by another process')
      }
      return
    }
    if (running?.fingerprint === fingerprint(record)) return
    if (running && running.name !== record.name) await this.runtime.deactivate(running.name)
    try {
      this.runtime.activate(record)
      this.logger.info(
        { service: record.name, type: record.type },
        'service (re)activated by another process',
      )
    } catch (error) {
      this.logger.error(
        { service: record.name, err: (error as Error).message },
        'service could not be activated',
      )
    }
  }

  /** Activates every enabled service; one that cannot start is logged and left inactive. */
  async start(): Promise<void> {
    for (const record of await this.store.list()) {
      if (!record.enabled) continue
      try {
        this.runtime.activate(record)
      } catch (error) {
        this.logger.error(
          { service: record.name, err: (error as Error).message },
          'service could not be activated',
        )
      }
    }
  }

  async list(): Promise<Service[]> {
    return (await this.store.list()).map((r) => this.dto(r))
  }

  async get(id: string): Promise<Service> {
    return this.dto(await this.record(id))
  }

  async create(input: ServiceCreate): Promise<Service> {
    const kind = kindOf(input.service_type)
    const config = mergeFields({}, input.config)
    const secrets = mergeFields({}, input.secrets)
    this.validate(input.name, input.service_type, config, secrets)
    if (await this.store.byName(input.name)) throw nameTaken(input.name)
    const record = await this.store.insert({
      name: input.name,
      type: kind.type,
      config,
      secrets,
      enabled: input.enabled ?? true,
    })
    if (record.enabled) this.activateRecord(record)
    this.announce(record.id)
    return this.dto(record)
  }

  async update(id: string, patch: ServiceUpdate): Promise<Service> {
    const current = await this.record(id)
    const name = patch.name ?? current.name
    const config = mergeFields(current.config, patch.config)
    const secrets = mergeFields(current.secrets, patch.secrets)
    this.validate(name, current.type, config, secrets)
    if (name !== current.name && (await this.store.byName(name))) throw nameTaken(name)
    const enabled = patch.enabled ?? current.enabled
    const updated = await this.store.update({ ...current, name, config, secrets, enabled })
    if (name !== current.name) {
      await this.store.renameBindings(current.name, name)
      await this.runtime.deactivate(current.name)
    }
    // A changed config takes effect at once: the new actor takes new calls, the old one drains.
    if (enabled) this.activateRecord(updated)
    else await this.runtime.deactivate(name)
    this.announce(updated.id)
    return this.dto(updated)
  }

  async delete(id: string): Promise<void> {
    const record = await this.record(id)
    const users = await this.endpoints.describe(await this.store.endpointsUsing(record.name))
    const running = users.filter((e) => e.running)
    if (running.length > 0)
      throw new ApiError(
        'conflict',
        `service ${record.name} is used by running endpoints: ${running.map((e) => e.name).join(', ')}; stop them or remove their bindings first`,
        { endpoints: running.map((e) => ({ id: e.id, name: e.name })) },
      )
    await this.runtime.deactivate(record.name)
    await this.store.delete(record.id)
    this.announce(record.id)
  }

  async activate(id: string): Promise<Service & { message: string }> {
    const record = await this.record(id)
    const updated = record.enabled ? record : await this.store.update({ ...record, enabled: true })
    this.activateRecord(updated)
    this.announce(updated.id)
    return { ...this.dto(updated), message: `service ${record.name} is active` }
  }

  /** Finishes the operations in flight, then closes the pool. */
  async deactivate(id: string): Promise<Service & { message: string }> {
    const record = await this.record(id)
    const updated = record.enabled ? await this.store.update({ ...record, enabled: false }) : record
    // Announced before this process's drain, so the others drain at the same time.
    this.announce(updated.id)
    await this.runtime.deactivate(record.name)
    return { ...this.dto(updated), message: `service ${record.name} is deactivated` }
  }

  /** Connects with the stored settings on a pool of its own (the active one is left alone) and pings. */
  async test(
    id: string,
  ): Promise<{ connected: boolean; latency_ms?: number; message?: string; error?: string }> {
    const record = await this.record(id)
    const kind = kindOf(record.type)
    const config = {
      ...resolveConfig(kind, record.config, record.secrets),
      pool_size: 1,
      max_queue: 0,
      operation_timeout_ms: TEST_TIMEOUT_MS,
    }
    const probe = new ActiveService(record, kind, config, this.env)
    const started = performance.now()
    try {
      await probe.ping()
      return {
        connected: true,
        latency_ms: Math.round(performance.now() - started),
        message: 'connection successful',
      }
    } catch (error) {
      const reason = probe.status().lastError ?? (error instanceof Error ? error.message : String(error))
      return { connected: false, error: mask(reason, record.secrets) }
    } finally {
      await probe.deactivate()
    }
  }

  async bindings(endpointId: string): Promise<Record<string, string>> {
    await this.assertEndpoint(endpointId)
    return this.store.bindings(endpointId)
  }

  async bind(endpointId: string, binding: string, serviceName: string): Promise<Record<string, string>> {
    await this.assertEndpoint(endpointId)
    if (!(await this.store.byName(serviceName)))
      throw new ApiError(
        'not_found',
        `no service named ${serviceName}; create it first (POST /api/services)`,
        {
          field: 'body.service',
        },
      )
    await this.store.bind(endpointId, binding, serviceName)
    return this.store.bindings(endpointId)
  }

  async unbind(endpointId: string, binding: string): Promise<Record<string, string>> {
    await this.assertEndpoint(endpointId)
    if (!(await this.store.unbind(endpointId, binding)))
      throw new ApiError('not_found', `endpoint ${endpointId} has no binding named ${binding}`)
    return this.store.bindings(endpointId)
  }

  dto(record: ServiceRecord): Service {
    const status = this.runtime.status(record.name)
    return {
      id: record.id,
      name: record.name,
      service_type: record.type,
      config: record.config,
      secrets_set: Object.keys(record.secrets).sort(),
      enabled: record.enabled,
      status: {
        active: status !== undefined && status.state === 'active',
        connected: status?.connected ?? false,
        connections: status?.connections ?? 0,
        in_use: status?.inUse ?? 0,
        queued: status?.queued ?? 0,
        last_error: status?.lastError ? mask(status.lastError, record.secrets) : null,
      },
      created_at: new Date(record.createdAt).toISOString(),
      updated_at: new Date(record.updatedAt).toISOString(),
    }
  }

  private activateRecord(record: ServiceRecord): void {
    this.runtime.activate(record)
    this.logger.info({ service: record.name, type: record.type }, 'service activated')
  }

  private validate(
    name: string,
    type: string,
    config: Record<string, unknown>,
    secrets: Record<string, unknown>,
  ): void {
    const kind = KINDS.get(type)
    if (!kind) throw invalid([{ field: 'body.service_type', message: `is not a known type` }])
    const problems = checkFields(kind, config, secrets)
    if (problems.length === 0) {
      // The connector checks what needs more than a type (a path that leaves its folder).
      try {
        kind.connector(name, resolveConfig(kind, config, secrets), this.env)
      } catch (error) {
        problems.push({ field: 'body.config', message: (error as Error).message })
      }
    }
    if (problems.length > 0)
      throw invalid(
        problems.map((p) => ({ ...p, field: p.field.startsWith('body.') ? p.field : `body.${p.field}` })),
      )
  }

  private async record(id: string): Promise<ServiceRecord> {
    const record = await this.store.get(id)
    if (!record) throw new ApiError('not_found', `no service with id ${id}`)
    return record
  }

  private async assertEndpoint(id: string): Promise<void> {
    if (!(await this.endpoints.exists(id))) throw new ApiError('not_found', `no endpoint with id ${id}`)
  }
}

function invalid(problems: FieldProblem[]): ApiError {
  const [first] = problems
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more in details.fields)` : ''
  return new ApiError('validation_failed', `${first.field} ${first.message}${more}`, {
    field: first.field,
    fields: problems,
  })
}

function nameTaken(name: string): ApiError {
  return new ApiError('conflict', `a service named ${name} already exists; names are unique`, {
    field: 'body.name',
  })
}

/** A backend's message may quote what it was sent; no secret value leaves in it. */
function mask(message: string, secrets: Record<string, unknown>): string {
  let out = message
  for (const value of Object.values(secrets))
    if (typeof value === 'string' && value.length >= 3) out = out.split(value).join('***')
  return out
}
