// Two gateway processes on one PostgreSQL database serve the same endpoints: what is deployed,
// swapped, re-routed, stopped or deleted through one of them, the other follows (from the stored
// artifacts, without compiling). Each server here is a whole edgeforge with its own listeners, as
// separate processes would be; they share nothing but the database.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { ENDPOINTS_CHANNEL } from '../src/deploy/index.ts'
import { createEndpoint, deployEndpoint, expectStatus, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const version = (marker: string) =>
  handlerSource(`export default handler(() => Response.text(200, ${JSON.stringify(marker)}))`)

/** What `server`'s gateway answers on `path`: `status body`. */
async function answer(server: TestServer, path: string): Promise<string> {
  const reply = await fetch(server.gatewayUrl + path)
  return `${reply.status} ${await reply.text()}`
}

/** Polls until `server` answers `expected` on `path` (10 s at most). */
async function until(server: TestServer, path: string, expected: string | RegExp): Promise<void> {
  let last = ''
  await waitFor(
    () => `${path} on the second server to answer ${expected} (it answered "${last}")`,
    async () => {
      last = await answer(server, path)
      return typeof expected === 'string' ? last === expected : expected.test(last)
    },
    10_000,
  )
}

test('two processes on one PostgreSQL database follow each other’s deploys', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const a = await startTestServer(t, { 'database-url': url })
  const b = await startTestServer(t, { 'database-url': url })

  const created = await createEndpoint(a, {
    name: 'shared',
    method: 'GET',
    path: '/shared',
    code: version('v1'),
  })
  const deploy = async () => expectStatus(await lifecycle(a, created.id, 'deploy'), 200)

  await t.test('a deploy on one is served by the other', async () => {
    await deploy()
    assert.equal(await answer(a, '/shared'), '200 v1')
    await until(b, '/shared', '200 v1')
  })

  await t.test('a redeploy swaps the other to the same stored version', async () => {
    await a.api('PUT', `/api/endpoints/${created.id}`, { code: version('v2') })
    await deploy()
    const deployed = performance.now()
    await until(b, '/shared', '200 v2')
    t.diagnostic(
      `the other process served v2 ${(performance.now() - deployed).toFixed(1)} ms after the deploy returned`,
    )
    assert.equal(b.server.gateway.get(created.id)?.version, 2)
  })

  await t.test('a new path follows; stop and start follow', async () => {
    await a.api('PUT', `/api/endpoints/${created.id}`, { path: '/moved' })
    await until(b, '/moved', '200 v2')
    assert.match(await answer(b, '/shared'), /^404 /)
    expectStatus(await lifecycle(a, created.id, 'stop'), 200)
    await until(b, '/moved', /^404 /)
    expectStatus(await lifecycle(a, created.id, 'start'), 200)
    await until(b, '/moved', '200 v2')
  })

  await t.test(
    'a disable takes it out in the other too, and enabling it again brings it back there',
    async () => {
      expectStatus(await a.api('PUT', `/api/endpoints/${created.id}`, { enabled: false }), 200)
      await until(b, '/moved', /^404 /)
      expectStatus(await a.api('PUT', `/api/endpoints/${created.id}`, { enabled: true }), 200)
      assert.equal(await answer(a, '/moved'), '200 v2')
      await until(b, '/moved', '200 v2')
    },
  )

  await t.test('a change missed while the LISTEN connection was down is caught up on reconnect', async () => {
    // Cut every LISTEN connection on the endpoints channel (both servers'), then deploy at once:
    // the notice goes out while nobody listens, and the other server only learns of v3 when its
    // reconnect reconciles everything.
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const cut = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN ${ENDPOINTS_CHANNEL}'`,
      )
      assert.ok(cut.rowCount !== null && cut.rowCount >= 2, `cut ${cut.rowCount} LISTEN connections`)
    } finally {
      await admin.end()
    }
    await a.api('PUT', `/api/endpoints/${created.id}`, { code: version('v3') })
    await deploy()
    await until(b, '/moved', '200 v3')
  })

  await t.test('a job handler deployed on one runs jobs in the other too', async () => {
    const { endpoint: job } = await deployEndpoint(a, {
      name: 'mailer',
      kind: 'job',
      queue: 'mail',
      code: handlerSource('export default job(async () => ({ sent: true }))', 'job'),
    })
    const installed = await waitFor(
      'the job handler to be installed in the other process',
      () => b.server.jobs.current(job.id),
      10_000,
    )
    assert.equal(installed.version, 1)
    expectStatus(await a.api('DELETE', `/api/endpoints/${job.id}`), 200)
  })

  await t.test('it works both ways, and a delete unroutes everywhere', async () => {
    await b.api('PUT', `/api/endpoints/${created.id}`, { code: version('v4') })
    expectStatus(await lifecycle(b, created.id, 'deploy'), 200)
    await until(a, '/moved', '200 v4')
    expectStatus(await a.api('DELETE', `/api/endpoints/${created.id}`), 200)
    await until(b, '/moved', /^404 /)
  })

  await t.test('a process that starts later serves what is running', async () => {
    await deployEndpoint(a, { name: 'late', method: 'GET', path: '/late', code: version('late') })
    const c = await startTestServer(t, { 'database-url': url })
    assert.equal(await answer(c, '/late'), '200 late')
    await c.stop()
  })

  // Before the database is dropped (t.after hooks run in the order they were added, and the
  // database's came first): a server whose connections are cut from under it would log errors.
  await Promise.all([a.stop(), b.stop()])
})
