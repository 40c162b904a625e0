import { ApiError } from '@edgeforge/protocol'
import { type ClientRecord, type ClientStore, ROOT_CLIENT_ID } from './clients.ts'
import {
  CredentialError,
  readSignedUrl,
  readTemporaryCredentials,
  TEMPORARY_PREFIX,
  verifySignedUrl,
  verifyTemporary,
} from './credentials.ts'
import { hashAccessToken, publicKeyOf, sameSecret } from './keys.ts'
import { isValidScope, scopesNotCovered } from './scopes.ts'

/** Who is calling and what they may do; handed to routes and to protected handlers. */
export interface Principal {
  clientId: string
  scopes: readonly string[]
  /** How the caller proved it: the admin token, a client's token, a temporary credential, a signed URL, or nothing (open loopback). */
  via: 'root' | 'client' | 'temporary' | 'signed-url' | 'open'
  /** When the credential stops working (UTC ms), if it does. */
  expiresAt: number | null
}

export interface CredentialsInput {
  /** The Authorization header, if any. */
  authorization: string | undefined
  /** The raw path and query, for signed URLs. */
  url: string
  method: string
  /** The x-edgeforge-authorized-scopes header: a space-separated list that narrows the request. */
  authorizedScopes: string | undefined
}

export interface AuthenticatorOptions {
  clients: ClientStore
  /** The configured admin token: the root client with scope `*`. Empty: none. */
  adminToken: string
  /** How long a looked-up client is reused before the store is asked again (other processes' changes). */
  cacheMs: number
  now?: () => number
}

const HINT = 'send "Authorization: Bearer <access token>" (a client\'s token or EDGEFORGE_ADMIN_TOKEN)'
const ROOT_SCOPES: readonly string[] = ['*']
const CACHE_LIMIT = 10_000

interface Cached<T> {
  value: T
  at: number
}

/**
 * Turns a request's credentials into a Principal, or throws a 401 saying what is wrong. Client
 * records are cached for `cacheMs` (and dropped at once when this process changes them), so a
 * protected hello world does not ask the database per request; a client disabled, deleted or
 * reset on another process sharing the database stops working within `cacheMs`.
 */
export class Authenticator {
  private readonly options: AuthenticatorOptions
  private readonly now: () => number
  private readonly rootPublicKey: string | undefined
  private byToken = new Map<string, Cached<ClientRecord | undefined>>()
  private byId = new Map<string, Cached<ClientRecord | undefined>>()
  /** Temporary credentials whose signature verified, with the issuer key it verified against. */
  private verified = new Map<string, string>()

  constructor(options: AuthenticatorOptions) {
    this.options = options
    this.now = options.now ?? Date.now
    this.rootPublicKey = options.adminToken ? publicKeyOf(options.adminToken) : undefined
  }

  /** Whether callers without credentials get in (no admin token: the loopback two-command start). */
  get open(): boolean {
    return !this.options.adminToken
  }

  /** Drops cached records; the client store calls this on every write. */
  forget(): void {
    this.byToken.clear()
    this.byId.clear()
  }

  /**
   * The caller of one request. `allowAnonymous`: with no admin token configured, a request without
   * credentials is the open loopback caller (scope `*`); the data plane passes false.
   */
  async authenticate(input: CredentialsInput, allowAnonymous: boolean): Promise<Principal | undefined> {
    const bearer = readBearer(input.authorization)
    let principal: Principal | undefined
    if (bearer !== undefined) principal = await this.fromBearer(bearer)
    else {
      const signed = this.readSigned(input.url)
      if (signed) {
        if (input.method !== 'GET' && input.method !== 'HEAD')
          throw unauthorized('signed URLs work for GET and HEAD only')
        principal = await this.fromSignedUrl(signed)
      }
    }
    if (!principal) {
      if (allowAnonymous && this.open)
        return { clientId: 'anonymous', scopes: ROOT_SCOPES, via: 'open', expiresAt: null }
      return undefined
    }
    if (input.authorizedScopes !== undefined) principal = narrow(principal, input.authorizedScopes)
    return principal
  }

  private async fromBearer(bearer: string): Promise<Principal> {
    const { adminToken } = this.options
    if (adminToken && sameSecret(bearer, adminToken))
      return { clientId: ROOT_CLIENT_ID, scopes: ROOT_SCOPES, via: 'root', expiresAt: null }
    if (bearer.startsWith(TEMPORARY_PREFIX)) return this.fromTemporary(bearer)
    const record = await this.cached(this.byToken, hashAccessToken(bearer), () =>
      this.options.clients.findByToken(bearer),
    )
    if (!record) throw unauthorized(`the access token is not one of this server's clients: ${HINT}`)
    this.checkUsable(record)
    return { clientId: record.clientId, scopes: record.scopes, via: 'client', expiresAt: record.expiresAt }
  }

  private async fromTemporary(bearer: string): Promise<Principal> {
    const now = this.now()
    try {
      const read = readTemporaryCredentials(bearer)
      const issuer = await this.issuer(read.certificate.issuer)
      // A signature is checked once per issuer key; times, issuer and scopes on every request.
      const knownGood = this.verified.get(bearer) === issuer.publicKey
      verifyTemporary(read, issuer.publicKey, now, knownGood)
      if (!knownGood) {
        if (this.verified.size >= CACHE_LIMIT) this.verified.clear()
        this.verified.set(bearer, issuer.publicKey)
      }
      const beyond = scopesNotCovered(issuer.scopes, read.certificate.scopes)
      if (beyond.length)
        throw new CredentialError(
          `temporary credential grants scopes its issuer ${issuer.clientId} does not have: ${beyond.join(' ')}`,
        )
      const expiresAt = Math.min(read.certificate.expiry, issuer.expiresAt ?? Number.POSITIVE_INFINITY)
      return { clientId: issuer.clientId, scopes: read.certificate.scopes, via: 'temporary', expiresAt }
    } catch (error) {
      if (error instanceof CredentialError) throw unauthorized(error.message)
      throw error
    }
  }

  private readSigned(url: string) {
    try {
      return readSignedUrl(url)
    } catch (error) {
      if (error instanceof CredentialError) throw unauthorized(error.message)
      throw error
    }
  }

  private async fromSignedUrl(signed: NonNullable<ReturnType<typeof readSignedUrl>>): Promise<Principal> {
    try {
      const issuer = await this.issuer(signed.client)
      verifySignedUrl(signed, issuer.publicKey, this.now())
      return {
        clientId: issuer.clientId,
        scopes: issuer.scopes,
        via: 'signed-url',
        expiresAt: signed.expires,
      }
    } catch (error) {
      if (error instanceof CredentialError) throw unauthorized(error.message)
      throw error
    }
  }

  /** The client that signed a temporary credential or URL, checked as if it made the call itself. */
  private async issuer(clientId: string): Promise<{
    clientId: string
    scopes: readonly string[]
    publicKey: string
    expiresAt: number | null
  }> {
    if (clientId === ROOT_CLIENT_ID) {
      if (!this.rootPublicKey)
        throw new CredentialError('issuer root has no key: the server has no EDGEFORGE_ADMIN_TOKEN')
      return { clientId, scopes: ROOT_SCOPES, publicKey: this.rootPublicKey, expiresAt: null }
    }
    const record = await this.cached(this.byId, clientId, () => this.options.clients.find(clientId))
    if (!record) throw new CredentialError(`issuer ${clientId} is not a client of this server`)
    this.checkUsable(record)
    return record
  }

  private checkUsable(record: ClientRecord): void {
    if (record.disabled)
      throw unauthorized(`client ${record.clientId} is disabled; an operator can enable it again`)
    if (record.expiresAt !== null && record.expiresAt <= this.now())
      throw unauthorized(`client ${record.clientId} expired at ${new Date(record.expiresAt).toISOString()}`)
  }

  private async cached(
    cache: Map<string, Cached<ClientRecord | undefined>>,
    key: string,
    load: () => Promise<ClientRecord | undefined>,
  ): Promise<ClientRecord | undefined> {
    const now = this.now()
    const hit = cache.get(key)
    if (hit && now - hit.at < this.options.cacheMs) return hit.value
    const value = await load()
    if (this.options.cacheMs > 0) {
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(key, { value, at: now })
    }
    return value
  }
}

/** The token of an `Authorization: Bearer …` header (scheme case-insensitive, RFC 9110 11.1). */
export function readBearer(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined
  const match = /^bearer +(\S+) *$/i.exec(header)
  if (!match) throw unauthorized(`the Authorization header is not a bearer credential: ${HINT}`)
  return match[1]
}

/** authorizedScopes: the request may use only these, and the caller must hold every one of them. */
function narrow(principal: Principal, header: string): Principal {
  const wanted = header.split(' ').filter(Boolean)
  const bad = wanted.find((scope) => !isValidScope(scope))
  if (bad !== undefined) throw unauthorized(`authorized scope ${JSON.stringify(bad)} is not a scope`)
  const beyond = scopesNotCovered(principal.scopes, wanted)
  if (beyond.length)
    throw unauthorized(
      `x-edgeforge-authorized-scopes asks for scopes ${principal.clientId} does not have: ${beyond.join(' ')}`,
    )
  return { ...principal, scopes: wanted }
}

export function unauthorized(message: string): ApiError {
  return new ApiError('unauthorized', message)
}

/** The 401 for a request that brought no credentials where they are needed. */
export function missingCredentials(): ApiError {
  return unauthorized(`this call needs credentials: ${HINT}`)
}
