import type { HandlerFunction } from '@edgeforge/sdk'
import type { VersionServices } from './services.ts'

/** Where an endpoint is served: `host` is '*' or a lower-case hostname; `path` a template. */
export interface Route {
  host: string
  method: string
  path: string
}

export interface EndpointLimits {
  timeoutMs: number
  bodyLimitBytes: number
  drainTimeoutMs: number
  /** Scopes a caller's bearer credential must hold, all of them; absent or null: public. */
  authScopes?: readonly string[] | null
}

const NO_ENV: Readonly<Record<string, string>> = Object.freeze({})

// Any entry point: `never[]` parameters accept every function type without `any`.
type AnyFunction = (...args: never[]) => unknown

/** Where the answered requests of one endpoint are counted (observability/metrics.ts). */
export interface RequestSeries {
  observe(status: number, seconds: number): void
}

/**
 * One loaded version of an endpoint's handler. Requests hold it through acquire/release; once
 * it is draining and the last request releases it, `drained` resolves and nothing references it
 * any more, so the module it came from can be garbage-collected.
 */
export class HandlerVersion<F extends AnyFunction = HandlerFunction> {
  readonly endpointId: string
  readonly endpointName: string
  readonly version: number
  readonly fn: F
  /** Translates a stack trace of this version to TypeScript positions. */
  readonly mapStack: (stack: string) => string
  /**
   * Whether the bundle mentions `console` at all. The bundle's console is a wrapper parameter, so
   * code that never names it cannot write to it: such versions run without entering the request
   * scope that attributes console lines to a request.
   */
  readonly usesConsole: boolean
  inFlight = 0
  draining = false
  /** The supervisor's number for its endpoint, written to shared memory while it runs (threads/liveness.ts). */
  watchSlot = 0
  /** Its drain timeout passed: what it still holds is being cut off, and it takes no more work. */
  expired = false
  /** The endpoint's metrics series; the dispatcher attaches it on the version's first request. */
  series: RequestSeries | undefined
  /** `ctx.database()`… for this version: its endpoint's service bindings when it was loaded. */
  services: VersionServices | undefined = undefined
  /** The endpoint's environment (ctx.env) when it was loaded: frozen, and this version's alone. */
  env: Readonly<Record<string, string>> = NO_ENV
  /**
   * Which bindings and environment it was made with (the lifecycle compares it to swap in a fresh
   * instance when either changed).
   */
  bindingKey = '[]'
  readonly drained: Promise<void>
  private resolveDrained!: () => void

  constructor(init: {
    endpointId: string
    endpointName: string
    version: number
    fn: F
    mapStack: (stack: string) => string
    usesConsole?: boolean
  }) {
    this.endpointId = init.endpointId
    this.endpointName = init.endpointName
    this.version = init.version
    this.fn = init.fn
    this.mapStack = init.mapStack
    this.usesConsole = init.usesConsole ?? true
    this.drained = new Promise((resolve) => {
      this.resolveDrained = resolve
    })
  }

  acquire(): void {
    this.inFlight += 1
  }

  release(): void {
    this.inFlight -= 1
    if (this.draining && this.inFlight === 0) this.resolveDrained()
  }

  startDraining(): void {
    this.draining = true
    if (this.inFlight === 0) this.resolveDrained()
  }
}

/** A routed endpoint: its route, limits and the version that takes new requests. */
export interface EndpointSlot<F extends AnyFunction = HandlerFunction> {
  readonly endpointId: string
  route: Route
  limits: EndpointLimits
  current: HandlerVersion<F>
  /** Its handler kept stopping threads: answered 503 `endpoint_quarantined` instead of being run. */
  quarantined?: boolean
}

export interface DrainReport {
  version: number
  in_flight: number
}

/** What a swap or removal hands back: the versions still finishing requests. */
export interface SwapResult {
  swapped: boolean
  draining: DrainReport[]
}

/**
 * The live handler versions: one current version per routed endpoint, plus the old versions that
 * are finishing their in-flight requests. The data plane reads slots; the deploy lifecycle writes.
 */
export class HandlerRegistry<F extends AnyFunction = HandlerFunction> {
  readonly slots = new Map<string, EndpointSlot<F>>()
  readonly draining = new Set<HandlerVersion<F>>()
  /**
   * Called when a draining version's drain timeout passes with requests still in flight: whoever
   * runs them (the dispatcher) aborts them and answers them, which releases the version. Until it
   * is released it stays in `draining`, so stats never forget work that is still running.
   */
  onDrainTimeout: ((version: HandlerVersion<F>) => void) | undefined

  constructor(options: { onDrainTimeout?: (version: HandlerVersion<F>) => void } = {}) {
    this.onDrainTimeout = options.onDrainTimeout
  }

  get(endpointId: string): EndpointSlot<F> | undefined {
    return this.slots.get(endpointId)
  }

  /**
   * Makes `version` the one that takes new requests for the endpoint (one assignment), and sends
   * the previous version, if any, to drain.
   */
  install(endpointId: string, route: Route, limits: EndpointLimits, version: HandlerVersion<F>): SwapResult {
    const slot = this.slots.get(endpointId)
    if (!slot) {
      this.slots.set(endpointId, { endpointId, route, limits, current: version })
      return { swapped: false, draining: [] }
    }
    const previous = slot.current
    slot.current = version
    slot.route = route
    slot.limits = limits
    const draining = previous === version ? [] : this.retire(previous, limits.drainTimeoutMs)
    return { swapped: previous !== version, draining }
  }

  /** Takes the endpoint out of service; its version drains. */
  remove(endpointId: string): SwapResult {
    const slot = this.slots.get(endpointId)
    if (!slot) return { swapped: false, draining: [] }
    this.slots.delete(endpointId)
    return { swapped: false, draining: this.retire(slot.current, slot.limits.drainTimeoutMs) }
  }

  /** Updates route and limits of a routed endpoint without touching its version. */
  update(endpointId: string, route: Route, limits: EndpointLimits): void {
    const slot = this.slots.get(endpointId)
    if (slot) {
      slot.route = route
      slot.limits = limits
    }
  }

  private retire(version: HandlerVersion<F>, drainTimeoutMs: number): DrainReport[] {
    version.startDraining()
    if (version.inFlight === 0) return []
    this.draining.add(version)
    const timer = setTimeout(() => {
      version.expired = true
      this.onDrainTimeout?.(version)
    }, drainTimeoutMs)
    timer.unref()
    version.drained.then(() => {
      clearTimeout(timer)
      this.draining.delete(version)
    })
    return [{ version: version.version, in_flight: version.inFlight }]
  }

  /** Old versions of this endpoint that are still finishing requests. */
  drainingOf(endpointId: string): DrainReport[] {
    const reports: DrainReport[] = []
    for (const version of this.draining) {
      if (version.endpointId === endpointId)
        reports.push({ version: version.version, in_flight: version.inFlight })
    }
    return reports
  }

  stats() {
    let activeRequests = 0
    let drainingRequests = 0
    for (const slot of this.slots.values()) activeRequests += slot.current.inFlight
    for (const version of this.draining) drainingRequests += version.inFlight
    return {
      loaded: this.slots.size,
      draining: this.draining.size,
      active_requests: activeRequests,
      draining_requests: drainingRequests,
    }
  }
}
