/*
 * Temporary credentials and signed URLs, made offline from a client's access token with WebCrypto
 * (Node 24 and browsers alike). The formats are the server's (packages/server/src/auth/
 * credentials.ts and keys.ts; docs/api.md, "Temporary credentials"): the Ed25519 seed is
 * HMAC-SHA256(key = access token, "edgeforge/signing-key/v1").
 */

const SIGNING_KEY_INFO = 'edgeforge/signing-key/v1'
const PKCS8_PREFIX = [
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]
export const TEMPORARY_PREFIX = 'eftemp.'
export const SIGNED_URL_PARAM = 'ef_sig'
export const MAX_TEMPORARY_MS = 31 * 24 * 60 * 60 * 1000

const encoder = new TextEncoder()

export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>

async function signingKey(accessToken: string): Promise<Key> {
  const hmac = await crypto.subtle.importKey(
    'raw',
    encoder.encode(accessToken),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const seed = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, encoder.encode(SIGNING_KEY_INFO)))
  const pkcs8 = new Uint8Array([...PKCS8_PREFIX, ...seed])
  return crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign'])
}

export async function signWithToken(accessToken: string, message: string): Promise<string> {
  const key = await signingKey(accessToken)
  return base64url(new Uint8Array(await crypto.subtle.sign('Ed25519', key, encoder.encode(message))))
}

/** node:crypto's few functions used here, reached without an import so browsers load this file. */
interface NodeCrypto {
  createHmac(algorithm: string, key: string): { update(data: string): { digest(): Uint8Array } }
  createPrivateKey(options: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): unknown
  sign(algorithm: null, data: Uint8Array, key: unknown): Uint8Array
}

function nodeCrypto(): NodeCrypto {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const crypto = process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined
  if (!crypto)
    throw new TypeError(
      'synchronous signing needs node:crypto (Node, Deno, Bun); in a browser use `await ef.signUrl(url, { expiresIn })` or `await ef.credentials.temporaryAsync(…)`',
    )
  return crypto
}

/** signWithToken, synchronously with node:crypto: the same Ed25519 key and signature. */
export function signWithTokenSync(accessToken: string, message: string): string {
  const crypto = nodeCrypto()
  const seed = crypto.createHmac('sha256', accessToken).update(SIGNING_KEY_INFO).digest()
  const key = crypto.createPrivateKey({
    key: new Uint8Array([...PKCS8_PREFIX, ...seed]),
    format: 'der',
    type: 'pkcs8',
  })
  return base64url(new Uint8Array(crypto.sign(null, encoder.encode(message), key)))
}

interface CertificateOptions {
  clientId: string
  accessToken: string
  scopes: readonly string[]
  start: number
  expiry: number
}

function certificateMessage(options: CertificateOptions): string {
  if (!(options.expiry > options.start))
    throw new RangeError('temporary credentials must expire after they start')
  if (options.expiry - options.start > MAX_TEMPORARY_MS)
    throw new RangeError('temporary credentials may live at most 31 days')
  const certificate = {
    version: 1,
    issuer: options.clientId,
    scopes: [...options.scopes],
    start: options.start,
    expiry: options.expiry,
  }
  return TEMPORARY_PREFIX + base64url(encoder.encode(JSON.stringify(certificate)))
}

/** `eftemp.<payload>.<signature>`: the caller's scopes narrowed to `scopes` until `expiry`. */
export async function temporaryCredential(options: CertificateOptions): Promise<string> {
  const message = certificateMessage(options)
  return `${message}.${await signWithToken(options.accessToken, message)}`
}

/** temporaryCredential, synchronously (node:crypto). */
export function temporaryCredentialSync(options: CertificateOptions): string {
  const message = certificateMessage(options)
  return `${message}.${signWithTokenSync(options.accessToken, message)}`
}

interface UrlSigning {
  clientId: string
  accessToken: string
  expires: number
}

function urlPayload(options: UrlSigning): string {
  return base64url(encoder.encode(JSON.stringify({ client: options.clientId, expires: options.expires })))
}

function withSignature(pathAndQuery: string, payload: string, signature: string): string {
  return `${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}${SIGNED_URL_PARAM}=${payload}.${signature}`
}

/** `pathAndQuery` with an `ef_sig` parameter the server accepts for GET until `expires`. */
export async function signPathAndQuery(pathAndQuery: string, options: UrlSigning): Promise<string> {
  const payload = urlPayload(options)
  const signature = await signWithToken(options.accessToken, `efurl.${payload}\nGET\n${pathAndQuery}`)
  return withSignature(pathAndQuery, payload, signature)
}

/** signPathAndQuery, synchronously (node:crypto). */
export function signPathAndQuerySync(pathAndQuery: string, options: UrlSigning): string {
  const payload = urlPayload(options)
  return withSignature(
    pathAndQuery,
    payload,
    signWithTokenSync(options.accessToken, `efurl.${payload}\nGET\n${pathAndQuery}`),
  )
}
