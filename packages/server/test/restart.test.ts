import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { type TestContext, test } from 'node:test'
import pg from 'pg'
import {
  deployEndpoint,
  type EndpointView,
  expectStatus,
  getEndpoint,
  lifecycle,
  rawRequest,
  readLogs,
} from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { handlerSource, startTestServer } from './support/server.ts'

interface Stats {
  endpoints_running: number
  http_handlers: { loaded: number }
}

type VersionRows = Array<{ name: string; version: number }>

const says = (text: string) =>
  handlerSource(`export default handler((req) => {
  console.log('serving', ${JSON.stringify(text)})
  return Response.text(200, ${JSON.stringify(text)})
})`)

/**
 * Deploys endpoints on one server, stops it, boots another on the same state and checks that the
 * running endpoints serve again from their stored versions, with no compile (no new version rows).
 */
async function restartRestoresRunningEndpoints(
  t: TestContext,
  flags: Record<string, string>,
  versionRows: (dataDir: string) => Promise<VersionRows>,
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-e2e-restart-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))

  const first = await startTestServer(t, flags, { dataDir })
  const alpha = await deployEndpoint(first, {
    name: 'alpha',
    method: 'GET',
    path: '/alpha',
    code: says('alpha v1'),
  })
  expectStatus(await first.api('PUT', `/api/endpoints/${alpha.endpoint.id}`, { code: says('alpha v2') }), 200)
  expectStatus(await lifecycle(first, alpha.endpoint.id, 'deploy'), 200)
  const beta = await deployEndpoint(first, {
    name: 'beta',
    method: 'POST',
    path: '/beta/{id}',
    domain: 'beta.example.test',
    timeout_ms: 5000,
    code: handlerSource(
      "export default handler((req) => Response.ok({ id: req.pathParam('id'), body: req.json() }))",
    ),
  })
  const parked = await deployEndpoint(first, {
    name: 'parked',
    method: 'GET',
    path: '/parked',
    code: says('parked'),
  })
  expectStatus(await lifecycle(first, parked.endpoint.id, 'stop'), 200)
  const before: EndpointView[] = []
  for (const id of [alpha.endpoint.id, beta.endpoint.id, parked.endpoint.id])
    before.push(await getEndpoint(first, id))
  assert.deepEqual(
    before.map((e) => [e.name, e.status, e.running_version]),
    [
      ['alpha', 'running', 2],
      ['beta', 'running', 1],
      ['parked', 'stopped', 1],
    ],
  )
  await first.stop()
  const rowsBefore = await versionRows(dataDir)
  assert.deepEqual(rowsBefore, [
    { name: 'alpha', version: 1 },
    { name: 'alpha', version: 2 },
    { name: 'beta', version: 1 },
    { name: 'parked', version: 1 },
  ])

  // Artifacts live in the store: the compiler's cache (installed dependencies) is not needed.
  rmSync(join(dataDir, 'cache'), { recursive: true, force: true })
  const second = await startTestServer(t, flags, { dataDir })
  const alphaReply = await fetch(`${second.gatewayUrl}/alpha`, {
    headers: { 'x-request-id': 'after-restart' },
  })
  assert.equal(alphaReply.status, 200)
  assert.equal(await alphaReply.text(), 'alpha v2', 'the version that was running, not the first one')
  const betaReply = await rawRequest(second.gatewayUrl, {
    method: 'POST',
    path: '/beta/9',
    host: 'beta.example.test',
    headers: { 'content-type': 'application/json' },
    body: '{"x":1}',
  })
  assert.equal(betaReply.status, 200)
  assert.deepEqual(JSON.parse(betaReply.body), { id: '9', body: { x: 1 } })
  assert.equal((await fetch(`${second.gatewayUrl}/parked`)).status, 404, 'a stopped endpoint stays stopped')

  const after: EndpointView[] = []
  for (const e of before) after.push(await getEndpoint(second, e.id))
  assert.deepEqual(
    after.map((e) => [e.name, e.status, e.running_version, e.compiled_version, e.last_error]),
    before.map((e) => [e.name, e.status, e.running_version, e.compiled_version, e.last_error]),
  )
  const stats = expectStatus(await second.api<Stats>('GET', '/api/stats'), 200).body.data
  assert.deepEqual([stats.endpoints_running, stats.http_handlers.loaded], [2, 2])
  const logged = await readLogs(second, alpha.endpoint.id)
  assert.deepEqual(
    logged.map((line) => [line.request_id, line.version, line.message]),
    [['after-restart', 2, 'serving alpha v2']],
    'the restored version logs with its own version number',
  )

  // The stored version is current: deploying the unchanged code compiles nothing.
  const redeploy = expectStatus(await lifecycle(second, alpha.endpoint.id, 'deploy'), 200).body.data
  assert.equal(redeploy.compile?.reused, true)
  assert.equal(redeploy.compile?.timings_ms, undefined)
  assert.deepEqual([redeploy.running_version, redeploy.swapped], [2, false])
  // A stopped endpoint starts from its stored version too.
  const restarted = expectStatus(await lifecycle(second, parked.endpoint.id, 'start'), 200).body.data
  assert.deepEqual([restarted.status, restarted.running_version], ['running', 1])
  assert.equal(await (await fetch(`${second.gatewayUrl}/parked`)).text(), 'parked')
  await second.stop()

  assert.deepEqual(await versionRows(dataDir), rowsBefore, 'no version was compiled after the restart')
}

const VERSION_ROWS_SQL =
  'SELECT e.name AS name, v.version AS version FROM endpoint_versions v JOIN endpoints e ON e.id = v.endpoint_id ORDER BY e.name, v.version'

test('restart restores running endpoints from stored versions (SQLite)', async (t) => {
  await restartRestoresRunningEndpoints(t, {}, async (dataDir) => {
    const db = new DatabaseSync(join(dataDir, 'edgeforge.db'), { readOnly: true })
    try {
      return db
        .prepare(VERSION_ROWS_SQL)
        .all()
        .map((row) => ({ name: String(row.name), version: Number(row.version) }))
    } finally {
      db.close()
    }
  })
})

test('restart restores running endpoints from stored versions (PostgreSQL)', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  await restartRestoresRunningEndpoints(t, { 'database-url': url }, async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const result = await client.query<{ name: string; version: number }>(VERSION_ROWS_SQL)
      return result.rows.map((row) => ({ name: row.name, version: Number(row.version) }))
    } finally {
      await client.end()
    }
  })
})
