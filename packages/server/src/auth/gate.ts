import { ApiError } from '@edgeforge/protocol'
import { type CredentialsInput, missingCredentials, type Principal, readBearer } from './authenticator.ts'
import { decide, type GateResult } from './verdict.ts'

export type { EndpointAuth, GateResult } from './verdict.ts'

interface CachedPrincipal {
  principal: Principal
  at: number
  /** The last decision, for the endpoint scopes array it was made for (the same array per endpoint). */
  required?: readonly string[]
  result?: GateResult
}

export interface EndpointGateOptions {
  /** Turns credentials into a principal; the control plane's Authenticator. */
  authenticate(input: CredentialsInput, allowAnonymous: false): Promise<Principal | undefined>
  /** How long a bearer's principal is reused without asking `authenticate` again. */
  cacheMs: number
  now?: () => number
}

const CACHE_LIMIT = 10_000

/**
 * The one function the data plane calls for an endpoint with `auth: { scopes }`: checks the
 * request's bearer credential and the endpoint's scopes (all of them are required). A principal is
 * cached per bearer for `cacheMs`, so a protected hello world pays a Map lookup and a scope check
 * per request, synchronously; only the first request of a credential (or the first after the
 * cache time) waits for the store. Cached principals are dropped when any client changes on this
 * process (`forget`), and never outlive their credential's expiry.
 */
export class EndpointGate {
  private readonly options: EndpointGateOptions
  private readonly now: () => number
  private cache = new Map<string, CachedPrincipal>()

  constructor(options: EndpointGateOptions) {
    this.options = options
    this.now = options.now ?? Date.now
  }

  forget(): void {
    this.cache.clear()
  }

  /**
   * The bearer's principal, for the handler threads, which cache it and decide the scopes
   * themselves (threads/auth-cache.ts): the same cache and the same 401s as `check`.
   */
  async principal(
    authorization: string | undefined,
  ): Promise<{ ok: true; principal: Principal } | { ok: false; error: ApiError }> {
    let bearer: string | undefined
    try {
      bearer = readBearer(authorization)
    } catch (error) {
      return { ok: false, error: error as ApiError }
    }
    if (bearer === undefined) return { ok: false, error: missingCredentials() }
    const now = this.now()
    const hit = this.cache.get(bearer)
    if (hit && this.fresh(hit, now)) return { ok: true, principal: hit.principal }
    try {
      const principal = await this.authenticate(bearer, authorization, now)
      return principal ? { ok: true, principal } : { ok: false, error: missingCredentials() }
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error }
      throw error
    }
  }

  private fresh(hit: CachedPrincipal, now: number): boolean {
    return now - hit.at < this.options.cacheMs && (hit.principal.expiresAt ?? Number.POSITIVE_INFINITY) > now
  }

  private async authenticate(bearer: string, authorization: string | undefined, now: number) {
    const principal = await this.options.authenticate(
      { authorization, url: '', method: 'GET', authorizedScopes: undefined },
      false,
    )
    if (principal && this.options.cacheMs > 0) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear()
      this.cache.set(bearer, { principal, at: now })
    }
    return principal
  }

  /** Synchronous when the credential is cached (or missing or malformed), a promise otherwise. */
  check(authorization: string | undefined, required: readonly string[]): GateResult | Promise<GateResult> {
    let bearer: string | undefined
    try {
      bearer = readBearer(authorization)
    } catch (error) {
      return { ok: false, error: error as ApiError }
    }
    if (bearer === undefined) return { ok: false, error: missingCredentials() }
    const now = this.now()
    const hit = this.cache.get(bearer)
    if (hit && this.fresh(hit, now)) {
      if (hit.required !== required) {
        hit.required = required
        hit.result = decide(hit.principal, required)
      }
      return hit.result as GateResult
    }
    return this.authenticate(bearer, authorization, now).then(
      (principal) => {
        if (!principal) return { ok: false as const, error: missingCredentials() }
        return decide(principal, required)
      },
      (error: unknown) => {
        if (error instanceof ApiError) return { ok: false as const, error }
        throw error
      },
    )
  }
}
