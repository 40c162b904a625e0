import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig, redactedConfig } from '../src/config.ts'
import { CLI_MAIN, cleanEnv, servedChild } from './support/child.ts'
import { deployEndpoint, type EndpointView, expectError, expectStatus } from './support/endpoints.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const TOKEN = 'e2e-Admin-Token-7f3a9c'

test('loadConfig refuses a non-loopback control plane without a token, and says why', () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.20', 'control.example.test']) {
    assert.throws(
      () => loadConfig({}, { 'control-host': host }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error))
        assert.match(error.message, /EDGEFORGE_ADMIN_TOKEN/)
        assert.ok(error.message.includes(host), error.message)
        return true
      },
    )
  }
  assert.equal(
    loadConfig({ EDGEFORGE_ADMIN_TOKEN: TOKEN }, { 'control-host': '0.0.0.0' }).controlHost,
    '0.0.0.0',
  )
  assert.equal(loadConfig({}, { 'control-host': '0.0.0.0', 'admin-token': TOKEN }).adminToken, TOKEN)
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) {
    assert.equal(loadConfig({}, { 'control-host': host }).controlHost, host)
  }
  const redacted = JSON.stringify(redactedConfig(loadConfig({ EDGEFORGE_ADMIN_TOKEN: TOKEN })))
  assert.ok(!redacted.includes(TOKEN), 'the logged configuration masks the token')
})

test('edgeforge serve exits 2 when asked to expose the control plane without a token', async () => {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--control-host', '0.0.0.0'], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) =>
    child.on('exit', (exitCode) => resolve(exitCode)),
  )
  assert.equal(code, 2, stderr)
  assert.match(
    stderr,
    /^edgeforge serve: refusing to expose the control plane on 0\.0\.0\.0 .*EDGEFORGE_ADMIN_TOKEN/,
  )
})

test('with an admin token every control-plane call needs it, and no answer ever contains it', async (t) => {
  const srv = await startTestServer(t, { 'admin-token': TOKEN })
  const auth = { authorization: `Bearer ${TOKEN}` }
  const calls: Array<[method: string, path: string, body?: unknown]> = [
    ['GET', '/api/health'],
    ['GET', '/api/stats'],
    ['GET', '/api/openapi.json'],
    ['GET', '/api/domains'],
    ['GET', '/api/collections'],
    ['GET', '/api/endpoints'],
    ['POST', '/api/endpoints', { name: 'guarded', method: 'GET', path: '/guarded' }],
    ['GET', '/api/endpoints/some-id'],
    ['POST', '/api/endpoints/some-id/deploy'],
    ['GET', '/api/endpoints/some-id/logs'],
    ['DELETE', '/api/domains/some-id'],
    ['GET', '/api/no-such-route'],
  ]
  for (const [method, path, body] of calls) {
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ]
    for (const headers of refused) {
      const error = expectError(await srv.api(method, path, body, headers), 401, 'unauthorized')
      assert.match(error.message, /Authorization: Bearer/)
    }
  }
  // Nothing was created by the refused calls.
  const listed = expectStatus(await srv.api<EndpointView[]>('GET', '/api/endpoints', undefined, auth), 200)
  assert.deepEqual(listed.body.data, [])

  // With the token the same calls go through.
  for (const path of ['/api/health', '/api/stats', '/api/domains', '/api/collections', '/api/endpoints']) {
    expectStatus(await srv.api('GET', path, undefined, auth), 200)
  }
  const openapi = await fetch(`${srv.controlUrl}/api/openapi.json`, { headers: auth })
  assert.equal(openapi.status, 200)
  const document = (await openapi.json()) as { security?: unknown }
  assert.deepEqual(document.security, [{ bearer: [] }], 'the document says calls need the bearer token')

  // The gateway is public: the token guards only the control plane.
  const authed: TestServer = {
    ...srv,
    api: <T>(method: string, path: string, body?: unknown) => srv.api<T>(method, path, body, auth),
  }
  const { endpoint } = await deployEndpoint(authed, {
    name: 'public',
    method: 'GET',
    path: '/public',
    code: handlerSource(
      "export default handler((req) => Response.ok({ auth: req.header('authorization') ?? null }))",
    ),
  })
  const publicReply = await fetch(`${srv.gatewayUrl}/public`)
  assert.equal(publicReply.status, 200)
  assert.deepEqual(await publicReply.json(), { auth: null })

  // No answer carries the token: not the documents, not the errors, not the endpoint views.
  const answers: string[] = []
  const record = async (response: Response) => {
    answers.push(JSON.stringify([...response.headers]), await response.text())
  }
  for (const path of [
    '/api/health',
    '/api/stats',
    '/api/openapi.json',
    '/api/endpoints?include_code=true',
    `/api/endpoints/${endpoint.id}`,
    `/api/endpoints/${endpoint.id}/logs`,
    '/api/no-such-route',
    '/metrics',
  ]) {
    await record(await fetch(srv.controlUrl + path, { headers: auth }))
    await record(await fetch(srv.controlUrl + path))
    await record(await fetch(srv.controlUrl + path, { headers: { authorization: `Bearer ${TOKEN}x` } }))
  }
  await record(await fetch(`${srv.controlUrl}/api/endpoints`, { method: 'POST', headers: auth, body: '{' }))
  assert.ok(answers.length > 40)
  for (const answer of answers)
    assert.ok(!answer.includes(TOKEN), `the token leaked in: ${answer.slice(0, 300)}`)
})

test('SIGTERM: the listener stops accepting, the request in flight completes, the process exits 0', async (t) => {
  const server = await servedChild(t, 'edgeforge-e2e-sigterm-')
  const { control } = server
  const gate = join(server.dataDir, 'release-the-request')
  const created = await control<{ id: string }>('POST', '/api/endpoints', {
    name: 'slow',
    method: 'GET',
    path: '/slow',
    code: handlerSource(`import { existsSync } from 'node:fs'
export default handler(async () => {
  console.log('entered')
  const started = Date.now()
  // Waits about 500 ms, and for the test to open the gate, so SIGTERM surely lands mid-request.
  while (Date.now() - started < 500 || !existsSync(${JSON.stringify(gate)})) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return Response.text(200, 'finished after SIGTERM')
})`),
  })
  assert.equal(created.status, 201)
  const deployed = await control<{ status: string }>('POST', `/api/endpoints/${created.data.id}/deploy`)
  assert.equal(deployed.status, 200)
  assert.equal(deployed.data.status, 'running')

  const inFlight = fetch(`${server.gatewayUrl}/slow`)
  await waitFor('the request to enter the handler', async () => {
    const logs = await control<Array<{ message: string }>>('GET', `/api/endpoints/${created.data.id}/logs`)
    return logs.data.some((line) => line.message === 'entered') ? true : undefined
  })
  server.child.kill('SIGTERM')
  await waitFor('the server to announce the drain', () =>
    server.stderr().includes('SIGTERM received, draining in-flight requests') ? true : undefined,
  )
  await assert.rejects(fetch(`${server.gatewayUrl}/slow`), 'no new connections while draining')

  writeFileSync(gate, '')
  const response = await inFlight
  assert.equal(response.status, 200)
  assert.equal(await response.text(), 'finished after SIGTERM')
  const exit = await server.exited
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr())
})
