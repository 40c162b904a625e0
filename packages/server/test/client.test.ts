import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Edgeforge, EdgeforgeError } from '@edgeforge/client'
import { startTestServer } from './support/server.ts'

// @edgeforge/client against a whole server: the generated methods, typed errors, iterators, and
// credentials it derives offline (temporary credentials, signed URLs) that the server verifies.

const ROOT = 'root-token-for-client-tests-0123456789'

test('client: generated methods, typed 4xx, iterators, temporary credentials, signed URLs, authorizedScopes', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT })
  const admin = Edgeforge.fromEnv({ EDGEFORGE_URL: srv.controlUrl, EDGEFORGE_ADMIN_TOKEN: ROOT })
  assert.equal((await admin.auth.currentScopes()).via, 'root')

  const created = await admin.auth.createClient('reports', { scopes: ['clients:read:*', 'endpoints:read:*'] })
  await admin.auth.createClient('other', { scopes: [] })
  const token = created.access_token
  assert.ok(token)

  const reports = Edgeforge.fromEnv({
    EDGEFORGE_URL: srv.controlUrl,
    EDGEFORGE_CLIENT_ID: 'reports',
    EDGEFORGE_ACCESS_TOKEN: token,
  })
  const ids: string[] = []
  for await (const client of reports.auth.listClientsAll({ limit: 1 })) ids.push(client.client_id)
  assert.deepEqual(ids.sort(), ['other', 'reports'])

  const missing = await reports.catalog.getEndpoint('ep_nope').catch((e: unknown) => e)
  assert.ok(missing instanceof EdgeforgeError)
  assert.equal(missing.status, 404)
  assert.equal(missing.code, 'not_found')
  assert.ok(missing.requestId)

  const denied = await reports.auth.createClient('x', { scopes: [] }).catch((e: unknown) => e)
  assert.ok(denied instanceof EdgeforgeError)
  assert.equal(denied.code, 'insufficient_scopes')

  const narrowed = reports.authorizedScopes(['endpoints:read:*'])
  assert.deepEqual((await narrowed.auth.currentScopes()).scopes, ['endpoints:read:*'])
  await assert.rejects(
    narrowed.auth.listClients(),
    (e: unknown) => e instanceof EdgeforgeError && e.status === 403,
  )

  const temporary = await reports.credentials.temporary({ scopes: ['endpoints:read:*'], expiresIn: 60_000 })
  const who = await temporary.auth.currentScopes()
  assert.equal(who.via, 'temporary')
  assert.equal(who.client_id, 'reports')
  assert.deepEqual(who.scopes, ['endpoints:read:*'])
  await assert.rejects(temporary.auth.listClients(), EdgeforgeError)

  const url = reports.auth.listClientsUrl({ limit: 5 })
  assert.equal((await fetch(url)).status, 401)
  const signed = await reports.signUrl(url, { expiresIn: 60_000 })
  const answer = await fetch(signed)
  assert.equal(answer.status, 200, await answer.clone().text())
  assert.equal(((await answer.json()) as { data: unknown[] }).data.length, 2)
  // Changing the signed URL breaks it.
  assert.equal((await fetch(signed.replace('limit=5', 'limit=6'))).status, 401)
})
