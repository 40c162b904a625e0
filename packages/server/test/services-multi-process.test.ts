// Two gateway processes on one PostgreSQL database run the same services: what is created,
// changed, renamed, deactivated, activated or deleted through one, the other's actors follow
// (services/sync.ts). Each server is a whole edgeforge with its own runtime and listeners, as in
// multi-process.test.ts; they share nothing but the database.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { SERVICES_CHANNEL } from '../src/services/index.ts'
import { createEndpoint, expectStatus, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

interface ServiceView {
  id: string
  name: string
  status: { active: boolean }
}

// A memory cache lives in each process: a key one process's actor holds is gone when that actor restarts.
const COUNTER = `
import { handler, Response } from '@edgeforge/sdk'

export default handler(async (req, ctx) => {
  const cache = ctx.cache('c')
  if (req.method === 'POST') return Response.ok({ n: await cache.incr('hits', 1) })
  return Response.ok({ n: Number((await cache.get('hits')) ?? 0) })
})
`

/** Whether `server`'s own runtime runs the service (the status comes from the answering process). */
async function activeOn(server: TestServer, id: string): Promise<boolean | 'missing'> {
  const reply = await server.api<ServiceView>('GET', `/api/services/${id}`)
  if (reply.status === 404) return 'missing'
  return expectStatus(reply, 200).body.data.status.active
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  await waitFor(what, check, 10_000)
}

async function hit(server: TestServer, method = 'GET'): Promise<string> {
  const reply = await fetch(`${server.gatewayUrl}/count`, { method })
  return `${reply.status} ${await reply.text()}`
}

/** The service names `server`'s runtime reports in /metrics (its actors, not the store's records). */
async function actorsOn(server: TestServer): Promise<string[]> {
  const text = await (await fetch(`${server.controlUrl}/metrics`)).text()
  const names = new Set<string>()
  for (const match of text.matchAll(/edgeforge_service_queue_depth\{[^}]*service="([^"]+)"/g))
    names.add(match[1])
  return [...names].sort()
}

test('two processes on one PostgreSQL database run the same services', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const a = await startTestServer(t, { 'database-url': url })
  const b = await startTestServer(t, { 'database-url': url })

  const created = await a.api<ServiceView>('POST', '/api/services', {
    name: 'mp-cache',
    service_type: 'memory',
  })
  const id = expectStatus(created, 201).body.data.id
  const endpoint = await createEndpoint(a, { name: 'count', path: '/count', method: 'POST', code: COUNTER })
  const reader = await createEndpoint(a, { name: 'count-get', path: '/count', method: 'GET', code: COUNTER })
  for (const e of [endpoint, reader]) {
    expectStatus(
      await a.api('POST', `/api/endpoints/${e.id}/services`, { binding: 'c', service: 'mp-cache' }),
      200,
    )
    expectStatus(await lifecycle(a, e.id, 'deploy'), 200)
  }

  await t.test('a service created on one is active on the other, and its handlers use it there', async () => {
    await until(
      'the service to be active on the second process',
      async () => (await activeOn(b, id)) === true,
    )
    await until('the endpoint to be served by the second process', async () =>
      (await hit(b)).startsWith('200'),
    )
    assert.equal(await hit(b, 'POST'), '200 {"n":1}')
    assert.equal(await hit(b, 'POST'), '200 {"n":2}')
    // Each process has its own actor (a memory cache is not shared).
    assert.equal(await hit(a), '200 {"n":0}')
  })

  await t.test('a deactivate on one drains and stops the actor on the other', async () => {
    expectStatus(await a.api('POST', `/api/services/${id}/deactivate`), 200)
    await until('the second process to stop the service', async () => (await activeOn(b, id)) === false)
    const refused = await fetch(`${b.gatewayUrl}/count`)
    assert.equal(refused.status, 503)
    assert.deepEqual(await actorsOn(b), [])
  })

  await t.test('an activate on one starts a fresh actor on the other', async () => {
    expectStatus(await a.api('POST', `/api/services/${id}/activate`), 200)
    await until('the second process to start the service', async () => (await activeOn(b, id)) === true)
    assert.equal(await hit(b), '200 {"n":0}', 'a fresh memory cache')
    assert.equal(await hit(b, 'POST'), '200 {"n":1}')
  })

  await t.test(
    'a config change on one restarts the actor on the other; a change of nothing does not',
    async () => {
      expectStatus(await a.api('PUT', `/api/services/${id}`, {}), 200)
      // Give the notice time to arrive: the second process's actor (with its key) must survive it.
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(await hit(b), '200 {"n":1}')
      expectStatus(await a.api('PUT', `/api/services/${id}`, { config: { max_keys: 50 } }), 200)
      await until('the second process to restart the actor', async () => (await hit(b)) === '200 {"n":0}')
    },
  )

  await t.test('a rename on one moves the actor to the new name on the other', async () => {
    expectStatus(await a.api('PUT', `/api/services/${id}`, { name: 'mp-cache-2' }), 200)
    await until(
      'the second process to run the service under its new name',
      async () => JSON.stringify(await actorsOn(b)) === '["mp-cache-2"]',
    )
    assert.equal(await activeOn(b, id), true)
  })

  await t.test('a change missed while the LISTEN connection was down is caught up on reconnect', async () => {
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const cut = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN ${SERVICES_CHANNEL}'`,
      )
      assert.ok(cut.rowCount !== null && cut.rowCount >= 2, `cut ${cut.rowCount} LISTEN connections`)
    } finally {
      await admin.end()
    }
    expectStatus(await a.api('POST', `/api/services/${id}/deactivate`), 200)
    await until(
      'the second process to catch up with the deactivate',
      async () => (await activeOn(b, id)) === false,
    )
  })

  await t.test('a delete on one removes the actor on the other', async () => {
    expectStatus(await a.api('POST', `/api/services/${id}/activate`), 200)
    await until('the second process to start it again', async () => (await activeOn(b, id)) === true)
    for (const e of [endpoint, reader]) expectStatus(await lifecycle(a, e.id, 'stop'), 200)
    expectStatus(await a.api('DELETE', `/api/services/${id}`), 200)
    await until('the second process to drop the actor', async () => (await actorsOn(b)).length === 0)
    assert.equal(await activeOn(b, id), 'missing')
  })
})
