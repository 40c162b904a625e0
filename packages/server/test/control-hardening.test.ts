import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isErrorCode } from '@edgeforge/protocol'
import { createEndpoint, expectError, expectStatus, type RawReply, rawRequest } from './support/endpoints.ts'
import { startTestServer } from './support/server.ts'

// Issue 9 items 4-7: the control plane refuses wrong JSON types, answers only its own host names
// and origin without a token, keeps router-level errors in the envelope behind the token check, and
// reads the bearer scheme in any case.

const TOKEN = 'hardening-Token-4c1e'

function envelope(reply: RawReply, status: number, code: string): { message: string; details?: unknown } {
  assert.equal(reply.status, status, reply.body)
  const body = JSON.parse(reply.body) as { ok: boolean; error: { code: string; message: string } }
  assert.equal(body.ok, false, reply.body)
  assert.equal(body.error.code, code, reply.body)
  assert.ok(isErrorCode(body.error.code), `${body.error.code} is in the registry`)
  assert.match(String(reply.headers['x-request-id']), /\S/, 'an x-request-id on every answer')
  return body.error
}

test('a JSON body with a wrong type is a 400 naming the field; query strings still coerce', async (t) => {
  const srv = await startTestServer(t)
  const named5 = await srv.api('POST', '/api/endpoints', { name: 5, path: '/x', method: 'GET', code: 'x' })
  assert.match(expectError(named5, 400, 'validation_failed').message, /body\.name/)
  expectStatus(await srv.api('GET', '/api/endpoints?name=5'), 200)

  const domain = expectStatus(
    await srv.api<{ id: string }>('POST', '/api/domains', { name: 'd', host: 'd.test', description: 'kept' }),
    201,
  ).body.data
  const bad = await srv.api('PUT', `/api/domains/${domain.id}`, { name: [4568], description: false })
  assert.match(expectError(bad, 400, 'validation_failed').message, /body\.(name|description)/)
  const stored = await srv.api<{ name: string; description: string }>('GET', `/api/domains/${domain.id}`)
  assert.deepEqual([stored.body.data.name, stored.body.data.description], ['d', 'kept'], 'nothing stored')

  const job = await srv.api('POST', '/jobs', { queue: 'q', payload: {}, priority: true })
  assert.match(expectError(job, 400, 'validation_failed').message, /priority/)
  const attempts = await srv.api('POST', '/jobs', { queue: 'q', payload: {}, max_attempts: '7' })
  assert.match(expectError(attempts, 400, 'validation_failed').message, /max_attempts/)

  // Text in a query string is still read as the number or boolean the schema asks for.
  const listed = await srv.api('GET', '/api/endpoints?limit=2&include_code=true')
  expectStatus(listed, 200)
})

test('without a token only loopback and configured host names are answered, and no cross-origin browser call', async (t) => {
  const srv = await startTestServer(t, { 'control-allowed-hosts': 'ops.internal.test' })
  const base = srv.controlUrl
  const port = new URL(base).port
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'ops.internal.test']) {
    assert.equal((await rawRequest(base, { path: '/api/health', host })).status, 200, host)
  }
  for (const host of [`evil.example:${port}`, 'attacker.test', '10.0.0.5']) {
    const error = envelope(await rawRequest(base, { path: '/api/endpoints', host }), 403, 'forbidden')
    assert.match(error.message, /host name/)
  }
  // A rebinding page's body-less action, and a router-level error path: refused before anything runs.
  const rebound = await rawRequest(base, {
    method: 'POST',
    path: '/queue/q/retry-failed',
    host: `evil.example:${port}`,
    headers: { origin: `http://evil.example:${port}`, 'content-type': 'text/plain' },
  })
  envelope(rebound, 403, 'forbidden')
  envelope(await rawRequest(base, { path: '/api/endpoints/%zz', host: 'evil.example' }), 403, 'forbidden')

  // A page on another origin posting to the real loopback address (CSRF): refused on every route.
  const crossSite = await rawRequest(base, {
    method: 'POST',
    path: '/queue/q/retry-failed',
    host: `127.0.0.1:${port}`,
    headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
  })
  assert.match(envelope(crossSite, 403, 'forbidden').message, /cross-origin/)
  envelope(
    await rawRequest(base, { path: '/api/health', host: `127.0.0.1:${port}`, headers: { origin: 'null' } }),
    403,
    'forbidden',
  )
  const sameOrigin = await rawRequest(base, {
    path: '/api/health',
    host: `127.0.0.1:${port}`,
    headers: { origin: `http://127.0.0.1:${port}` },
  })
  assert.equal(sameOrigin.status, 200, sameOrigin.body)
})

test('router-level errors are enveloped with registry codes; a missing method is a 405 with allow', async (t) => {
  const srv = await startTestServer(t)
  const base = srv.controlUrl
  envelope(await rawRequest(base, { path: `/api/endpoints/${'a'.repeat(300)}` }), 414, 'uri_too_long')
  envelope(await rawRequest(base, { path: '/api/endpoints/%zz' }), 400, 'bad_request')
  envelope(await rawRequest(base, { path: '/api/nothing-here' }), 404, 'not_found')
  const patch = await rawRequest(base, { method: 'PATCH', path: '/api/endpoints/abc' })
  const error = envelope(patch, 405, 'method_not_allowed')
  assert.deepEqual(String(patch.headers.allow).split(', '), ['DELETE', 'GET', 'HEAD', 'PUT'])
  assert.deepEqual(error.details, { allow: ['DELETE', 'GET', 'HEAD', 'PUT'] })
  const given = await rawRequest(base, { path: '/api/nothing', headers: { 'x-request-id': 'trace-77' } })
  assert.equal(given.headers['x-request-id'], 'trace-77')
})

test('with a token an unauthenticated caller gets 401 before any router error, and the scheme is case-insensitive', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': TOKEN })
  const base = srv.controlUrl
  for (const path of [`/api/endpoints/${'a'.repeat(300)}`, '/api/endpoints/%zz', '/api/nothing-here']) {
    envelope(await rawRequest(base, { path }), 401, 'unauthorized')
  }
  envelope(await rawRequest(base, { method: 'PATCH', path: '/api/endpoints/abc' }), 401, 'unauthorized')
  // With a token, any Host is answered (the token is the guard), but only to the token's holder.
  envelope(await rawRequest(base, { path: '/api/health', host: 'gateway.example.test' }), 401, 'unauthorized')

  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    const reply = await srv.api('GET', '/api/health', undefined, { authorization: `${scheme} ${TOKEN}` })
    expectStatus(reply, 200)
  }
  for (const header of [`Basic ${TOKEN}`, `Bearer${TOKEN}`, `Bearer ${TOKEN}x`, TOKEN]) {
    expectError(
      await srv.api('GET', '/api/health', undefined, { authorization: header }),
      401,
      'unauthorized',
    )
  }
  const authed = { authorization: `bearer ${TOKEN}` }
  envelope(
    await rawRequest(base, { path: `/api/endpoints/${'a'.repeat(300)}`, headers: authed }),
    414,
    'uri_too_long',
  )
  await createEndpoint(
    { ...srv, api: (m, p, b, h) => srv.api(m, p, b, { ...authed, ...h }) },
    { name: 'ok', path: '/ok', method: 'GET', code: 'export default 1' },
  )
})
