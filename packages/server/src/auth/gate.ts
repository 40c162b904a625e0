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
    const found = this.lookup(authorization)
    if (found instanceof ApiError) return { ok: false, error: found }
    if (typeof found !== 'string') return { ok: true, principal: found.principal }
    try {
      const principal = await this.authenticate(found, authorization)
      return principal ? { ok: true, principal } : { ok: false, error: missingCredentials() }
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error }
      throw error
    }
  }

  /** Synchronous when the credential is cached (or missing or malformed), a promise otherwise. */
  check(authorization: string | undefined, required: readonly string[]): GateResult | Promise<GateResult> {
    const found = this.lookup(authorization)
    if (found instanceof ApiError) return { ok: false, error: found }
    if (typeof found !== 'string') {
      if (found.required !== required) {
        found.required = required
        found.result = decide(found.principal, required)
      }
      return found.result as GateResult
    }
    return this.authenticate(found, authorization).then(
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

  /**
   * What the cache knows of a request's credential, without allocating on a hit: the 401 for a
   * missing or malformed one, the fresh cached entry, or the bearer to authenticate.
   */
  private lookup(authorization: string | undefined): ApiError | CachedPrincipal | string {
    let bearer: string | undefined
    try {
      bearer = readBearer(authorization)
    } catch (error) {
      return error as ApiError
    }
    if (bearer === undefined) return missingCredentials()
    const hit = this.cache.get(bearer)
    if (hit === undefined) return bearer
    const now = this.now()
    const fresh =
      now - hit.at < this.options.cacheMs && (hit.principal.expiresAt ?? Number.POSITIVE_INFINITY) > now
    return fresh ? hit : bearer
  }

  private async authenticate(bearer: string, authorization: string | undefined) {
    const principal = await this.options.authenticate(
      { authorization, url: '', method: 'GET', authorizedScopes: undefined },
      false,
    )
    if (principal && this.options.cacheMs > 0) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear()
      this.cache.set(bearer, { principal, at: this.now() })
    }
    return principal
  }
}
