import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createEndpoint, expectStatus, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { startTestServer } from './support/server.ts'

const SLOW = `
import { handler, Response } from '@edgeforge/sdk'
export default handler(async (_req, ctx) => {
  await ctx.database('db').query('SELECT pg_sleep(0.3)')
  return Response.ok({ done: true })
})
`

test('backpressure through the gateway: a pool of 2, a slow query, 200 concurrent requests', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const srv = await startTestServer(t)
  const database = new URL(url).pathname.slice(1)
  const created = expectStatus(
    await srv.api<{ id: string }>('POST', '/api/services', {
      name: 'slow-db',
      service_type: 'postgres',
      config: { host: '127.0.0.1', database, pool_size: 2, max_queue: 20, operation_timeout_ms: 60_000 },
    }),
    201,
  ).body.data
  const endpoint = await createEndpoint(srv, { name: 'slow', path: '/slow', method: 'GET', code: SLOW })
  expectStatus(
    await srv.api('POST', `/api/endpoints/${endpoint.id}/services`, { binding: 'db', service: 'slow-db' }),
    200,
  )
  expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200)

  const answers = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const res = await fetch(`${srv.gatewayUrl}/slow`, { headers: { 'x-request-id': `bp-${i}` } })
      const body = (await res.json()) as { error?: { code: string }; request_id?: string }
      return { status: res.status, code: body.error?.code, id: res.headers.get('x-request-id') }
    }),
  )
  assert.equal(answers.length, 200)
  assert.equal(new Set(answers.map((a) => a.id)).size, 200, 'every request answered, once')
  const ok = answers.filter((a) => a.status === 200).length
  const busy = answers.filter((a) => a.status === 503 && a.code === 'service_busy').length
  // 2 run and 20 wait; what arrives while both are full is refused at once. Requests reach the
  // gateway over some milliseconds, so a few more than 22 may find a slot that freed meanwhile.
  assert.equal(
    ok + busy,
    200,
    JSON.stringify(answers.filter((a) => a.status !== 200 && a.code !== 'service_busy')),
  )
  assert.ok(ok >= 22, `${ok} succeeded`)
  assert.ok(busy >= 100, `${busy} refused`)
  const status = expectStatus(
    await srv.api<{ status: { connections: number; queued: number; in_use: number } }>(
      'GET',
      `/api/services/${created.id}`,
    ),
    200,
  ).body.data.status
  assert.deepEqual(
    { connections: status.connections, queued: status.queued, in_use: status.in_use },
    {
      connections: 2,
      queued: 0,
      in_use: 0,
    },
  )
  const metrics = await (await fetch(`${srv.controlUrl}/metrics`)).text()
  assert.match(
    metrics,
    new RegExp(
      `^edgeforge_service_operations_total\\{service="slow-db",type="postgres",outcome="busy"\\} ${busy}$`,
      'm',
    ),
  )
  assert.match(
    metrics,
    new RegExp(
      `^edgeforge_service_operations_total\\{service="slow-db",type="postgres",outcome="ok"\\} ${ok}$`,
      'm',
    ),
  )
})
