// Two gateway processes on one PostgreSQL database, both running the handler of queue `work`:
// what the queue's overview and metrics say about workers is the cluster's, not one process's.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deployEndpoint, expectStatus, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

interface OverviewRow {
  queue: string
  live_workers: number
}

async function liveWorkers(server: TestServer): Promise<number> {
  const reply = await server.api<OverviewRow[]>('GET', '/queue/overview')
  return reply.body.data.find((row) => row.queue === 'work')?.live_workers ?? 0
}

/** Waits until `server`'s overview says `expected` live workers on queue work. */
function overviewSays(server: TestServer, expected: number): Promise<number> {
  return waitFor(`${expected} live workers on queue work`, async () => {
    const n = await liveWorkers(server)
    return n === expected ? n : undefined
  })
}

async function liveWorkersMetric(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.controlUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('edgeforge_jobs_live_workers{queue="work"}'))
  return line ? Number(line.split(' ').at(-1)) : 0
}

test('the overview and the live-workers metric count every process’s workers', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const a = await startTestServer(t, { 'database-url': url })
  const b = await startTestServer(t, { 'database-url': url })
  const { endpoint } = await deployEndpoint(a, {
    name: 'worker',
    kind: 'job',
    queue: 'work',
    code: handlerSource('export default job(async () => ({ done: true }))', 'job'),
  })

  for (const server of [a, b]) {
    await overviewSays(server, 2)
    assert.equal(await liveWorkersMetric(server), 2)
  }

  // A stop is followed by both processes; their runners say at once they serve the queue no more.
  expectStatus(await lifecycle(a, endpoint.id, 'stop'), 200)
  for (const server of [a, b]) {
    await overviewSays(server, 0)
    assert.equal(await liveWorkersMetric(server), 0)
  }

  // A process that shuts down takes its worker out of the count of the one that stays.
  expectStatus(await lifecycle(a, endpoint.id, 'start'), 200)
  await overviewSays(a, 2)
  await b.stop()
  assert.equal(await liveWorkers(a), 1)
  assert.equal(await liveWorkersMetric(a), 1)
  expectStatus(await a.api('DELETE', `/api/endpoints/${endpoint.id}`), 200)
  // Before the database is dropped (its t.after hook came first).
  await a.stop()
})
