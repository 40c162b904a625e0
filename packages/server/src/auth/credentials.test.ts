import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  CredentialError,
  createTemporaryCredentials,
  MAX_TEMPORARY_MS,
  readSignedUrl,
  readTemporaryCredentials,
  signUrl,
  verifySignedUrl,
  verifyTemporary,
} from './credentials.ts'
import { hashAccessToken, newAccessToken, publicKeyOf, signWithToken, verifySignature } from './keys.ts'

const NOW = Date.parse('2026-12-01T12:00:00Z')
const HOUR = 3_600_000

test('keys: tokens are random, the stored hash and public key verify signatures only of that token', () => {
  const token = newAccessToken()
  const other = newAccessToken()
  assert.match(token, /^[A-Za-z0-9_-]{43}$/)
  assert.notEqual(token, other)
  assert.notEqual(hashAccessToken(token), token)
  assert.equal(publicKeyOf(token), publicKeyOf(token), 'derived deterministically')
  const signature = signWithToken(token, 'message')
  assert.equal(verifySignature(publicKeyOf(token), 'message', signature), true)
  assert.equal(verifySignature(publicKeyOf(token), 'messagE', signature), false)
  assert.equal(verifySignature(publicKeyOf(other), 'message', signature), false)
  assert.equal(verifySignature(publicKeyOf(token), 'message', 'garbage'), false)
})

test('temporary credentials: valid ones verify; expired, early, over-long, tampered or foreign ones do not', () => {
  const token = newAccessToken()
  const publicKey = publicKeyOf(token)
  const bearer = createTemporaryCredentials({
    clientId: 'ci',
    accessToken: token,
    scopes: ['jobs:create:emails'],
    start: NOW,
    expiry: NOW + HOUR,
  })
  const read = readTemporaryCredentials(bearer)
  assert.deepEqual(read.certificate, {
    version: 1,
    issuer: 'ci',
    scopes: ['jobs:create:emails'],
    start: NOW,
    expiry: NOW + HOUR,
  })
  verifyTemporary(read, publicKey, NOW + 1000)
  // The clock skew allowance: a credential starting in two minutes is already good.
  verifyTemporary(read, publicKey, NOW - 2 * 60_000)
  assert.throws(() => verifyTemporary(read, publicKey, NOW - 10 * 60_000), /not valid before/)
  assert.throws(() => verifyTemporary(read, publicKey, NOW + HOUR), /expired at 2026-12-01T13:00:00.000Z/)
  assert.throws(() => verifyTemporary(read, publicKeyOf(newAccessToken()), NOW), /signature does not match/)

  // Widening the scopes in the payload breaks the signature.
  const [prefix, , signature] = bearer.split('.')
  const widened = Buffer.from(JSON.stringify({ ...read.certificate, scopes: ['*'] })).toString('base64url')
  const tampered = readTemporaryCredentials(`${prefix}.${widened}.${signature}`)
  assert.throws(() => verifyTemporary(tampered, publicKey, NOW), CredentialError)

  assert.throws(
    () =>
      createTemporaryCredentials({
        clientId: 'ci',
        accessToken: token,
        scopes: [],
        start: NOW,
        expiry: NOW + MAX_TEMPORARY_MS + 1,
      }),
    /at most 31 days/,
  )
  assert.throws(
    () =>
      createTemporaryCredentials({ clientId: 'ci', accessToken: token, scopes: [], start: NOW, expiry: NOW }),
    /after its start/,
  )
  assert.throws(() => readTemporaryCredentials('eftemp.nonsense'), /eftemp.<payload>.<signature>/)
  assert.throws(() => readTemporaryCredentials('eftemp.!!!.sig'), /base64url JSON/)
})

test('signed URLs: valid until expiry; a changed path, query or expiry breaks them', () => {
  const token = newAccessToken()
  const publicKey = publicKeyOf(token)
  const url = signUrl('/jobs?queue=emails&status=failed', {
    clientId: 'reports',
    accessToken: token,
    expires: NOW + HOUR,
  })
  assert.match(url, /^\/jobs\?queue=emails&status=failed&ef_sig=[\w-]+\.[\w-]+$/)
  const signed = readSignedUrl(url)
  assert.ok(signed)
  assert.equal(signed.client, 'reports')
  verifySignedUrl(signed, publicKey, NOW)
  assert.throws(() => verifySignedUrl(signed, publicKey, NOW + HOUR), /expired/)

  // The parameter may sit anywhere in the query; the rest keeps its order.
  const sig = url.slice(url.indexOf('ef_sig='))
  const moved = readSignedUrl(`/jobs?${sig}&queue=emails&status=failed`)
  assert.ok(moved)
  verifySignedUrl(moved, publicKey, NOW)

  for (const changed of [
    url.replace('emails', 'secrets'),
    url.replace('/jobs', '/jobz'),
    url.replace('&status=failed', ''),
    url.replace('?queue', '?x=1&queue'),
  ]) {
    const read = readSignedUrl(changed)
    assert.ok(read)
    assert.throws(() => verifySignedUrl(read, publicKey, NOW), /changed after signing/, changed)
  }
  // A later expiry in the payload with the old signature.
  const [payload, signature] = sig.slice('ef_sig='.length).split('.')
  const later = Buffer.from(JSON.stringify({ client: 'reports', expires: NOW + 2 * HOUR })).toString(
    'base64url',
  )
  assert.notEqual(later, payload)
  const extended = readSignedUrl(`/jobs?queue=emails&status=failed&ef_sig=${later}.${signature}`)
  assert.ok(extended)
  assert.throws(() => verifySignedUrl(extended, publicKey, NOW), /changed after signing/)

  assert.equal(readSignedUrl('/jobs?queue=emails'), undefined)
  assert.throws(() => readSignedUrl('/jobs?ef_sig=nodot'), /<payload>.<signature>/)
  const tooLong = readSignedUrl(
    signUrl('/jobs', { clientId: 'r', accessToken: token, expires: NOW + 40 * 24 * HOUR }),
  )
  assert.ok(tooLong)
  assert.throws(() => verifySignedUrl(tooLong, publicKey, NOW), /at most 31 days/)
})
