import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deployEndpoint, expectStatus, getEndpoint, lifecycle, readLogs } from './support/endpoints.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

interface Handlers {
  loaded: number
  quarantined: number
  threads: number
  thread_restarts: number
}

const handlers = async (srv: TestServer) =>
  expectStatus(await srv.api<{ http_handlers: Handlers }>('GET', '/api/stats'), 200).body.data.http_handlers

/** Clients calling `path` back to back until stopped; counts what they got. */
function load(url: string, clients: number) {
  let running = true
  const counts = { ok: 0, failed: 0 }
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
        await response.text()
        if (response.status === 200) counts.ok += 1
        else counts.failed += 1
      } catch {
        counts.failed += 1
      }
    }
  })
  return {
    counts,
    async stop() {
      running = false
      await Promise.all(loops)
      return counts
    },
  }
}

/** Calls a handler that never answers: the thread is stopped, so the connection closes (or 504). */
async function callStuck(url: string): Promise<{ ms: number; status: number | 'closed' }> {
  const startedAt = Date.now()
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) })
    await response.text()
    return { ms: Date.now() - startedAt, status: response.status }
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw error
    return { ms: Date.now() - startedAt, status: 'closed' }
  }
}

test('a spinning handler costs its requests and its thread, not the gateway; repeat offenders are quarantined', async (t) => {
  const srv = await startTestServer(t, {
    'gateway-threads': '2',
    'thread-stuck-grace-ms': '300',
    'quarantine-after': '3',
  })
  await deployEndpoint(srv, {
    name: 'steady',
    method: 'GET',
    path: '/steady',
    code: handlerSource(`export default handler(() => Response.text(200, 'steady'))`),
  })
  const { endpoint: spinner } = await deployEndpoint(srv, {
    name: 'spinner',
    method: 'GET',
    path: '/spin/{how}',
    timeout_ms: 1000,
    code: handlerSource(`export default handler(async (req) => {
  // After an await the handler has returned its promise: the spin then holds the event loop.
  if (req.pathParam('how') === 'later') await new Promise((resolve) => setTimeout(resolve, 10))
  while (true) {}
})`),
  })
  assert.equal((await handlers(srv)).threads, 2)

  await t.test(
    'the spinning request ends within its timeout plus the grace; the rest keeps serving',
    async () => {
      const traffic = load(`${srv.gatewayUrl}/steady`, 16)
      await waitFor('the load to run', () => (traffic.counts.ok > 50 ? true : undefined))
      const spin = callStuck(`${srv.gatewayUrl}/spin/now`)
      // While the thread spins, the control plane and the other thread answer.
      await new Promise((resolve) => setTimeout(resolve, 400))
      expectStatus(await srv.api('GET', '/api/health'), 200)
      const okBefore = traffic.counts.ok
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.ok(traffic.counts.ok > okBefore, 'the other thread served while one was stuck')
      const outcome = await spin
      t.diagnostic(`the spinning request ended after ${outcome.ms} ms with ${outcome.status}`)
      assert.ok(outcome.status === 'closed' || outcome.status === 504, `got ${outcome.status}`)
      assert.ok(outcome.ms < 1000 + 300 + 1500, `ended at ${outcome.ms} ms, timeout 1000 + grace 300`)
      await waitFor('the thread to be replaced', async () =>
        (await handlers(srv)).thread_restarts >= 1 ? true : undefined,
      )
      const okAfterReplace = traffic.counts.ok
      await waitFor('the load to go on', () => (traffic.counts.ok > okAfterReplace + 50 ? true : undefined))
      const counts = await traffic.stop()
      t.diagnostic(`steady load: ${counts.ok} answered, ${counts.failed} failed (on the stopped thread)`)
      assert.ok(counts.failed <= 16, `at most the requests on the stopped thread fail: ${counts.failed}`)
      // Every request now succeeds, on either thread.
      for (let i = 0; i < 20; i++)
        assert.equal(
          (await fetch(`${srv.gatewayUrl}/steady`, { headers: { connection: 'close' } })).status,
          200,
        )
      assert.equal((await getEndpoint(srv, spinner.id)).status, 'running', 'one strike is not quarantine')
      const lines = (await readLogs(srv, spinner.id)).map((line) => line.message)
      assert.ok(
        lines.some((line) => /handler thread stopped and replaced/.test(line)),
        lines.join('\n'),
      )
    },
  )

  await t.test('a spin after an await is caught too; the third strike quarantines the endpoint', async () => {
    const second = await callStuck(`${srv.gatewayUrl}/spin/later`)
    assert.ok(second.status === 'closed' || second.status === 504)
    assert.ok(second.ms < 1000 + 300 + 1500, `ended at ${second.ms} ms`)
    await waitFor('the second replacement', async () =>
      (await handlers(srv)).thread_restarts >= 2 ? true : undefined,
    )
    await callStuck(`${srv.gatewayUrl}/spin/now`)
    const record = await waitFor('the quarantine', async () => {
      const endpoint = await getEndpoint(srv, spinner.id)
      return endpoint.status === 'error' ? endpoint : undefined
    })
    assert.match(record.last_error ?? '', /quarantined: its handler needed its thread stopped 3 times/)
    const refused = await fetch(`${srv.gatewayUrl}/spin/now`)
    assert.equal(refused.status, 503)
    const body = (await refused.json()) as { error: { code: string } }
    assert.equal(body.error.code, 'endpoint_quarantined')
    assert.equal((await handlers(srv)).quarantined, 1)
    const metrics = await (await fetch(`${srv.controlUrl}/metrics`)).text()
    assert.match(metrics, /^edgeforge_gateway_quarantined_endpoints 1$/m)
    assert.match(metrics, /^edgeforge_gateway_thread_restarts_total [3-9]$/m)
    assert.equal((await fetch(`${srv.gatewayUrl}/steady`)).status, 200)

    // Starting it again is the operator's call; it then runs (and would be counted afresh).
    expectStatus(await lifecycle(srv, spinner.id, 'start'), 200)
    assert.equal((await getEndpoint(srv, spinner.id)).status, 'running')
    assert.equal((await handlers(srv)).quarantined, 0)
  })
})

test('a handler that allocates without bound hits the thread heap limit; its thread is replaced', async (t) => {
  const srv = await startTestServer(t, { 'gateway-threads': '1', 'thread-heap-mb': '64' })
  await deployEndpoint(srv, {
    name: 'ok',
    method: 'GET',
    path: '/ok',
    code: handlerSource(`export default handler(() => Response.text(200, 'ok'))`),
  })
  const { endpoint: hog } = await deployEndpoint(srv, {
    name: 'hog',
    method: 'GET',
    path: '/hog',
    code: handlerSource(`const kept: number[][] = []
export default handler(() => {
  for (;;) kept.push(new Array(100_000).fill(Math.random()))
})`),
  })
  const outcome = await callStuck(`${srv.gatewayUrl}/hog`)
  t.diagnostic(`the allocating request ended after ${outcome.ms} ms`)
  assert.equal(outcome.status, 'closed')
  await waitFor(
    'the thread to be replaced',
    async () => ((await handlers(srv)).thread_restarts >= 1 ? true : undefined),
    10_000,
  )
  await waitFor('the replacement to serve', async () => {
    const response = await fetch(`${srv.gatewayUrl}/ok`).catch(() => undefined)
    return response?.status === 200 ? true : undefined
  })
  const lines = (await readLogs(srv, hog.id)).map((line) => line.message)
  assert.ok(
    lines.some((line) => /ran out of heap/.test(line)),
    lines.join('\n'),
  )
  expectStatus(await srv.api('GET', '/api/health'), 200)
  const closing = Date.now()
  await srv.stop()
  t.diagnostic(`stopped in ${Date.now() - closing} ms`)
})
