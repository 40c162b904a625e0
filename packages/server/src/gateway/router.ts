import FindMyWay from 'find-my-way'
// path-template.ts, not the catalog's index: the router runs in handler threads, which must not load the catalog.
import { catchAllParam, toRouterPath } from '../catalog/path-template.ts'
import type { EndpointSlot } from './registry.ts'

/** find-my-way's lookup result: `store` is what the route was registered with. */
export interface RouteMatch {
  store: EndpointSlot
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
  /**
   * Whether any route is bound to a host. Without one, lookups skip constraint matching and the
   * dispatcher does not parse the Host header at all.
   */
  readonly needsHost: boolean
  private static readonly NO_CONSTRAINTS = {}
  /** The catch-all parameter's name of each slot whose path ends in `{*name}`; none without one. */
  private readonly catchAlls: Map<EndpointSlot, string> | undefined
  /** Slots that could not be routed (a conflict that slipped past the lifecycle's checks). */
  readonly skipped: Array<{ endpointId: string; reason: string }> = []

  constructor(slots: Iterable<EndpointSlot>) {
    let needsHost = false
    let catchAlls: Map<EndpointSlot, string> | undefined
    for (const slot of slots) {
      const { host, method, path } = slot.route
      if (host !== '*') needsHost = true
      const catchAll = catchAllParam(path)
      if (catchAll !== undefined) {
        catchAlls ??= new Map()
        catchAlls.set(slot, catchAll)
      }
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
    this.needsHost = needsHost
    this.catchAlls = catchAlls
  }

  /**
   * The route for a request; `host` only matters when `needsHost`. A HEAD request with no HEAD
   * route of its own goes to the GET route: HEAD is GET without the body (RFC 9110, 9.3.2), and
   * node's `ServerResponse` leaves the body out of a HEAD answer while keeping its headers.
   */
  find(method: string, path: string, host: string): RouteMatch | null {
    const constraints = this.needsHost ? { host } : RouterSnapshot.NO_CONSTRAINTS
    const found = this.router.find(method as FindMyWay.HTTPMethod, path, constraints)
    // find-my-way's answer already has the two fields a match needs: no copy per request.
    if (found) {
      const match = found as unknown as RouteMatch
      if (this.catchAlls !== undefined) this.nameCatchAll(match)
      return match
    }
    if (method === 'HEAD') return this.find('GET', path, host)
    return null
  }

  /** find-my-way calls a catch-all's value `*`: give it the name the template chose. */
  private nameCatchAll(match: RouteMatch): void {
    const name = this.catchAlls?.get(match.store)
    if (name === undefined) return
    const { '*': rest, ...params } = match.params
    params[name] = rest
    match.params = params
  }

  /** The methods that would match this path: the `Allow` header of a 405. */
  allowedMethods(path: string, host: string): string[] {
    const allowed: string[] = []
    for (const method of this.methods) {
      if (this.router.find(method as FindMyWay.HTTPMethod, path, { host })) allowed.push(method)
    }
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD')
    return allowed.sort()
  }
}

function noop(): void {}
