import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createTemporaryCredentials, signUrl } from '../src/auth/index.ts'
import { loadConfig } from '../src/config.ts'
import { expectError, expectStatus } from './support/endpoints.ts'
import { type ApiReply, startTestServer, type TestServer } from './support/server.ts'

const ROOT = 'root-token-for-auth-tests-0123456789'

interface ClientView {
  client_id: string
  description: string
  scopes: string[]
  expires: string | null
  disabled: boolean
  access_token?: string
}

interface Caller {
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiReply<T>>
}

function bearer(srv: TestServer, token: string): Caller {
  return {
    api: (method, path, body, headers = {}) =>
      srv.api(method, path, body, { authorization: `Bearer ${token}`, ...headers }),
  }
}

async function createClient(
  caller: Caller,
  clientId: string,
  body: { scopes: string[]; expires?: string | null; description?: string },
): Promise<ClientView & { access_token: string }> {
  const reply = await caller.api<ClientView & { access_token: string }>(
    'POST',
    `/api/clients/${encodeURIComponent(clientId)}`,
    body,
  )
  return expectStatus(reply, 201).body.data
}

test('clients: create shows the token once, it authenticates with exactly its scopes; 401 and 403 say why', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT })
  const root = bearer(srv, ROOT)

  const whoRoot = expectStatus(await root.api('GET', '/api/auth/current-scopes'), 200).body.data
  assert.deepEqual(whoRoot, { client_id: 'root', scopes: ['*'], via: 'root', expires: null })

  const ci = await createClient(root, 'ci/hello', {
    description: 'CI for hello',
    scopes: ['endpoints:deploy:hello', 'endpoints:read:*'],
    expires: '2099-01-01T00:00:00Z',
  })
  assert.equal(ci.client_id, 'ci/hello')
  assert.match(ci.access_token, /^[\w-]{43}$/)
  assert.deepEqual(ci.scopes, ['endpoints:deploy:hello', 'endpoints:read:*'])
  assert.equal(ci.expires, '2099-01-01T00:00:00.000Z')

  // Never shown again: not by get, list, update or any error.
  const got = expectStatus(await root.api<ClientView>('GET', '/api/clients/ci%2Fhello'), 200).body.data
  assert.equal(got.access_token, undefined)
  const listed = expectStatus(await root.api<ClientView[]>('GET', '/api/clients'), 200)
  assert.equal(listed.body.data.length, 1)
  assert.ok(!JSON.stringify(listed.body).includes(ci.access_token))

  const asCi = bearer(srv, ci.access_token)
  const who = expectStatus(await asCi.api('GET', '/api/auth/current-scopes'), 200).body.data
  assert.deepEqual(who, {
    client_id: 'ci/hello',
    scopes: ['endpoints:deploy:hello', 'endpoints:read:*'],
    via: 'client',
    expires: '2099-01-01T00:00:00.000Z',
  })
  expectStatus(await asCi.api('GET', '/api/endpoints'), 200)

  // 403 names the unsatisfied expression and the caller's scopes.
  const denied = expectError(await asCi.api('GET', '/api/domains'), 403, 'insufficient_scopes')
  assert.deepEqual(denied.details, {
    client_id: 'ci/hello',
    required: 'domains:read:*',
    scopes: ['endpoints:deploy:hello', 'endpoints:read:*'],
  })
  assert.match(denied.message, /needs domains:read/)

  // 401: missing, unknown, malformed.
  const refused: Array<Record<string, string>> = [
    {},
    { authorization: 'Bearer nope' },
    { authorization: `Basic ${ci.access_token}` },
  ]
  for (const headers of refused) {
    const error = expectError(
      await srv.api('GET', '/api/auth/current-scopes', undefined, headers),
      401,
      'unauthorized',
    )
    assert.match(error.message, /Authorization: Bearer/)
  }
  // The scheme is case-insensitive (RFC 9110).
  expectStatus(
    await srv.api('GET', '/api/auth/current-scopes', undefined, {
      authorization: `bearer ${ci.access_token}`,
    }),
    200,
  )

  // A caller cannot hand out scopes it does not hold.
  const admin = await createClient(root, 'admin/clients', { scopes: ['clients:*', 'jobs:*'] })
  const asAdmin = bearer(srv, admin.access_token)
  const escalate = expectError(
    await asAdmin.api('POST', '/api/clients/sneaky', { scopes: ['jobs:create:a', '*'] }),
    403,
    'insufficient_scopes',
  )
  assert.deepEqual((escalate.details as { required: unknown }).required, '*')
  expectError(
    await asAdmin.api('PUT', '/api/clients/ci%2Fhello', { scopes: ['*'] }),
    403,
    'insufficient_scopes',
  )
  // ...nor reset the token of (or re-enable) a client that holds scopes it does not.
  expectError(await asAdmin.api('POST', '/api/clients/ci%2Fhello/reset'), 403, 'insufficient_scopes')
  const jobsOnly = await createClient(asAdmin, 'jobs-only', { scopes: ['jobs:read:*'] })
  assert.deepEqual(jobsOnly.scopes, ['jobs:read:*'])

  // Bad input.
  expectError(await root.api('POST', '/api/clients/has%20space', { scopes: [] }), 400, 'validation_failed')
  expectError(await root.api('POST', '/api/clients/x', { scopes: ['a b'] }), 400, 'validation_failed')
  expectError(
    await root.api('POST', '/api/clients/x', { scopes: [], expires: 'tomorrow' }),
    400,
    'validation_failed',
  )
  expectError(await root.api('POST', '/api/clients/ci%2Fhello', { scopes: [] }), 409, 'conflict')
  expectError(await root.api('POST', '/api/clients/root', { scopes: [] }), 409, 'conflict')
  expectError(await root.api('GET', '/api/clients/nobody'), 404, 'not_found')
})

test('disabled, expired, reset and deleted clients get 401; enable brings one back', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT, 'auth-cache-ms': '60000' })
  const root = bearer(srv, ROOT)
  const reader = await createClient(root, 'reader', { scopes: ['queues:read:*'] })
  const asReader = bearer(srv, reader.access_token)
  expectStatus(await asReader.api('GET', '/queue/overview'), 200)

  // Disabling takes effect at once on this process, even with a long cache.
  expectStatus(await root.api('POST', '/api/clients/reader/disable'), 200)
  const disabled = expectError(await asReader.api('GET', '/queue/overview'), 401, 'unauthorized')
  assert.match(disabled.message, /reader is disabled/)
  expectStatus(await root.api('POST', '/api/clients/reader/enable'), 200)
  expectStatus(await asReader.api('GET', '/queue/overview'), 200)

  const reset = expectStatus(
    await root.api<ClientView & { access_token: string }>('POST', '/api/clients/reader/reset'),
    200,
  ).body.data
  assert.notEqual(reset.access_token, reader.access_token)
  expectError(await asReader.api('GET', '/queue/overview'), 401, 'unauthorized')
  expectStatus(await bearer(srv, reset.access_token).api('GET', '/queue/overview'), 200)

  const past = await createClient(root, 'expires-soon', {
    scopes: ['queues:read:*'],
    expires: new Date(Date.now() + 300).toISOString(),
  })
  expectStatus(await bearer(srv, past.access_token).api('GET', '/queue/overview'), 200)
  await new Promise((resolve) => setTimeout(resolve, 400))
  const expired = expectError(
    await bearer(srv, past.access_token).api('GET', '/queue/overview'),
    401,
    'unauthorized',
  )
  assert.match(expired.message, /expires-soon expired at/)

  expectStatus(await root.api('DELETE', '/api/clients/reader'), 200)
  expectError(await bearer(srv, reset.access_token).api('GET', '/queue/overview'), 401, 'unauthorized')
})

test('temporary credentials: valid, expired, beyond the issuer, issuer disabled; authorizedScopes narrows', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT })
  const root = bearer(srv, ROOT)
  const issuer = await createClient(root, 'ci', { scopes: ['queues:read:*', 'jobs:read:*'] })
  const temp = (scopes: string[], expiry = Date.now() + 60_000, start?: number) =>
    createTemporaryCredentials({ clientId: 'ci', accessToken: issuer.access_token, scopes, expiry, start })

  const asTemp = bearer(srv, temp(['jobs:read:emails']))
  const who = expectStatus(
    await asTemp.api<{ scopes: string[]; via: string }>('GET', '/api/auth/current-scopes'),
    200,
  )
  assert.deepEqual(who.body.data.scopes, ['jobs:read:emails'])
  assert.equal(who.body.data.via, 'temporary')
  expectStatus(await asTemp.api('GET', '/jobs?queue=emails'), 200)
  const narrower = expectError(await asTemp.api('GET', '/queue/overview'), 403, 'insufficient_scopes')
  assert.deepEqual((narrower.details as { scopes: string[] }).scopes, ['jobs:read:emails'])
  expectError(await asTemp.api('GET', '/jobs?queue=sms'), 403, 'insufficient_scopes')

  const expired = bearer(srv, temp(['queues:read:*'], Date.now() - 1000, Date.now() - 60_000))
  assert.match(
    expectError(await expired.api('GET', '/queue/overview'), 401, 'unauthorized').message,
    /expired at/,
  )

  const beyond = bearer(srv, temp(['queues:read:*', 'domains:read:*']))
  assert.match(
    expectError(await beyond.api('GET', '/queue/overview'), 401, 'unauthorized').message,
    /issuer ci does not have: domains:read/,
  )

  // Signed by someone else's token: the signature does not verify against ci's key.
  const forged = createTemporaryCredentials({
    clientId: 'ci',
    accessToken: 'not-the-issuers-token',
    scopes: ['queues:read:*'],
    expiry: Date.now() + 60_000,
  })
  expectError(await bearer(srv, forged).api('GET', '/queue/overview'), 401, 'unauthorized')

  // Root can issue them too, from the configured admin token.
  const fromRoot = createTemporaryCredentials({
    clientId: 'root',
    accessToken: ROOT,
    scopes: ['domains:read:*'],
    expiry: Date.now() + 60_000,
  })
  expectStatus(await bearer(srv, fromRoot).api('GET', '/api/domains'), 200)
  expectError(await bearer(srv, fromRoot).api('GET', '/queue/overview'), 403, 'insufficient_scopes')

  // Disabling the issuer invalidates what it issued.
  const good = bearer(srv, temp(['queues:read:*']))
  expectStatus(await good.api('GET', '/queue/overview'), 200)
  expectStatus(await root.api('POST', '/api/clients/ci/disable'), 200)
  assert.match(
    expectError(await good.api('GET', '/queue/overview'), 401, 'unauthorized').message,
    /ci is disabled/,
  )
  expectStatus(await root.api('POST', '/api/clients/ci/enable'), 200)
  expectStatus(await good.api('GET', '/queue/overview'), 200)

  // authorizedScopes: the request uses only those, and they must be the caller's.
  const asIssuer = bearer(srv, issuer.access_token)
  const narrowed = { 'x-edgeforge-authorized-scopes': 'jobs:read:emails' }
  const whoNarrow = expectStatus(
    await asIssuer.api<{ scopes: string[] }>('GET', '/api/auth/current-scopes', undefined, narrowed),
    200,
  )
  assert.deepEqual(whoNarrow.body.data.scopes, ['jobs:read:emails'])
  expectError(await asIssuer.api('GET', '/queue/overview', undefined, narrowed), 403, 'insufficient_scopes')
  expectStatus(await asIssuer.api('GET', '/queue/overview'), 200)
  expectError(
    await asIssuer.api('GET', '/queue/overview', undefined, {
      'x-edgeforge-authorized-scopes': 'queues:read domains:read',
    }),
    401,
    'unauthorized',
  )
})

test('signed URLs: a GET works without a header until it expires; tampered ones and other methods do not', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT })
  const root = bearer(srv, ROOT)
  const reports = await createClient(root, 'reports', { scopes: ['jobs:read:emails'] })
  const sign = (path: string, expires = Date.now() + 60_000) =>
    signUrl(path, { clientId: 'reports', accessToken: reports.access_token, expires })

  const url = sign('/jobs?queue=emails&limit=5')
  const ok = await fetch(srv.controlUrl + url)
  assert.equal(ok.status, 200, await ok.clone().text())
  assert.equal(((await ok.json()) as { ok: boolean }).ok, true)

  const tampered = await fetch(srv.controlUrl + url.replace('emails', 'secret'))
  assert.equal(tampered.status, 401)
  const expired = await fetch(srv.controlUrl + sign('/jobs?queue=emails', Date.now() - 1))
  assert.equal(expired.status, 401)
  assert.match(((await expired.json()) as { error: { message: string } }).error.message, /expired/)
  // The signer's scopes still apply.
  const outside = await fetch(srv.controlUrl + sign('/jobs?queue=sms'))
  assert.equal(outside.status, 403)
  // GET only.
  const post = await fetch(srv.controlUrl + sign('/jobs/some-id/cancel'), { method: 'POST' })
  assert.equal(post.status, 401)
  // A disabled signer's links stop working.
  expectStatus(await root.api('POST', '/api/clients/reports/disable'), 200)
  assert.equal((await fetch(srv.controlUrl + url)).status, 401)
})

test('rate limit per client: 429 with retry-after; root is never limited', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT, 'rate-limit-per-minute': '3' })
  const root = bearer(srv, ROOT)
  const busy = await createClient(root, 'busy', { scopes: ['queues:read:*'] })
  const asBusy = bearer(srv, busy.access_token)
  for (let i = 0; i < 3; i++) expectStatus(await asBusy.api('GET', '/queue/overview'), 200)
  const limited = await asBusy.api('GET', '/queue/overview')
  const error = expectError(limited, 429, 'rate_limited')
  assert.equal(limited.headers.get('retry-after'), '20')
  assert.deepEqual(error.details, { retry_after_seconds: 20 })
  for (let i = 0; i < 10; i++) expectStatus(await root.api('GET', '/queue/overview'), 200)
})

test('without an admin token the loopback control plane stays open, and clients still authenticate', async (t) => {
  const srv = await startTestServer(t)
  const who = expectStatus(
    await srv.api<{ via: string; scopes: string[] }>('GET', '/api/auth/current-scopes'),
    200,
  )
  assert.deepEqual(who.body.data, { client_id: 'anonymous', scopes: ['*'], via: 'open', expires: null })
  const narrow = await createClient(srv, 'narrow', { scopes: ['queues:read:*'] })
  expectError(await bearer(srv, narrow.access_token).api('GET', '/api/domains'), 403, 'insufficient_scopes')
  expectError(await bearer(srv, 'made-up').api('GET', '/api/domains'), 401, 'unauthorized')
})

test('CORS: configured origins get preflights and allow-origin; other origins get nothing', async (t) => {
  const admin = 'https://admin.example.com'
  const srv = await startTestServer(t, {
    'admin-token': ROOT,
    'cors-origins': `${admin}, http://localhost:5173`,
  })
  const preflight = await fetch(`${srv.controlUrl}/api/endpoints`, {
    method: 'OPTIONS',
    headers: {
      origin: admin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization',
    },
  })
  assert.equal(preflight.status, 204, 'answered before authentication: browsers send no credentials here')
  assert.equal(preflight.headers.get('access-control-allow-origin'), admin)
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/)
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/)

  const call = await fetch(`${srv.controlUrl}/api/auth/current-scopes`, {
    headers: { origin: admin, authorization: `Bearer ${ROOT}` },
  })
  assert.equal(call.status, 200)
  assert.equal(call.headers.get('access-control-allow-origin'), admin)
  assert.match(call.headers.get('access-control-expose-headers') ?? '', /x-request-id/)
  // A 401 carries the header too, so the browser client can read why.
  const refused = await fetch(`${srv.controlUrl}/api/auth/current-scopes`, { headers: { origin: admin } })
  assert.equal(refused.status, 401)
  assert.equal(refused.headers.get('access-control-allow-origin'), admin)

  const stranger = await fetch(`${srv.controlUrl}/api/endpoints`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  })
  assert.equal(stranger.headers.get('access-control-allow-origin'), null)
  assert.notEqual(stranger.status, 204)
  assert.throws(() => loadConfig({}, { 'cors-origins': 'admin.example.com' }), /not an origin/)
})
