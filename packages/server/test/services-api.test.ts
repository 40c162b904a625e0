import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { createEndpoint, expectError, expectStatus, lifecycle, readLogs } from './support/endpoints.ts'
import { startTestServer, type TestServer } from './support/server.ts'

/**
 * Service records through the management API and handlers that use them: validation per field,
 * write-only secrets, activate/deactivate/test, bindings, the 409 on deleting a used service, and
 * `ctx.database()` / `ctx.cache()` from a deployed handler, checked with node:sqlite directly.
 */

interface ServiceView {
  id: string
  name: string
  service_type: string
  config: Record<string, unknown>
  secrets_set: string[]
  enabled: boolean
  status: { active: boolean; connected: boolean; last_error: string | null }
}

const ITEMS = `
import { handler, Response } from '@edgeforge/sdk'

export default handler(async (req, ctx) => {
  const id = Number(req.requirePathParam('id'))
  const db = ctx.database('db')
  const cache = ctx.cache('cache')
  await db.execute('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)')
  if (req.method === 'PUT') {
    const body = req.json<{ name: string }>()
    await db.transaction(async (tx) => {
      await tx.execute('DELETE FROM items WHERE id = ?', [id])
      await tx.execute('INSERT INTO items (id, name) VALUES (?, ?)', [id, body.name])
    })
    await cache.delete('item:' + id)
    return Response.ok({ saved: id })
  }
  const cached = await cache.get('item:' + id)
  if (cached) return Response.ok({ source: 'cache', item: JSON.parse(cached) })
  const item = await db.queryOne('SELECT * FROM items WHERE id = ?', [id])
  if (!item) return Response.notFound()
  await cache.set('item:' + id, JSON.stringify(item), { ttlSeconds: 300 })
  return Response.ok({ source: 'db', item })
})
`

async function createService(srv: TestServer, body: Record<string, unknown>): Promise<ServiceView> {
  return expectStatus(await srv.api<ServiceView>('POST', '/api/services', body), 201).body.data
}

test('services API: validation per field, write-only secrets, test, activate and deactivate', async (t) => {
  const srv = await startTestServer(t)

  const missing = await srv.api('POST', '/api/services', {
    name: 'pg',
    service_type: 'postgres',
    config: { port: 'x' },
  })
  expectError(missing, 400, 'validation_failed')
  const fields = (
    missing.body as { error: { details: { fields: { field: string }[] } } }
  ).error.details.fields.map((f) => f.field)
  assert.deepEqual(fields.sort(), ['body.config.database', 'body.config.host', 'body.config.port'])

  expectError(
    await srv.api('POST', '/api/services', {
      name: 'pg',
      service_type: 'postgres',
      config: { host: 'h', database: 'd', password: 'in-the-open' },
    }),
    400,
    'validation_failed',
  )
  expectError(
    await srv.api('POST', '/api/services', {
      name: 'pg',
      service_type: 'postgres',
      config: { host: 'h', database: 'd', colour: 1 },
    }),
    400,
    'validation_failed',
  )
  expectError(
    await srv.api('POST', '/api/services', {
      name: 'x',
      service_type: 'sqlite',
      config: { path: '../../etc/passwd' },
    }),
    400,
    'validation_failed',
  )
  expectError(
    await srv.api('POST', '/api/services', { name: 'm', service_type: 'mongodb' }),
    400,
    'validation_failed',
  )

  const secret = 'pg-secret-value-31337'
  const pg = await createService(srv, {
    name: 'pg',
    service_type: 'postgres',
    config: { host: '127.0.0.1', port: 5432, database: 'no_such_database_here', username: 'postgres' },
    secrets: { password: secret },
    enabled: false,
  })
  assert.deepEqual(pg.secrets_set, ['password'])
  assert.equal(pg.status.active, false)
  expectError(await srv.api('POST', '/api/services', { name: 'pg', service_type: 'memory' }), 409, 'conflict')

  const tested = expectStatus(
    await srv.api<{ connected: boolean; error?: string }>('POST', `/api/services/${pg.id}/test`),
    200,
  )
  assert.equal(tested.body.data.connected, false)
  assert.ok(tested.body.data.error, 'the backend reason')

  const activated = expectStatus(await srv.api<ServiceView>('POST', `/api/services/${pg.id}/activate`), 200)
    .body.data
  assert.equal(activated.status.active, true)
  assert.equal(activated.enabled, true)
  const deactivated = expectStatus(
    await srv.api<ServiceView>('POST', `/api/services/${pg.id}/deactivate`),
    200,
  ).body.data
  assert.equal(deactivated.status.active, false)

  const updated = expectStatus(
    await srv.api<ServiceView>('PUT', `/api/services/${pg.id}`, {
      config: { port: 5433 },
      secrets: { password: null },
    }),
    200,
  ).body.data
  assert.equal(updated.config.port, 5433)
  assert.deepEqual(updated.secrets_set, [])

  const mem = await createService(srv, { name: 'sessions', service_type: 'memory' })
  const ok = expectStatus(
    await srv.api<{ connected: boolean; latency_ms: number }>('POST', `/api/services/${mem.id}/test`),
    200,
  )
  assert.equal(ok.body.data.connected, true)

  for (const path of ['/api/services', `/api/services/${pg.id}`])
    assert.ok(!JSON.stringify((await srv.api('GET', path)).body).includes(secret), `${path} shows no secret`)
  expectError(await srv.api('GET', '/api/services/nope'), 404, 'not_found')
})

test('a deployed handler reaches its bound database and cache; deleting a used service is a 409', async (t) => {
  const srv = await startTestServer(t)
  const db = await createService(srv, {
    name: 'main-db',
    service_type: 'sqlite',
    config: { path: 'shop.db' },
  })
  await createService(srv, { name: 'sessions', service_type: 'memory' })
  const endpoint = await createEndpoint(srv, {
    name: 'items',
    path: '/items/{id}',
    method: 'GET',
    code: ITEMS,
  })
  const put = await createEndpoint(srv, {
    name: 'items-put',
    path: '/items/{id}',
    method: 'PUT',
    code: ITEMS,
  })
  for (const e of [endpoint, put]) {
    for (const [binding, service] of [
      ['db', 'main-db'],
      ['cache', 'sessions'],
    ])
      expectStatus(await srv.api('POST', `/api/endpoints/${e.id}/services`, { binding, service }), 200)
    expectStatus(await lifecycle(srv, e.id, 'deploy'), 200)
  }
  expectError(
    await srv.api('POST', `/api/endpoints/${endpoint.id}/services`, {
      binding: 'x',
      service: 'no-such-service',
    }),
    404,
    'not_found',
  )

  assert.equal((await fetch(`${srv.gatewayUrl}/items/7`)).status, 404)
  const saved = await fetch(`${srv.gatewayUrl}/items/7`, {
    method: 'PUT',
    body: JSON.stringify({ name: 'lamp' }),
  })
  assert.equal(saved.status, 200)
  const first = await (await fetch(`${srv.gatewayUrl}/items/7`)).json()
  assert.deepEqual(first, { source: 'db', item: { id: 7, name: 'lamp' } })
  const second = (await (await fetch(`${srv.gatewayUrl}/items/7`)).json()) as { source: string }
  assert.equal(second.source, 'cache')

  const file = new DatabaseSync(join(srv.dataDir, 'services', 'sqlite', 'shop.db'))
  assert.deepEqual(
    file
      .prepare('SELECT id, name FROM items')
      .all()
      .map((r) => ({ ...r })),
    [{ id: 7, name: 'lamp' }],
  )
  file.close()

  const metrics = await (await fetch(`${srv.controlUrl}/metrics`)).text()
  const okOps =
    /^edgeforge_service_operations_total\{service="main-db",type="sqlite",outcome="ok"\} (\d+)$/m.exec(
      metrics,
    )
  assert.ok(okOps && Number(okOps[1]) >= 8, 'operations counted by outcome')
  assert.match(
    metrics,
    /^edgeforge_service_operation_seconds_count\{service="sessions",type="memory"\} \d+$/m,
  )
  assert.match(metrics, /^edgeforge_service_pool_connections\{service="main-db",state="open"\} 1$/m)
  assert.match(metrics, /^edgeforge_service_queue_depth\{service="main-db"\} 0$/m)

  const conflict = expectError(await srv.api('DELETE', `/api/services/${db.id}`), 409, 'conflict')
  assert.match(conflict.message, /items/)

  // Deactivated: the handler's call answers 503 service_unavailable; active again, it works.
  expectStatus(await srv.api('POST', `/api/services/${db.id}/deactivate`), 200)
  const down = await fetch(`${srv.gatewayUrl}/items/8`, { headers: { 'x-request-id': 'svc-down-1' } })
  assert.equal(down.status, 503)
  const downLogs = await readLogs(srv, endpoint.id)
  assert.ok(
    downLogs.some(
      (l) =>
        l.request_id === 'svc-down-1' &&
        l.level === 'error' &&
        /service main-db \(ctx\.database\("db"\)\) execute failed: service_unavailable/.test(l.message),
    ),
    JSON.stringify(downLogs.slice(-3)),
  )
  assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'service_unavailable')
  expectStatus(await srv.api('POST', `/api/services/${db.id}/activate`), 200)
  assert.equal((await fetch(`${srv.gatewayUrl}/items/8`)).status, 404)

  // Rebinding reaches the running endpoint with the next deploy (a swap of the same version).
  expectStatus(await srv.api('DELETE', `/api/endpoints/${endpoint.id}/services/db`), 200)
  assert.equal((await fetch(`${srv.gatewayUrl}/items/9`)).status, 404, 'still bound until the swap')
  const report = expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200).body.data
  assert.equal(report.swapped, true)
  const unbound = await fetch(`${srv.gatewayUrl}/items/9`)
  assert.equal(unbound.status, 500)
  const logs = await readLogs(srv, endpoint.id)
  assert.ok(
    logs.some((l) => l.message.includes('ctx.database("db")') && l.message.includes('"cache"')),
    'the log names the bindings there are',
  )
  expectStatus(await lifecycle(srv, endpoint.id, 'stop'), 200)
  expectStatus(await lifecycle(srv, put.id, 'stop'), 200)
  expectStatus(await srv.api('DELETE', `/api/services/${db.id}`), 200)
})
