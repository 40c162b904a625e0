import FindMyWay, { type HTTPMethod } from 'find-my-way'

/**
 * Which methods the control plane serves on a path, for the 405's `allow` header. Fastify's
 * router answers only "no route for this method"; this keeps a second, handler-less radix tree
 * of the same paths, filled as routes are registered and asked only on a miss.
 */
export interface RegisteredRoute {
  method: string
  url: string
  /** The declared operation the route was registered from (`declared()`), if any. */
  operation: string | undefined
}

export class RouteIndex {
  /** Every route as registered, in order. */
  readonly routes: RegisteredRoute[] = []
  private readonly router = FindMyWay({ ignoreTrailingSlash: false, maxParamLength: 1000 })
  private readonly methods = new Set<HTTPMethod>()

  add(method: string | string[], url: string, operation?: string): void {
    for (const one of Array.isArray(method) ? method : [method]) {
      const upper = one.toUpperCase() as HTTPMethod
      this.routes.push({ method: upper, url, operation })
      if (this.router.hasRoute(upper, url)) continue
      this.router.on(upper, url, () => {})
      this.methods.add(upper)
    }
  }

  /** The methods served on this concrete path, sorted; empty when the path has none. */
  methodsOf(path: string): string[] {
    const found: string[] = []
    for (const method of this.methods) if (this.router.find(method, path)) found.push(method)
    return found.sort()
  }
}
