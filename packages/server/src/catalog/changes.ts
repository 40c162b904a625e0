import type { Queryable } from '../store/index.ts'
import { type CatalogHooks, routeOf, routingKey, sameRoute } from './records.ts'
import { selectEndpointSummaries } from './rows.ts'

/**
 * Runs `apply` inside a transaction and works out which of `endpointIds` it changed the routing
 * of. A running endpoint that would move to a new route must find it free: `assertRouteFree`
 * throws, and the transaction rolls back, before anything is stored. Returns the changed ids,
 * for `endpointsChanged` once the transaction has committed.
 */
export async function trackRouting<T>(
  tx: Queryable,
  hooks: CatalogHooks,
  endpointIds: readonly string[],
  apply: () => Promise<T>,
): Promise<{ result: T; changed: string[] }> {
  const before = new Map((await selectEndpointSummaries(tx, endpointIds)).map((e) => [e.id, e]))
  const result = await apply()
  const after = await selectEndpointSummaries(tx, endpointIds)
  const changed: string[] = []
  for (const endpoint of after) {
    const previous = before.get(endpoint.id)
    if (previous && routingKey(previous) === routingKey(endpoint)) continue
    changed.push(endpoint.id)
    const route = routeOf(endpoint)
    // Only a running endpoint holds a route in the gateway; the others are checked when they start.
    if (endpoint.status === 'running' && route && !sameRoute(route, previous ? routeOf(previous) : null)) {
      hooks.assertRouteFree(endpoint.id, route)
    }
  }
  return { result, changed }
}

/** Calls `endpointsChanged` when there is something to report. */
export async function report(hooks: CatalogHooks, updated: string[], removed: string[]): Promise<void> {
  if (updated.length || removed.length) await hooks.endpointsChanged({ updated, removed })
}
