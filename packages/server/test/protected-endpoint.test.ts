import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createTemporaryCredentials } from '../src/auth/index.ts'
import { deployEndpoint, expectStatus } from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'

interface Body {
  ok?: boolean
  error?: { code: string; message: string; details?: unknown }
  request_id?: string
  auth?: unknown
}

test('an endpoint with auth.scopes: 401 and 403 before the handler runs, ctx.auth when allowed', async (t) => {
  // One handler thread: the handler's call counter (module state) is then one counter.
  const srv = await startTestServer(t, { 'type-check': 'false', 'gateway-threads': '1' })
  const make = async (clientId: string, scopes: string[]) =>
    expectStatus(await srv.api<{ access_token: string }>('POST', `/api/clients/${clientId}`, { scopes }), 201)
      .body.data.access_token
  const reader = await make('reader', ['orders:read:*'])
  const other = await make('other', ['orders:write:eu'])
  const { endpoint } = await deployEndpoint(srv, {
    name: 'orders',
    method: 'GET',
    path: '/orders',
    auth: { scopes: ['orders:read:eu'] },
    code: handlerSource(
      'let calls = 0\nexport default handler((req, ctx) => Response.ok({ auth: ctx.auth ?? null, calls: ++calls }))',
    ),
  })
  assert.deepEqual((endpoint as unknown as { auth: unknown }).auth, { scopes: ['orders:read:eu'] })

  const call = async (authorization?: string) => {
    const response = await fetch(`${srv.gatewayUrl}/orders`, {
      headers: authorization ? { authorization } : {},
    })
    return { status: response.status, body: (await response.json()) as Body, headers: response.headers }
  }

  const missing = await call()
  assert.equal(missing.status, 401)
  assert.equal(missing.body.error?.code, 'unauthorized')
  assert.match(missing.body.error?.message ?? '', /Authorization: Bearer/)
  assert.ok(missing.headers.get('x-request-id'))
  assert.equal((await call('Bearer not-a-token')).status, 401)

  const denied = await call(`Bearer ${other}`)
  assert.equal(denied.status, 403)
  assert.deepEqual(denied.body.error?.details, {
    client_id: 'other',
    required: 'orders:read:eu',
    scopes: ['orders:write:eu'],
  })

  // Allowed: the handler runs once per allowed request and sees who called.
  for (let i = 1; i <= 3; i++) {
    const allowed = await call(`bearer ${reader}`)
    assert.equal(allowed.status, 200)
    assert.deepEqual(allowed.body, { auth: { clientId: 'reader', scopes: ['orders:read:*'] }, calls: i })
  }
  const temp = createTemporaryCredentials({
    clientId: 'reader',
    accessToken: reader,
    scopes: ['orders:read:eu'],
    expiry: Date.now() + 60_000,
  })
  const viaTemp = await call(`Bearer ${temp}`)
  assert.equal(viaTemp.status, 200)
  assert.deepEqual(viaTemp.body.auth, { clientId: 'reader', scopes: ['orders:read:eu'] })

  // A disabled client is refused at once, although its principal was cached.
  expectStatus(await srv.api('POST', '/api/clients/reader/disable'), 200)
  assert.equal((await call(`Bearer ${reader}`)).status, 401)
  assert.equal((await call(`Bearer ${temp}`)).status, 401)

  // Taking the scopes off makes it public again, without a new deploy.
  expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { auth: null }), 200)
  const open = await call()
  assert.equal(open.status, 200)
  assert.equal(open.body.auth, null)
  expectError400(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { auth: { scopes: ['has space'] } }))
})

function expectError400(reply: { status: number; body: { error?: { code: string } } }) {
  assert.equal(reply.status, 400)
  assert.equal(reply.body.error?.code, 'validation_failed')
}
