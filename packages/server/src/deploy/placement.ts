import { ApiError } from '@edgeforge/protocol'
import type { HandlerFunction, JobFunction } from '@edgeforge/sdk'
import type { DrainReport, HandlerRegistry, HandlerVersion, Route } from '../gateway/index.ts'
import type { JobHandlerPort, LifecycleEndpoint } from './ports.ts'
import type { AnyVersion } from './version.ts'

/**
 * Where this process serves endpoint versions: the gateway's registry for HTTP endpoints, the job
 * runtime for job endpoints. The lifecycle decides what should run; this is the one place that
 * knows which of the two tables an endpoint lives in, and how it gets in and out.
 */
export class Placement {
  private readonly registry: HandlerRegistry
  private readonly jobs: JobHandlerPort | undefined
  private readonly routeOf: (endpointId: string) => Promise<Route | null>

  constructor(deps: {
    registry: HandlerRegistry
    jobs?: JobHandlerPort
    routeOf: (endpointId: string) => Promise<Route | null>
  }) {
    this.registry = deps.registry
    this.jobs = deps.jobs
    this.routeOf = deps.routeOf
  }

  /** The ids of every endpoint served here. */
  installedIds(): string[] {
    return [...this.registry.slots.keys(), ...(this.jobs?.installed() ?? [])]
  }

  /** The version served here (or running jobs) for the endpoint; undefined when none. */
  versionOf(endpoint: LifecycleEndpoint): number | undefined {
    return this.currentOf(endpoint)?.version
  }

  /** The version serving the endpoint here, if any. */
  currentOf(endpoint: LifecycleEndpoint): AnyVersion | undefined {
    return endpoint.kind === 'http'
      ? this.registry.get(endpoint.id)?.current
      : this.jobs?.current(endpoint.id)
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
      // A job version's entry point is a JobFunction: instantiate checked the definition's kind.
      const draining = this.jobs.install(endpoint, version as unknown as HandlerVersion<JobFunction>)
      return { swapped, draining }
    }
    const route = await this.routeOf(endpoint.id)
    if (!route) throw disabled(endpoint)
    this.assertRouteFree(endpoint.id, route)
    return this.registry.install(
      endpoint.id,
      route,
      endpoint.limits,
      version as HandlerVersion<HandlerFunction>,
    )
  }

  /** Takes the endpoint out of service; what was in flight drains. */
  remove(endpoint: LifecycleEndpoint): DrainReport[] {
    return endpoint.kind === 'job'
      ? (this.jobs?.remove(endpoint.id) ?? [])
      : this.registry.remove(endpoint.id).draining
  }

  /** `remove` for an endpoint that no longer exists, whatever its kind was. */
  removeId(endpointId: string): void {
    this.registry.remove(endpointId)
    this.jobs?.remove(endpointId)
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
    if (!this.registry.get(id)) return true
    const route = await this.routeOf(id)
    if (!route) {
      this.registry.remove(id)
      return false
    }
    this.registry.update(id, route, endpoint.limits)
    return true
  }

  /** Old versions of the endpoint still finishing what they started. */
  draining(endpoint: LifecycleEndpoint): DrainReport[] {
    return endpoint.kind === 'job'
      ? (this.jobs?.drainingOf(endpoint.id) ?? [])
      : this.registry.drainingOf(endpoint.id)
  }

  /** Throws 409 when another routed endpoint already serves this route. */
  assertRouteFree(endpointId: string, route: Route): void {
    const key = routeKey(route)
    for (const slot of this.registry.slots.values()) {
      if (slot.endpointId !== endpointId && routeKey(slot.route) === key) {
        throw new ApiError(
          'conflict',
          `${route.method} ${route.path} on host ${route.host} is already served by running endpoint ${slot.current.endpointName}; stop it or choose another path`,
          { endpoint_id: slot.endpointId },
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
