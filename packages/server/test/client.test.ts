import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Edgeforge, EdgeforgeError } from '@edgeforge/client'
import { handlerSource, startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

// @edgeforge/client against a whole server: the generated methods, typed errors, iterators, and
// credentials it derives offline (temporary credentials, signed URLs) that the server verifies.

const ROOT = 'root-token-for-client-tests-0123456789'

test("client: the issue's example, verbatim, against a real server", async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT, 'type-check': 'false' })
  // A client id and token of the kind the example's environment names (the admin token is a bearer only).
  const root = new Edgeforge({ url: srv.controlUrl, accessToken: ROOT })
  const { data: owner } = await root.auth.createClient('owner', { scopes: ['*'] })
  process.env.EDGEFORGE_URL = srv.controlUrl
  process.env.EDGEFORGE_CLIENT_ID = 'owner'
  process.env.EDGEFORGE_ACCESS_TOKEN = owner.access_token
  t.after(() => {
    delete process.env.EDGEFORGE_URL
    delete process.env.EDGEFORGE_CLIENT_ID
    delete process.env.EDGEFORGE_ACCESS_TOKEN
  })
  const code = handlerSource("export default handler(() => Response.ok({ hi: 'there' }))")
  // A job of 'emails' that failed, for the example's list.
  const { data: worker } = await root.endpoints.create({
    name: 'emails-worker',
    kind: 'job',
    queue: 'emails',
    code: handlerSource("export default job(async () => { throw new Error('smtp down') })", 'job'),
  })
  await root.endpoints.deploy(worker.id)
  const enqueued = (await root.jobs.create({ queue: 'emails', payload: { n: 1 }, max_attempts: 1 })).data
  assert.ok('job' in enqueued)
  const jobId = enqueued.job.id
  await waitFor('the job to fail', async () => (await root.jobs.get(jobId)).data.status === 'failed', 20_000)

  // --- the example ---
  const ef = Edgeforge.fromEnv() // EDGEFORGE_URL, EDGEFORGE_CLIENT_ID, EDGEFORGE_ACCESS_TOKEN
  const { data: ep } = await ef.endpoints.create({ name: 'hello', path: '/hello', method: 'GET', code })
  await ef.endpoints.deploy(ep.id) // 5xx and network errors retried; 4xx thrown as typed errors
  const seen: string[] = []
  for await (const job of ef.jobs.list({ queue: 'emails', status: 'failed' })) seen.push(job.id) // pages followed
  const url = ef.jobs.getUrl(jobId) // URL of any GET method, unsigned
  const signed = ef.jobs.getSignedUrl(jobId, { expiresIn: '15m' }) // a link that works without a header

  // a credential for CI that may deploy one endpoint and nothing else
  const { data: ci } = await ef.auth.createClient('ci/hello', {
    scopes: ['endpoints:deploy:hello', 'endpoints:read:*'],
    expires: '2027-01-01T00:00:00Z',
  })
  // temporary credentials derived offline from a permanent one, narrower and short-lived
  const temp = ef.credentials.temporary({ scopes: ['jobs:create:emails'], expiresIn: '1h' })
  // --- end of the example ---

  assert.equal((await fetch(`${srv.gatewayUrl}/hello`)).status, 200)
  assert.deepEqual(seen, [jobId])
  assert.equal(url, `${srv.controlUrl}/jobs/${jobId}`)
  assert.equal((await fetch(url)).status, 401)
  const viaLink = await fetch(signed)
  assert.equal(viaLink.status, 200, await viaLink.clone().text())
  assert.equal(((await viaLink.json()) as { data: { id: string } }).data.id, jobId)
  assert.ok(ci.access_token)
  assert.equal(ci.expires, '2027-01-01T00:00:00.000Z')
  const asCi = new Edgeforge({ url: srv.controlUrl, clientId: 'ci/hello', accessToken: ci.access_token })
  assert.equal((await asCi.endpoints.deploy(ep.id)).data.status, 'running')
  const denied = await asCi.endpoints.stop(ep.id).catch((e: unknown) => e)
  assert.ok(denied instanceof EdgeforgeError)
  assert.equal(denied.code, 'insufficient_scopes')
  const who = (await temp.auth.currentScopes()).data
  assert.deepEqual([who.via, who.client_id, who.scopes], ['temporary', 'owner', ['jobs:create:emails']])
  const more = (await temp.jobs.create({ queue: 'emails', payload: {} })).data
  assert.ok('job' in more && more.job.queue === 'emails')
  await assert.rejects(temp.jobs.create({ queue: 'sms', payload: {} }), EdgeforgeError)
})

test('client: generated methods, typed 4xx, iterators, temporary credentials, signed URLs, authorizedScopes', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT })
  const admin = Edgeforge.fromEnv({ EDGEFORGE_URL: srv.controlUrl, EDGEFORGE_ADMIN_TOKEN: ROOT })
  assert.equal((await admin.auth.currentScopes()).data.via, 'root')

  const { data: created } = await admin.auth.createClient('reports', {
    scopes: ['clients:read:*', 'endpoints:read:*'],
  })
  await admin.auth.createClient('other', { scopes: [] })
  const token = created.access_token
  assert.ok(token)

  const reports = Edgeforge.fromEnv({
    EDGEFORGE_URL: srv.controlUrl,
    EDGEFORGE_CLIENT_ID: 'reports',
    EDGEFORGE_ACCESS_TOKEN: token,
  })
  const ids: string[] = []
  for await (const client of reports.auth.listClients({ limit: 1 })) ids.push(client.client_id)
  assert.deepEqual(ids.sort(), ['other', 'reports'])
  const first = await reports.auth.listClients({ limit: 1 }).page()
  assert.equal(first.data.length, 1)
  assert.ok(first.continuationToken)
  assert.ok(first.requestId)

  const missing = await reports.endpoints.get('ep_nope').catch((e: unknown) => e)
  assert.ok(missing instanceof EdgeforgeError)
  assert.equal(missing.status, 404)
  assert.equal(missing.code, 'not_found')
  assert.ok(missing.requestId)

  const denied = await reports.auth.createClient('x', { scopes: [] }).catch((e: unknown) => e)
  assert.ok(denied instanceof EdgeforgeError)
  assert.equal(denied.code, 'insufficient_scopes')

  const narrowed = reports.authorizedScopes(['endpoints:read:*'])
  assert.deepEqual((await narrowed.auth.currentScopes()).data.scopes, ['endpoints:read:*'])
  await assert.rejects(
    narrowed.auth.listClients().page(),
    (e: unknown) => e instanceof EdgeforgeError && e.status === 403,
  )

  for (const temporary of [
    reports.credentials.temporary({ scopes: ['endpoints:read:*'], expiresIn: 60_000 }),
    await reports.credentials.temporaryAsync({ scopes: ['endpoints:read:*'], expiresIn: '1m' }),
  ]) {
    const who = (await temporary.auth.currentScopes()).data
    assert.equal(who.via, 'temporary')
    assert.equal(who.client_id, 'reports')
    assert.deepEqual(who.scopes, ['endpoints:read:*'])
    await assert.rejects(temporary.auth.listClients().page(), EdgeforgeError)
  }
  assert.throws(
    () => reports.credentials.temporary({ scopes: [], expiresIn: '15 minutes' as '15m' }),
    /not a duration/,
  )

  const url = reports.auth.listClientsUrl({ limit: 5 })
  assert.equal((await fetch(url)).status, 401)
  // The synchronous signature (node:crypto) and WebCrypto's are the same scheme.
  for (const signed of [
    reports.auth.listClientsSignedUrl({ limit: 5 }, { expiresIn: '1m' }),
    await reports.signUrl(url, { expiresIn: 60_000 }),
  ]) {
    const answer = await fetch(signed)
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.equal(((await answer.json()) as { data: unknown[] }).data.length, 2)
    // Changing the signed URL breaks it.
    assert.equal((await fetch(signed.replace('limit=5', 'limit=6'))).status, 401)
  }
})
