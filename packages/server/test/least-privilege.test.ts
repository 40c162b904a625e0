import assert from 'node:assert/strict'
import { test } from 'node:test'
import { expectError, expectStatus } from './support/endpoints.ts'
import { type ApiReply, handlerSource, startTestServer, type TestServer } from './support/server.ts'

/*
 * One client per context with exactly the scopes its job needs: everything in its job works, and
 * its neighbours' routes answer 403 insufficient_scopes.
 */

const ROOT = 'least-privilege-root-token-0123456789'

type Call = (method: string, path: string, body?: unknown) => Promise<ApiReply<unknown>>

function as(srv: TestServer, token: string): Call {
  return (method, path, body) => srv.api(method, path, body, { authorization: `Bearer ${token}` })
}

async function client(root: Call, clientId: string, scopes: string[]): Promise<string> {
  const reply = await root('POST', `/api/clients/${encodeURIComponent(clientId)}`, { scopes })
  return (expectStatus(reply, 201).body.data as { access_token: string }).access_token
}

function data<T>(reply: ApiReply<unknown>, status: number): T {
  return expectStatus(reply, status).body.data as T
}

async function denied(reply: Promise<ApiReply<unknown>>, required: unknown): Promise<void> {
  const error = expectError(await reply, 403, 'insufficient_scopes')
  assert.deepEqual((error.details as { required: unknown }).required, required)
}

test('least privilege, per context: each client does exactly its job', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': ROOT, 'type-check': 'false' })
  const root = as(srv, ROOT)
  const code = handlerSource("export default handler(() => Response.ok({ hi: 'there' }))")
  const hello = data<{ id: string }>(
    await root('POST', '/api/endpoints', { name: 'hello', method: 'GET', path: '/hello', code }),
    201,
  )
  const other = data<{ id: string }>(
    await root('POST', '/api/endpoints', { name: 'other', method: 'GET', path: '/other', code }),
    201,
  )

  await t.test('deploy: a CI client deploys one endpoint and nothing else', async () => {
    const ci = as(srv, await client(root, 'ci/hello', ['endpoints:deploy:hello', 'endpoints:read:hello']))
    assert.equal(
      data<{ status: string }>(await ci('POST', `/api/endpoints/${hello.id}/deploy`), 200).status,
      'running',
    )
    assert.equal((await fetch(`${srv.gatewayUrl}/hello`)).status, 200)
    data(await ci('GET', `/api/endpoints/${hello.id}`), 200)
    data(await ci('GET', '/api/endpoints?name=hello'), 200)
    await denied(ci('POST', `/api/endpoints/${other.id}/deploy`), 'endpoints:deploy:other')
    await denied(ci('POST', `/api/endpoints/${hello.id}/stop`), 'endpoints:stop:hello')
    await denied(ci('GET', `/api/endpoints/${hello.id}/logs`), 'endpoints:logs:hello')
    await denied(ci('PUT', `/api/endpoints/${hello.id}`, { path: '/moved' }), 'endpoints:update:hello')
    await denied(ci('DELETE', `/api/endpoints/${hello.id}`), 'endpoints:delete:hello')
    await denied(
      ci('POST', '/api/endpoints', { name: 'new', method: 'GET', path: '/new', code }),
      'endpoints:create:new',
    )
    await denied(ci('GET', '/api/endpoints'), 'endpoints:read:*')
    // An id that names no endpoint: a narrow scope cannot open it, so nothing leaks.
    const unknown = expectError(
      await ci('POST', '/api/endpoints/no-such-id/deploy'),
      403,
      'insufficient_scopes',
    )
    assert.match(String((unknown.details as { required: string }).required), /^endpoints:deploy:/)
    await denied(ci('GET', '/queue/overview'), 'queues:read:*')
  })

  await t.test('catalog: an editor of domains and collections touches nothing else', async () => {
    const editor = as(srv, await client(root, 'catalog-editor', ['domains:*', 'collections:*']))
    const domain = data<{ id: string }>(
      await editor('POST', '/api/domains', { name: 'shop', host: 'shop.test' }),
      201,
    )
    const collection = data<{ id: string }>(
      await editor('POST', '/api/collections', { domain_id: domain.id, name: 'v1', base_path: '/v1' }),
      201,
    )
    data(await editor('PUT', `/api/collections/${collection.id}`, { description: 'first' }), 200)
    data(await editor('GET', `/api/domains/${domain.id}/collections`), 200)
    await denied(editor('GET', `/api/collections/${collection.id}/endpoints`), 'endpoints:read:*')
    await denied(editor('POST', `/api/endpoints/${hello.id}/stop`), 'endpoints:stop:hello')
    await denied(editor('GET', '/api/stats'), 'system:read:stats')
    data(await editor('DELETE', `/api/domains/${domain.id}`), 200)
    const reader = as(srv, await client(root, 'catalog-reader', ['domains:read:*']))
    data(await reader('GET', '/api/domains'), 200)
    await denied(reader('POST', '/api/domains', { name: 'x', host: 'x.test' }), 'domains:create:*')
  })

  await t.test('jobs: a producer enqueues into its queue and reads its jobs, nothing more', async () => {
    const producer = as(srv, await client(root, 'producer', ['jobs:create:emails', 'jobs:read:emails']))
    const { job } = data<{ job: { id: string } }>(
      await producer('POST', '/jobs', { queue: 'emails', payload: { to: 'a' } }),
      201,
    )
    data(await producer('GET', `/jobs/${job.id}`), 200)
    data(await producer('GET', '/jobs?queue=emails'), 200)
    await denied(producer('POST', '/jobs', { queue: 'sms' }), 'jobs:create:sms')
    await denied(
      producer('POST', '/jobs', { jobs: [{ queue: 'emails' }, { queue: 'sms' }] }),
      'jobs:create:sms',
    )
    await denied(producer('GET', '/jobs'), 'jobs:read:*')
    // A job's log is read with the job's scope (it was jobs:read, of every queue, before).
    data(await producer('GET', `/jobs/${job.id}/log`), 200)
    await denied(producer('POST', `/jobs/${job.id}/input`, { message: 'hi' }), 'jobs:input:emails')
    await denied(producer('POST', `/jobs/${job.id}/cancel`), 'jobs:cancel:emails')
    await denied(producer('DELETE', `/jobs/${job.id}`), 'jobs:delete:emails')
    await denied(producer('POST', '/queue/emails/paused', { paused: true }), 'queues:configure:emails')
    await denied(
      producer('POST', '/cron', { name: 'nightly', cron: '0 3 * * *', queue: 'emails' }),
      'cron:create:nightly',
    )

    const operator = as(srv, await client(root, 'queue-operator', ['queues:*', 'jobs:cancel:emails']))
    data(await operator('POST', '/queue/emails/paused', { paused: true }), 200)
    data(await operator('GET', '/queue/overview'), 200)
    data(await operator('POST', `/jobs/${job.id}/cancel`), 200)
    await denied(operator('POST', '/jobs', { queue: 'emails' }), 'jobs:create:emails')

    const scheduler = as(srv, await client(root, 'scheduler', ['cron:*', 'jobs:create:reports']))
    data(await scheduler('POST', '/cron', { name: 'nightly', cron: '0 3 * * *', queue: 'reports' }), 201)
    await denied(
      scheduler('POST', '/cron', { name: 'sneaky', cron: '0 3 * * *', queue: 'emails' }),
      'jobs:create:emails',
    )
    await denied(scheduler('PUT', '/cron/nightly', { queue: 'emails' }), 'jobs:create:emails')
    data(await scheduler('PUT', '/cron/nightly', { cron: '0 4 * * *' }), 200)
  })

  await t.test(
    'services and storage: an operator tests one service and reads its objects, nothing more',
    async () => {
      const service = data<{ id: string }>(
        await root('POST', '/api/services', { name: 'uploads', service_type: 'filesystem' }),
        201,
      )
      const ops = as(
        srv,
        await client(root, 'svc-ops', [
          `services:read:${service.id}`,
          `services:test:${service.id}`,
          'storage:read:uploads',
        ]),
      )
      data(await ops('GET', `/api/services/${service.id}`), 200)
      data(await ops('POST', `/api/services/${service.id}/test`), 200)
      data(await ops('GET', '/api/storage/uploads/objects'), 200)
      await denied(ops('GET', '/api/services'), 'services:read:*')
      await denied(ops('POST', `/api/services/${service.id}/deactivate`), `services:deactivate:${service.id}`)
      await denied(ops('DELETE', `/api/services/${service.id}`), `services:delete:${service.id}`)
      await denied(ops('DELETE', '/api/storage/uploads/objects/a.txt'), 'storage:delete:uploads')
      await denied(ops('GET', `/api/endpoints/${hello.id}/services`), 'endpoints:read:hello')
      await denied(ops('GET', '/workers'), 'workers:read:*')
      await denied(ops('POST', '/workers/w1/drain'), 'workers:drain:w1')
    },
  )

  await t.test('system: a metrics scraper scrapes and reads nothing else', async () => {
    const scraper = as(srv, await client(root, 'prometheus', ['system:read:metrics']))
    const metrics = await fetch(`${srv.controlUrl}/metrics`, {
      headers: { authorization: `Bearer ${await client(root, 'prometheus-2', ['system:read:metrics'])}` },
    })
    assert.equal(metrics.status, 200)
    data(await scraper('GET', '/api/health'), 200)
    await denied(scraper('GET', '/api/stats'), 'system:read:stats')
    await denied(scraper('GET', '/storage/info'), 'system:read:storage')
  })

  await t.test('auth: a team admin manages its own prefix with the scopes it holds', async () => {
    const admin = as(
      srv,
      await client(root, 'team-a/admin', [
        'clients:create:team-a/*',
        'clients:read:team-a/*',
        'clients:reset:team-a/*',
        'clients:disable:team-a/*',
        'clients:delete:team-a/*',
        'jobs:create:team-a-*',
      ]),
    )
    const created = data<{ access_token: string }>(
      await admin('POST', '/api/clients/team-a%2Fworker', { scopes: ['jobs:create:team-a-emails'] }),
      201,
    )
    assert.ok(created.access_token)
    data(await admin('GET', '/api/clients?prefix=team-a/'), 200)
    data(await admin('POST', '/api/clients/team-a%2Fworker/reset'), 200)
    data(await admin('POST', '/api/clients/team-a%2Fworker/disable'), 200)
    await denied(admin('GET', '/api/clients'), 'clients:read:*')
    await denied(admin('POST', '/api/clients/team-b%2Fx', { scopes: [] }), 'clients:create:team-b/x')
    await denied(admin('POST', '/api/clients/team-a%2Fwide', { scopes: ['jobs:create:*'] }), 'jobs:create:*')
    await denied(admin('DELETE', '/api/clients/ci%2Fhello'), 'clients:delete:ci/hello')
    data(await admin('DELETE', '/api/clients/team-a%2Fworker'), 200)
  })
})
