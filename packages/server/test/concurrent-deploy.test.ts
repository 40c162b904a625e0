// Two gateway processes (two `edgeforge serve` children) on one PostgreSQL database, each sent
// PUT + deploy of the same endpoint at the same moment, round after round. The store serialises
// the two deploys: none fails with a 500, and both processes end up serving the version the
// record says is running, built from the code the record holds.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { spawnServe } from './support/child.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { handlerSource } from './support/server.ts'

const ROUNDS = 12

const code = (marker: string) =>
  handlerSource(`export default handler(() => Response.text(200, ${JSON.stringify(marker)}))`)

async function api(
  controlUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: { ok: boolean; data?: Record<string, unknown>; error?: unknown } }> {
  const reply = await fetch(controlUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: reply.status, body: (await reply.json()) as never }
}

async function until(gatewayUrl: string, expected: string, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  let last = ''
  while (Date.now() < deadline) {
    const reply = await fetch(`${gatewayUrl}/c`)
    last = `${reply.status} ${await reply.text()}`
    if (last === expected) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.fail(`${what} answered "${last}", not "${expected}", within 15 s`)
}

test('PUT + deploy of one endpoint sent to two processes at once: no 500, both serve what the record says runs', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'edgeforge-contended-')))
  // One after the other: two boots at once on a loaded machine can pass spawnServe's 20 s.
  const servers: Awaited<ReturnType<typeof spawnServe>>[] = []
  for (const dir of dirs) servers.push(await spawnServe(dir, ['--database-url', url]))
  const stopAll = async () => {
    for (const server of servers) server.child.kill('SIGTERM')
    await Promise.all(servers.map((server) => server.exited))
  }
  t.after(async () => {
    for (const server of servers) server.child.kill('SIGKILL')
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  const db = new pg.Client({ connectionString: url })
  db.on('error', () => {})
  await db.connect()

  const [a, b] = servers
  const created = await api(a.controlUrl, 'POST', '/api/endpoints', {
    name: 'contended',
    method: 'GET',
    path: '/c',
    code: code('start'),
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const id = String(created.body.data?.id)
  const putAndDeploy = async (controlUrl: string, marker: string) => {
    const put = await api(controlUrl, 'PUT', `/api/endpoints/${id}`, { code: code(marker) })
    assert.equal(put.status, 200, JSON.stringify(put.body))
    return api(controlUrl, 'POST', `/api/endpoints/${id}/deploy`)
  }

  const statuses: number[] = []
  for (let round = 1; round <= ROUNDS; round += 1) {
    const replies = await Promise.all([
      putAndDeploy(a.controlUrl, `a${round}`),
      putAndDeploy(b.controlUrl, `b${round}`),
    ])
    for (const reply of replies) {
      statuses.push(reply.status)
      // 409 is the documented answer of a deploy that could not take its turn; anything else is a bug.
      assert.ok(
        reply.status === 200 || reply.status === 409,
        `round ${round}: deploy answered ${reply.status} ${JSON.stringify(reply.body)}`,
      )
    }
    const record = (await api(a.controlUrl, 'GET', `/api/endpoints/${id}`)).body.data ?? {}
    assert.equal(record.status, 'running', `round ${round}`)
    const stored = await db.query<{ source: string }>(
      'SELECT source FROM endpoint_versions WHERE endpoint_id = $1 AND version = $2',
      [id, record.running_version],
    )
    const runs = /Response\.text\(200, "(\w+)"\)/.exec(stored.rows[0]?.source ?? '')?.[1]
    assert.ok(runs, `round ${round}: running version ${record.running_version} has a stored source`)
    if (replies.every((reply) => reply.status === 200)) {
      // Both deploys went through: the later one compiled the code the record holds now.
      assert.equal(record.code, code(runs), `round ${round}: the record's code is not what runs`)
    }
    await until(a.gatewayUrl, `200 ${runs}`, `round ${round}: process a`)
    await until(b.gatewayUrl, `200 ${runs}`, `round ${round}: process b`)
  }
  t.diagnostic(`deploy statuses over ${ROUNDS} rounds: ${statuses.join(' ')}`)
  // Before the database is dropped: t.after hooks run in the order they were added.
  await db.end()
  await stopAll()
})
