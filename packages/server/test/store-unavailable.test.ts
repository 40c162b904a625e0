// The store going away under a running server: deploys and enqueues answer 503
// store_unavailable with Retry-After (a client can wait it out), never a bare 500, and the server
// serves again once the database is back. PostgreSQL is reached through a TCP relay the test cuts.
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { createEndpoint, expectStatus, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { handlerSource, startTestServer } from './support/server.ts'

/** A relay to PostgreSQL on a fixed port: `cut()` drops every connection and stops listening. */
async function relay(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let server: Server
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname)
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on('close', () => sockets.delete(socket))
          socket.on('error', () => {})
        }
        client.pipe(upstream).pipe(client)
      })
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
    })
  const port = await listen(0)
  return {
    port,
    async cut() {
      if (!server.listening) return
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
    },
    async restore() {
      await listen(port)
    },
  }
}

test('with PostgreSQL cut off, deploy, PUT and enqueue answer 503 store_unavailable with Retry-After; back, they work', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const target = new URL(url)
  const link = await relay(target)
  t.after(() => link.cut())
  const relayed = new URL(url)
  relayed.host = `127.0.0.1:${link.port}`
  const srv = await startTestServer(t, { 'database-url': relayed.toString(), 'type-check': 'false' })
  const code = (marker: string) =>
    handlerSource(`export default handler(() => Response.text(200, ${JSON.stringify(marker)}))`)
  const endpoint = await createEndpoint(srv, { name: 'outage', method: 'GET', path: '/o', code: code('v1') })
  expectStatus(await lifecycle(srv, endpoint.id, 'deploy'), 200)

  await link.cut()
  const calls = {
    put: () => srv.api('PUT', `/api/endpoints/${endpoint.id}`, { code: code('v2') }),
    deploy: () => lifecycle(srv, endpoint.id, 'deploy'),
    enqueue: () => srv.api('POST', '/jobs', { queue: 'q', payload: {} }),
    list: () => srv.api('GET', '/api/endpoints'),
  }
  for (const [name, call] of Object.entries(calls)) {
    const reply = await call()
    assert.equal(reply.status, 503, `${name}: ${JSON.stringify(reply.body)}`)
    assert.equal(reply.body.error?.code, 'store_unavailable', name)
    assert.equal(reply.headers.get('retry-after'), '5', name)
    assert.match(
      reply.body.error?.message ?? '',
      /^the database is unavailable \(.*PostgreSQL.*\); nothing was changed, retry in 5 s$/,
    )
    assert.doesNotMatch(JSON.stringify(reply.body), /ECONN|127\.0\.0\.1|pg-protocol|\n\s+at /, name)
  }
  // What was running keeps serving: the data plane does not need the store.
  assert.equal(await (await fetch(`${srv.gatewayUrl}/o`)).text(), 'v1')

  await link.restore()
  expectStatus(await calls.put(), 200)
  const deployed = expectStatus(await calls.deploy(), 200)
  assert.equal(deployed.body.data.running_version, 2)
  expectStatus(await calls.enqueue(), 201)
  assert.equal(await (await fetch(`${srv.gatewayUrl}/o`)).text(), 'v2')
  await srv.stop()
})
