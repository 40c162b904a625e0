import { signWithToken, verifySignature } from './keys.ts'
import { isValidScope } from './scopes.ts'

/*
 * Temporary credentials and signed URLs: both are made offline by whoever holds a client's access
 * token, signed with the key derived from it (keys.ts), and verified by the server against the
 * client's stored public key on every request. Wire formats (docs/api.md repeats them):
 *
 *   temporary credential  eftemp.<payload>.<signature>      sent as `Authorization: Bearer …`
 *     payload   = base64url(JSON { version: 1, issuer, scopes, start, expiry })  (UTC ms)
 *     signature = base64url(Ed25519("eftemp." + payload))
 *
 *   signed URL            <path>?<query>&ef_sig=<payload>.<signature>   (GET and HEAD only)
 *     payload   = base64url(JSON { client, expires })
 *     signature = base64url(Ed25519("efurl." + payload + "\nGET\n" + path-and-query-without-ef_sig))
 */

export const TEMPORARY_PREFIX = 'eftemp.'
export const SIGNED_URL_PARAM = 'ef_sig'
/** The longest a temporary credential may live (Taskcluster's limit). */
export const MAX_TEMPORARY_MS = 31 * 24 * 60 * 60 * 1000
/** Clocks differ: a credential whose start is this far in the future is already accepted. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000

export interface TemporaryCertificate {
  version: 1
  issuer: string
  scopes: string[]
  start: number
  expiry: number
}

export class CredentialError extends Error {}

/**
 * A temporary credential derived from a client's access token, without calling the server.
 *
 * @example
 * const bearer = createTemporaryCredentials({ clientId: 'ci', accessToken, scopes: ['jobs:create:emails'],
 *   expiry: Date.now() + 3_600_000 })
 */
export function createTemporaryCredentials(options: {
  clientId: string
  accessToken: string
  scopes: readonly string[]
  expiry: number
  start?: number
}): string {
  const start = options.start ?? Date.now()
  const certificate: TemporaryCertificate = {
    version: 1,
    issuer: options.clientId,
    scopes: [...options.scopes],
    start,
    expiry: options.expiry,
  }
  checkCertificate(certificate)
  const payload = Buffer.from(JSON.stringify(certificate)).toString('base64url')
  const message = TEMPORARY_PREFIX + payload
  return `${message}.${signWithToken(options.accessToken, message)}`
}

/** Reads a temporary credential's certificate; throws CredentialError saying what is wrong. */
export function readTemporaryCredentials(bearer: string): {
  certificate: TemporaryCertificate
  message: string
  signature: string
} {
  const parts = bearer.slice(TEMPORARY_PREFIX.length).split('.')
  if (!bearer.startsWith(TEMPORARY_PREFIX) || parts.length !== 2)
    throw new CredentialError('temporary credential is not of the form eftemp.<payload>.<signature>')
  let certificate: unknown
  try {
    certificate = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'))
  } catch {
    throw new CredentialError('temporary credential payload is not base64url JSON')
  }
  checkCertificate(certificate)
  return { certificate, message: TEMPORARY_PREFIX + parts[0], signature: parts[1] }
}

/** Checks the certificate's own rules; the issuer's record is checked by the authenticator. */
export function checkCertificate(value: unknown): asserts value is TemporaryCertificate {
  const cert = value as Partial<TemporaryCertificate> | null
  if (typeof cert !== 'object' || cert === null || cert.version !== 1)
    throw new CredentialError('temporary credential certificate must have version 1')
  if (typeof cert.issuer !== 'string' || cert.issuer === '')
    throw new CredentialError('temporary credential names no issuer')
  if (!Array.isArray(cert.scopes) || !cert.scopes.every(isValidScope))
    throw new CredentialError('temporary credential scopes must be scope strings (printable, no spaces)')
  if (!Number.isSafeInteger(cert.start) || !Number.isSafeInteger(cert.expiry))
    throw new CredentialError('temporary credential start and expiry must be UTC milliseconds')
  const start = cert.start as number
  const expiry = cert.expiry as number
  if (expiry <= start) throw new CredentialError('temporary credential expiry must be after its start')
  if (expiry - start > MAX_TEMPORARY_MS)
    throw new CredentialError('temporary credentials may live at most 31 days (expiry - start)')
}

/** Checks a temporary credential's times and signature against the issuer's public key. */
export function verifyTemporary(
  read: ReturnType<typeof readTemporaryCredentials>,
  issuerPublicKey: string,
  now: number,
  signatureKnownGood = false,
): void {
  if (!signatureKnownGood && !verifySignature(issuerPublicKey, read.message, read.signature))
    throw new CredentialError("temporary credential signature does not match the issuer's access token")
  if (read.certificate.start > now + CLOCK_SKEW_MS)
    throw new CredentialError(`temporary credential is not valid before ${iso(read.certificate.start)}`)
  if (read.certificate.expiry <= now)
    throw new CredentialError(`temporary credential expired at ${iso(read.certificate.expiry)}`)
}

/**
 * A URL that works for GET (and HEAD) without an Authorization header until `expires`.
 *
 * @example
 * signUrl('/jobs/0193…', { clientId: 'reports', accessToken, expires: Date.now() + 15 * 60_000 })
 */
export function signUrl(
  pathAndQuery: string,
  options: { clientId: string; accessToken: string; expires: number },
): string {
  const unsigned = withoutSignature(pathAndQuery).unsigned
  const payload = Buffer.from(
    JSON.stringify({ client: options.clientId, expires: options.expires }),
  ).toString('base64url')
  const signature = signWithToken(options.accessToken, signedUrlMessage(payload, unsigned))
  return `${unsigned}${unsigned.includes('?') ? '&' : '?'}${SIGNED_URL_PARAM}=${payload}.${signature}`
}

export interface SignedUrl {
  client: string
  expires: number
  message: string
  signature: string
}

/** Reads a request URL's signature, or undefined when it carries none. */
export function readSignedUrl(rawUrl: string): SignedUrl | undefined {
  const { unsigned, value } = withoutSignature(rawUrl)
  if (value === undefined) return undefined
  const [payload, signature, extra] = value.split('.')
  if (!payload || !signature || extra !== undefined)
    throw new CredentialError(`${SIGNED_URL_PARAM} is not of the form <payload>.<signature>`)
  let claims: { client?: unknown; expires?: unknown }
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw new CredentialError(`${SIGNED_URL_PARAM} payload is not base64url JSON`)
  }
  if (typeof claims?.client !== 'string' || !Number.isSafeInteger(claims.expires))
    throw new CredentialError(`${SIGNED_URL_PARAM} payload must name a client and an expiry`)
  return {
    client: claims.client,
    expires: claims.expires as number,
    message: signedUrlMessage(payload, unsigned),
    signature,
  }
}

export function verifySignedUrl(signed: SignedUrl, publicKey: string, now: number): void {
  if (!verifySignature(publicKey, signed.message, signed.signature))
    throw new CredentialError(
      "the URL's signature does not match it: it was changed after signing, or signed by another key",
    )
  if (signed.expires <= now) throw new CredentialError(`signed URL expired at ${iso(signed.expires)}`)
  if (signed.expires - now > MAX_TEMPORARY_MS)
    throw new CredentialError('signed URLs may live at most 31 days')
}

function signedUrlMessage(payload: string, unsigned: string): string {
  return `efurl.${payload}\nGET\n${unsigned}`
}

/** Splits the `ef_sig` parameter off a path-and-query, keeping the other parameters in order. */
function withoutSignature(pathAndQuery: string): { unsigned: string; value?: string } {
  const queryAt = pathAndQuery.indexOf('?')
  if (queryAt === -1) return { unsigned: pathAndQuery }
  const path = pathAndQuery.slice(0, queryAt)
  let value: string | undefined
  const kept: string[] = []
  for (const pair of pathAndQuery.slice(queryAt + 1).split('&')) {
    if (pair.startsWith(`${SIGNED_URL_PARAM}=`)) value = pair.slice(SIGNED_URL_PARAM.length + 1)
    else if (pair !== '') kept.push(pair)
  }
  return { unsigned: kept.length ? `${path}?${kept.join('&')}` : path, value }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
