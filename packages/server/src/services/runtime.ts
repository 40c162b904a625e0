import { createHash } from 'node:crypto'
import type { ActorObserver, ActorStatus } from './actor.ts'
import type { CallTarget, ServiceCaller } from './caller.ts'
import { recordsOp } from './collections.ts'
import { serviceUnavailable } from './errors.ts'
import { resolveConfig } from './fields.ts'
import type { KindEnvironment, ServiceKind } from './kind.ts'
import { kindOf } from './kinds.ts'
import { ActiveService } from './service.ts'

/** A service as the runtime needs it to start an actor. */
export interface ServiceDefinition {
  id: string
  name: string
  type: string
  config: Readonly<Record<string, unknown>>
  secrets: Readonly<Record<string, unknown>>
}

/**
 * The active services of this process, by name, and the in-process ServiceCaller: a handler's
 * call finds the service's actor and runs the operation on it. Activating a name that is active
 * replaces it: the new actor takes new calls at once, the old one drains and closes.
 */
export class ServiceRuntime implements ServiceCaller {
  private readonly active = new Map<string, ActiveService>()
  private readonly env: KindEnvironment
  private readonly observe: ((service: string, type: string) => ActorObserver) | undefined

  constructor(env: KindEnvironment, observe?: (service: string, type: string) => ActorObserver) {
    this.env = env
    this.observe = observe
  }

  call(target: CallTarget, op: string, args: readonly unknown[]): Promise<unknown> {
    const service = this.active.get(target.service)
    if (!service)
      return Promise.reject(
        serviceUnavailable(target.binding, new Error(`service "${target.service}" is not active`)),
      )
    if (target.family === 'records') return recordsOp(service, op, args)
    if (service.kind.family !== target.family)
      return Promise.reject(
        new TypeError(
          `ctx.${target.family}("${target.binding}"): "${target.service}" is a ${service.kind.type} service; use ctx.${service.kind.family}("${target.binding}")`,
        ),
      )
    return service.invoke(op, args)
  }

  activate(definition: ServiceDefinition): ActiveService {
    const kind: ServiceKind = kindOf(definition.type)
    const config = resolveConfig(kind, definition.config, definition.secrets)
    const service = new ActiveService(
      { id: definition.id, name: definition.name, fingerprint: fingerprint(definition) },
      kind,
      config,
      this.env,
      this.observe?.(definition.name, kind.type),
    )
    const previous = this.active.get(definition.name)
    this.active.set(definition.name, service)
    if (previous) void previous.deactivate()
    return service
  }

  /** Finishes the service's accepted operations, then closes its connections. */
  async deactivate(name: string): Promise<boolean> {
    const service = this.active.get(name)
    if (!service) return false
    this.active.delete(name)
    await service.deactivate()
    return true
  }

  get(name: string): ActiveService | undefined {
    return this.active.get(name)
  }

  status(name: string): ActorStatus | undefined {
    return this.active.get(name)?.status()
  }

  list(): ActiveService[] {
    return [...this.active.values()]
  }

  /** A service that is renamed moves its actor to the new name. */
  rename(from: string, to: string): void {
    const service = this.active.get(from)
    if (!service || from === to) return
    this.active.delete(from)
    this.active.set(to, service)
  }

  async close(): Promise<void> {
    const all = [...this.active.values()]
    this.active.clear()
    await Promise.all(all.map((service) => service.deactivate().catch(() => {})))
  }
}

/** A digest of what an actor is started from, so two processes can tell whether theirs match without comparing secrets in the clear. */
export function fingerprint(definition: ServiceDefinition): string {
  const sorted = (fields: Readonly<Record<string, unknown>>) =>
    Object.keys(fields)
      .sort()
      .map((key) => [key, fields[key]])
  return createHash('sha256')
    .update(
      JSON.stringify([
        definition.id,
        definition.name,
        definition.type,
        sorted(definition.config),
        sorted(definition.secrets),
      ]),
    )
    .digest('hex')
}
