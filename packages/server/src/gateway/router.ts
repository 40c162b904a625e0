import FindMyWay from 'find-my-way'
import { toRouterPath } from '../catalog/index.ts'
import type { EndpointSlot } from './registry.ts'

export interface RouteMatch {
  slot: EndpointSlot
  params: Record<string, string>
}

/**
 * An immutable routing table built from the routed slots. A deploy builds a new one and publishes
 * it with one assignment, so a request sees either the old table or the new one, never a half.
 */
export class RouterSnapshot {
  private readonly router = FindMyWay({
    ignoreTrailingSlash: true,
    ignoreDuplicateSlashes: true,
    maxParamLength: 1000,
  })
  private readonly methods = new Set<string>()
  /** Whether any route is bound to a host; without one, lookups skip constraint matching. */
  private hostRoutes = false
  private static readonly NO_CONSTRAINTS = {}
  /** Slots that could not be routed (a conflict that slipped past the lifecycle's checks). */
  readonly skipped: Array<{ endpointId: string; reason: string }> = []

  constructor(slots: Iterable<EndpointSlot>) {
    for (const slot of slots) {
      const { host, method, path } = slot.route
      if (host !== '*') this.hostRoutes = true
      const options = host === '*' ? {} : { constraints: { host } }
      // The handler argument is unused: lookups go through find() and read the store.
      try {
        this.router.on(method as FindMyWay.HTTPMethod, toRouterPath(path), options, noop, slot)
        this.methods.add(method)
      } catch (error) {
        // The lifecycle refuses conflicting routes (409) before they get here; keep the first.
        this.skipped.push({ endpointId: slot.endpointId, reason: (error as Error).message })
      }
    }
  }

  find(method: string, path: string, host: string): RouteMatch | null {
    const constraints = this.hostRoutes ? { host } : RouterSnapshot.NO_CONSTRAINTS
    const found = this.router.find(method as FindMyWay.HTTPMethod, path, constraints)
    if (!found) return null
    return { slot: found.store as EndpointSlot, params: found.params as Record<string, string> }
  }

  /** The methods that would match this path: the `Allow` header of a 405. */
  allowedMethods(path: string, host: string): string[] {
    const allowed: string[] = []
    for (const method of this.methods) {
      if (this.router.find(method as FindMyWay.HTTPMethod, path, { host })) allowed.push(method)
    }
    return allowed.sort()
  }
}

function noop(): void {}
