import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { servedChild } from './support/child.ts'
import { deployEndpoint } from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const CONFIG_TS = join(import.meta.dirname, '..', 'src', 'config.ts')

test("a handler sees none of the server's environment, and the server's config module gives it no secret", async (t) => {
  // What an operator's shell would hold: the server's process has it, a handler must not.
  const planted = {
    EDGEFORGE_ADMIN_TOKEN: 'planted-admin-token-3f9a',
    EDGEFORGE_DATABASE_URL: 'postgres://u:planted-db-password@db/x',
    SOME_OPERATOR_SECRET: 'planted-operator-secret',
  }
  Object.assign(process.env, planted)
  t.after(() => {
    for (const key of Object.keys(planted)) delete process.env[key]
  })
  const srv = await startTestServer(t)
  await deployEndpoint(srv, {
    name: 'snoop',
    method: 'GET',
    path: '/snoop',
    code: handlerSource(`import { createRequire } from 'node:module'
export default handler(() => {
  const env = JSON.stringify(process.env)
  let config = ''
  try {
    // The server's own settings module, reached by path: it reads this thread's process.env.
    const loaded = createRequire('/')(${JSON.stringify(CONFIG_TS)})
    config = JSON.stringify(loaded.loadConfig())
  } catch (error) {
    config = 'error: ' + (error as Error).message
  }
  return Response.ok({ env, config })
})`),
  })
  const response = await fetch(`${srv.gatewayUrl}/snoop`)
  assert.equal(response.status, 200)
  const seen = (await response.json()) as { env: string; config: string }
  assert.equal(seen.env, '{}', 'process.env is empty inside a handler')
  for (const value of Object.values(planted)) {
    assert.ok(!seen.env.includes(value), 'no planted value in process.env')
    assert.ok(
      !seen.config.includes(value),
      `no planted value through config.ts: ${seen.config.slice(0, 200)}`,
    )
  }
  assert.ok(!seen.env.includes(process.env.PATH ?? '\u0000'), 'not even PATH')
})

test('SIGTERM with a handler stuck in a busy loop: the process still exits, within the drain timeout', async (t) => {
  const server = await servedChild(t, 'edgeforge-e2e-stuck-sigterm-', [
    '--drain-timeout-ms',
    '1000',
    '--gateway-threads',
    '2',
  ])
  const { control } = server
  const created = await control<{ id: string }>('POST', '/api/endpoints', {
    name: 'stuck',
    method: 'GET',
    path: '/stuck',
    // Long enough that the watchdog does not stop the thread first: shutdown must.
    timeout_ms: 60_000,
    code: handlerSource(`export default handler(() => {
  console.log('entered')
  while (true) {}
})`),
  })
  assert.equal(created.status, 201)
  assert.equal((await control('POST', `/api/endpoints/${created.data.id}/deploy`)).status, 200)
  const stuck = fetch(`${server.gatewayUrl}/stuck`).then(
    (response) => response.status,
    () => 'closed' as const,
  )
  await waitFor('the request to enter the handler', async () => {
    const logs = await control<Array<{ message: string }>>('GET', `/api/endpoints/${created.data.id}/logs`)
    return logs.data.some((line) => line.message === 'entered') ? true : undefined
  })
  const signalledAt = Date.now()
  server.child.kill('SIGTERM')
  const exit = await server.exited
  const tookMs = Date.now() - signalledAt
  t.diagnostic(`exited ${tookMs} ms after SIGTERM with ${JSON.stringify(exit)}`)
  assert.equal(exit.code, 0)
  // Drain timeout 1 s, plus the 1 s a silent thread is given, plus process teardown.
  assert.ok(tookMs < 8000, `exited after ${tookMs} ms`)
  assert.equal(await stuck, 'closed')
})
