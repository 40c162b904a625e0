import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto'

/*
 * Access tokens and the keys derived from them.
 *
 * The server keeps two things per client, neither of which lets anyone call the API: the SHA-256
 * of its access token (an access token is 256 random bits, so a plain hash cannot be reversed by
 * guessing) and an Ed25519 public key. The matching private key is derived from the access token
 * alone, so a holder of the token can sign temporary credentials and URLs offline, and the server
 * verifies them with the stored public key. (Taskcluster signs with HMAC and therefore has to keep
 * the access token itself, encrypted; a public key makes a leaked table harmless instead.)
 */

/** What the signing key of an access token is derived with; part of the wire format. */
export const SIGNING_KEY_INFO = 'edgeforge/signing-key/v1'

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): node imports keys only in a container.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** A new access token: 32 random bytes, base64url (43 characters). */
export function newAccessToken(): string {
  return randomBytes(32).toString('base64url')
}

/** What the store keeps instead of the token. */
export function hashAccessToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}

/** Constant-time comparison of two strings (lengths may differ). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b) && given.length === expected.length
}

/** The Ed25519 private key of an access token: seed = HMAC-SHA256(key = token, SIGNING_KEY_INFO). */
export function signingKey(accessToken: string): KeyObject {
  const seed = createHmac('sha256', accessToken).update(SIGNING_KEY_INFO).digest()
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
}

/** The public key the store keeps for an access token, as base64url of its raw 32 bytes. */
export function publicKeyOf(accessToken: string): string {
  const spki = createPublicKey(signingKey(accessToken)).export({ format: 'der', type: 'spki' })
  // An Ed25519 SPKI is a fixed 12-byte header followed by the 32-byte key.
  return spki.subarray(spki.length - 32).toString('base64url')
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const publicKeys = new Map<string, KeyObject>()

function publicKeyObject(publicKey: string): KeyObject {
  let key = publicKeys.get(publicKey)
  if (!key) {
    key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKey, 'base64url')]),
      format: 'der',
      type: 'spki',
    })
    // Bounded: keys of deleted or reset clients must not pile up forever.
    if (publicKeys.size >= 1024) publicKeys.clear()
    publicKeys.set(publicKey, key)
  }
  return key
}

/** Signs a message with the token's key; base64url signature. */
export function signWithToken(accessToken: string, message: string): string {
  return sign(null, Buffer.from(message, 'utf8'), signingKey(accessToken)).toString('base64url')
}

/** Whether `signature` is the stored public key's signature of `message`. */
export function verifySignature(publicKey: string, message: string, signature: string): boolean {
  const bytes = Buffer.from(signature, 'base64url')
  if (bytes.length !== 64) return false
  try {
    return verify(null, Buffer.from(message, 'utf8'), publicKeyObject(publicKey), bytes)
  } catch {
    return false
  }
}
