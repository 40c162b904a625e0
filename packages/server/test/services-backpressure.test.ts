import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

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

  /** 200 concurrent requests, each with its own id; the queue depth is sampled while they run. */
  const round = async (tag: string) => {
    let sampling = true
    let deepest = 0
    const sampler = (async () => {
      while (sampling) {
        const seen = await srv.api<{ status: { queued: number } }>('GET', `/api/services/${created.id}`)
        deepest = Math.max(deepest, seen.body.data.status.queued)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await fetch(`${srv.gatewayUrl}/slow`, { headers: { 'x-request-id': `bp-${tag}-${i}` } })
        const body = (await res.json()) as { error?: { code: string }; request_id?: string }
        return { status: res.status, code: body.error?.code, id: res.headers.get('x-request-id') }
      }),
    )
    sampling = false
    await sampler
    assert.equal(answers.length, 200)
    assert.deepEqual(
      new Set(answers.map((a) => a.id)),
      new Set(Array.from({ length: 200 }, (_, i) => `bp-${tag}-${i}`)),
      'every request answered, once, with its own id',
    )
    assert.ok(deepest <= 20, `the queue held ${deepest} operations; its bound is 20`)
    return { answers, deepest }
  }

  const { answers, deepest } = await round('first')
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
  t.diagnostic(`first round: ${ok} answered 200, ${busy} refused with service_busy, queue at most ${deepest}`)
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

  // Memory flat: five more rounds (1000 requests, about 880 of them refused) after the first one
  // warmed every path, measured after a full collection of this thread's heap (the actors, the
  // queue and the control plane live here; the handler threads' heaps are in the RSS). Growth past
  // 8 MB of heap would be more than 8 KB kept per request: a queue or a refusal that holds on to
  // what it was given. The per-round figures go to the diagnostics.
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
  gc()
  const before = process.memoryUsage()
  let refused = 0
  for (let i = 0; i < 5; i += 1) {
    refused += (await round(`more-${i}`)).answers.filter((a) => a.code === 'service_busy').length
    gc()
    const now = process.memoryUsage()
    t.diagnostic(`after round ${i + 2}: rss ${mb(now.rss)} MB, heap ${mb(now.heapUsed)} MB`)
  }
  const after = process.memoryUsage()
  const heapGrownMb = (after.heapUsed - before.heapUsed) / 2 ** 20
  const grownMb = (after.rss - before.rss) / 2 ** 20
  t.diagnostic(
    `1000 more requests (${refused} refused): rss ${mb(before.rss)} → ${mb(after.rss)} MB, heap ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB`,
  )
  assert.ok(heapGrownMb < 8, `the heap grew ${heapGrownMb.toFixed(1)} MB over 1000 requests`)
  // RSS also counts the handler threads' heaps, which collect on their own schedule: a coarse bound.
  assert.ok(grownMb < 64, `rss grew ${grownMb.toFixed(1)} MB over 1000 requests`)
})
