import { ApiError } from '@edgeforge/protocol'
import type { DrainReport, Route } from '../gateway/index.ts'
import type { GatewayPort, JobHandlerPort, LifecycleEndpoint } from './ports.ts'
import type { AnyVersion } from './version.ts'

/**
 * Where this process serves endpoint versions: the handler threads (through the gateway port) for
 * HTTP endpoints, the job runtime for job endpoints. The lifecycle decides what should run; this
 * is the one place that knows which of the two an endpoint lives in, and how it gets in and out.
 */
export class Placement {
  private readonly gateway: GatewayPort
  private readonly jobs: JobHandlerPort | undefined
  private readonly routeOf: (endpointId: string) => Promise<Route | null>

  constructor(deps: {
    gateway: GatewayPort
    jobs?: JobHandlerPort
    routeOf: (endpointId: string) => Promise<Route | null>
  }) {
    this.gateway = deps.gateway
    this.jobs = deps.jobs
    this.routeOf = deps.routeOf
  }

  /** The ids of every endpoint served here. */
  installedIds(): string[] {
    return [...this.gateway.ids(), ...(this.jobs?.installed() ?? [])]
  }

  /** The version serving the endpoint here, if any. */
  currentOf(endpoint: LifecycleEndpoint): { version: number; bindingKey: string } | undefined {
    return endpoint.kind === 'http' ? this.gateway.get(endpoint.id) : this.jobs?.current(endpoint.id)
  }

  /** Puts `version` in service: a first start, or a hot swap that drains the version it replaces. */
  async install(
    endpoint: LifecycleEndpoint,
    version: AnyVersion,
  ): Promise<{ swapped: boolean; draining: DrainReport[] }> {
    if (endpoint.kind === 'job') {
      if (!this.jobs)
        throw new ApiError(
          'conflict',
          'job endpoints need the job runtime, which is not running in this process',
        )
      if (!endpoint.active) throw disabled(endpoint)
      const swapped = this.jobs.current(endpoint.id) !== undefined
      const draining = this.jobs.install(endpoint, version)
      return { swapped, draining }
    }
    const route = await this.routeOf(endpoint.id)
    if (!route) throw disabled(endpoint)
    this.assertRouteFree(endpoint.id, route)
    return this.gateway.install(endpoint.id, route, endpoint.limits, version)
  }

  /** Takes the endpoint out of service; what was in flight drains. */
  async remove(endpoint: LifecycleEndpoint): Promise<DrainReport[]> {
    return endpoint.kind === 'job'
      ? (this.jobs?.remove(endpoint.id) ?? [])
      : (await this.gateway.remove(endpoint.id)).draining
  }

  /** `remove` for an endpoint that no longer exists, whatever its kind was. */
  async removeId(endpointId: string): Promise<void> {
    this.jobs?.remove(endpointId)
    await this.gateway.remove(endpointId)
  }

  /** Keeps an HTTP endpoint routed but answered 503 `endpoint_quarantined`. */
  async quarantine(endpoint: LifecycleEndpoint): Promise<void> {
    if (endpoint.kind === 'http') await this.gateway.quarantine(endpoint.id)
    else this.jobs?.remove(endpoint.id)
  }

  /**
   * Gives an endpoint served here its current route, limits or queue. Returns false when it can
   * no longer be served (it, its collection or its domain is disabled) and was taken out.
   */
  async follow(endpoint: LifecycleEndpoint): Promise<boolean> {
    const id = endpoint.id
    const installedJob = this.jobs?.current(id)
    if (this.jobs && installedJob) {
      if (!endpoint.active) {
        this.jobs.remove(id)
        return false
      }
      if (endpoint.queue !== this.jobs.queueOf(id)) this.jobs.install(endpoint, installedJob)
      return true
    }
    if (!this.gateway.get(id)) return true
    const route = await this.routeOf(id)
    if (!route) {
      await this.gateway.remove(id)
      return false
    }
    await this.gateway.update(id, route, endpoint.limits)
    return true
  }

  /** Old versions of the endpoint still finishing what they started. */
  async draining(endpoint: LifecycleEndpoint): Promise<DrainReport[]> {
    return endpoint.kind === 'job'
      ? (this.jobs?.drainingOf(endpoint.id) ?? [])
      : this.gateway.drainingOf(endpoint.id)
  }

  /** Throws 409 when another routed endpoint already serves this route. */
  assertRouteFree(endpointId: string, route: Route): void {
    const key = routeKey(route)
    for (const id of this.gateway.ids()) {
      const served = this.gateway.get(id)
      if (id !== endpointId && served && routeKey(served.route) === key) {
        throw new ApiError(
          'conflict',
          `${route.method} ${route.path} on host ${route.host} is already served by running endpoint ${served.endpointName}; stop it or choose another path`,
          { endpoint_id: id },
        )
      }
    }
  }
}

function disabled(endpoint: LifecycleEndpoint): ApiError {
  return new ApiError(
    'conflict',
    `endpoint ${endpoint.name} is disabled (or its collection or domain is): enable it to start it`,
  )
}

/** Routes that would collide: same host, method and path shape. */
function routeKey(route: Route): string {
  // Parameter names do not make routes differ; a catch-all and a one-segment parameter do.
  const shape =
    route.path
      .replace(/\{\*[^}]+\}/g, '{*}')
      .replace(/\{[^*}][^}]*\}/g, '{}')
      .replace(/\/+$/, '') || '/'
  return `${route.host} ${route.method} ${shape}`
}
