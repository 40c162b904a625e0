// Disabling a domain, a collection or an endpoint takes its running endpoints out of service;
// enabling it again puts back what was running before (issue 9, item 19), the same version, with
// no start by hand. What the user had stopped stays stopped.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  createEndpoint,
  deployEndpoint,
  expectStatus,
  getEndpoint,
  lifecycle,
  rawRequest,
} from './support/endpoints.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const HOST = 'shop.example.test'

const says = (text: string) =>
  handlerSource(`export default handler(() => Response.text(200, ${JSON.stringify(text)}))`)

async function onHost(srv: TestServer, path: string): Promise<{ status: number; body: string }> {
  const reply = await rawRequest(srv.gatewayUrl, { path, host: HOST })
  return { status: reply.status, body: reply.body }
}

async function put(srv: TestServer, path: string, body: Record<string, unknown>): Promise<void> {
  expectStatus(await srv.api('PUT', path, body), 200)
}

/** A domain with one collection (/v1), a running endpoint in it and one on the domain's host. */
async function shop(srv: TestServer) {
  const domain = expectStatus(
    await srv.api<{ id: string }>('POST', '/api/domains', { name: 'Shop', host: HOST }),
    201,
  ).body.data
  const collection = expectStatus(
    await srv.api<{ id: string }>('POST', '/api/collections', {
      domain_id: domain.id,
      name: 'v1',
      base_path: '/v1',
    }),
    201,
  ).body.data
  const { endpoint: cart } = await deployEndpoint(srv, {
    name: 'cart',
    method: 'GET',
    path: '/cart',
    collection_id: collection.id,
    code: says('cart v1'),
  })
  const { endpoint: home } = await deployEndpoint(srv, {
    name: 'home',
    method: 'GET',
    path: '/',
    domain: HOST,
    code: says('home v1'),
  })
  return { domain, collection, cart, home }
}

test('re-enabling a domain or a collection restores the endpoints that were running', async (t) => {
  const srv = await startTestServer(t)
  const { domain, collection, cart, home } = await shop(srv)
  // Stopped by hand before the disable: it must not come back with the others.
  const { endpoint: held } = await deployEndpoint(srv, {
    name: 'held',
    method: 'GET',
    path: '/held',
    collection_id: collection.id,
    code: says('held'),
  })
  expectStatus(await lifecycle(srv, held.id, 'stop'), 200)
  // Compiled but never started: stays compiled.
  const draft = await createEndpoint(srv, {
    name: 'draft',
    method: 'GET',
    path: '/draft',
    collection_id: collection.id,
    code: says('draft'),
  })
  expectStatus(await lifecycle(srv, draft.id, 'compile'), 200)

  await put(srv, `/api/domains/${domain.id}`, { enabled: false })
  assert.equal((await onHost(srv, '/v1/cart')).status, 404)
  assert.equal((await onHost(srv, '/')).status, 404)
  assert.equal((await getEndpoint(srv, cart.id)).status, 'stopped')

  await put(srv, `/api/domains/${domain.id}`, { enabled: true })
  assert.deepEqual(await onHost(srv, '/v1/cart'), { status: 200, body: 'cart v1' })
  assert.deepEqual(await onHost(srv, '/'), { status: 200, body: 'home v1' })
  const restored = await getEndpoint(srv, cart.id)
  assert.equal(restored.status, 'running')
  assert.equal(restored.running_version, 1)
  assert.equal((await getEndpoint(srv, held.id)).status, 'stopped')
  assert.equal((await onHost(srv, '/v1/held')).status, 404)
  assert.equal((await getEndpoint(srv, draft.id)).status, 'compiled')

  await put(srv, `/api/collections/${collection.id}`, { enabled: false })
  assert.equal((await onHost(srv, '/v1/cart')).status, 404)
  assert.deepEqual(await onHost(srv, '/'), { status: 200, body: 'home v1' })
  await put(srv, `/api/collections/${collection.id}`, { enabled: true })
  assert.deepEqual(await onHost(srv, '/v1/cart'), { status: 200, body: 'cart v1' })

  // The same for an endpoint's own flag, and for a job endpoint.
  await put(srv, `/api/endpoints/${home.id}`, { enabled: false })
  assert.equal((await onHost(srv, '/')).status, 404)
  await put(srv, `/api/endpoints/${home.id}`, { enabled: true })
  assert.deepEqual(await onHost(srv, '/'), { status: 200, body: 'home v1' })
  const { endpoint: mailer } = await deployEndpoint(srv, {
    name: 'mailer',
    kind: 'job',
    queue: 'mail',
    code: "import { job } from '@edgeforge/sdk'\nexport default job(async () => ({ sent: true }))\n",
  })
  await put(srv, `/api/endpoints/${mailer.id}`, { enabled: false })
  assert.equal((await getEndpoint(srv, mailer.id)).status, 'stopped')
  await put(srv, `/api/endpoints/${mailer.id}`, { enabled: true })
  assert.equal((await getEndpoint(srv, mailer.id)).status, 'running')
  const queued = expectStatus(
    await srv.api<{ job: { id: string } }>('POST', '/jobs', { queue: 'mail', payload: {} }),
    201,
  ).body.data
  await waitFor('the job to run on the restored handler', async () => {
    const job = expectStatus(await srv.api<{ status: string }>('GET', `/jobs/${queued.job.id}`), 200).body
      .data
    return job.status === 'succeeded'
  })
})

test('a stop while disabled, or a newer compile, is respected when the domain is enabled again', async (t) => {
  const srv = await startTestServer(t)
  const { domain, cart, home } = await shop(srv)
  await put(srv, `/api/domains/${domain.id}`, { enabled: false })
  expectStatus(await lifecycle(srv, home.id, 'stop'), 200)
  // New code compiled while disabled: what comes back is what ran before the disable.
  await put(srv, `/api/endpoints/${cart.id}`, { code: says('cart v2') })
  expectStatus(await lifecycle(srv, cart.id, 'compile'), 200)

  await put(srv, `/api/domains/${domain.id}`, { enabled: true })
  assert.deepEqual(await onHost(srv, '/v1/cart'), { status: 200, body: 'cart v1' })
  assert.equal((await getEndpoint(srv, cart.id)).running_version, 1)
  assert.equal((await onHost(srv, '/')).status, 404)
  assert.equal((await getEndpoint(srv, home.id)).status, 'stopped')
})

test('re-enabling after a restart restores from the stored version', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-re-enable-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const first = await startTestServer(t, {}, { dataDir })
  const { domain } = await shop(first)
  await put(first, `/api/domains/${domain.id}`, { enabled: false })
  await first.stop()

  const second = await startTestServer(t, {}, { dataDir })
  assert.equal((await onHost(second, '/v1/cart')).status, 404)
  await put(second, `/api/domains/${domain.id}`, { enabled: true })
  assert.deepEqual(await onHost(second, '/v1/cart'), { status: 200, body: 'cart v1' })
})

test('an endpoint whose route was taken while it was disabled stays stopped and says why', async (t) => {
  const srv = await startTestServer(t)
  const { collection, cart } = await shop(srv)
  await put(srv, `/api/collections/${collection.id}`, { enabled: false })
  await deployEndpoint(srv, {
    name: 'squatter',
    method: 'GET',
    path: '/v1/cart',
    domain: HOST,
    code: says('squatter'),
  })
  await put(srv, `/api/collections/${collection.id}`, { enabled: true })
  assert.deepEqual(await onHost(srv, '/v1/cart'), { status: 200, body: 'squatter' })
  const blocked = await getEndpoint(srv, cart.id)
  assert.equal(blocked.status, 'stopped')
  assert.match(blocked.last_error ?? '', /not restored.*already served by running endpoint squatter/)
})
