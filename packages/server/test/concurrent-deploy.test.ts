// Two gateway processes on one PostgreSQL database, each sent PUT + deploy of the same endpoint at
// the same moment, round after round. The store serialises the two deploys: none fails with a
// 500, and both processes end up serving the version the record says is running, built from the
// code the record holds.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { createEndpoint, getEndpoint, lifecycle } from './support/endpoints.ts'
import { freshPostgresUrl } from './support/postgres.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'

const ROUNDS = 12

const code = (marker: string) =>
  handlerSource(`export default handler(() => Response.text(200, ${JSON.stringify(marker)}))`)

async function answer(server: TestServer, path: string): Promise<string> {
  const reply = await fetch(server.gatewayUrl + path)
  return `${reply.status} ${await reply.text()}`
}

async function until(server: TestServer, path: string, expected: string, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  let last = ''
  while (Date.now() < deadline) {
    last = await answer(server, path)
    if (last === expected) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.fail(`${what} answered "${last}", not "${expected}", within 10 s`)
}

test('PUT + deploy of one endpoint sent to two processes at once: no 500, both serve what the record says runs', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const a = await startTestServer(t, { 'database-url': url })
  const b = await startTestServer(t, { 'database-url': url })
  const db = new pg.Client({ connectionString: url })
  db.on('error', () => {})
  await db.connect()

  const created = await createEndpoint(a, {
    name: 'contended',
    method: 'GET',
    path: '/c',
    code: code('start'),
  })
  const putAndDeploy = async (server: TestServer, marker: string) => {
    const put = await server.api('PUT', `/api/endpoints/${created.id}`, { code: code(marker) })
    assert.equal(put.status, 200, JSON.stringify(put.body))
    return lifecycle(server, created.id, 'deploy')
  }

  const statuses: number[] = []
  for (let round = 1; round <= ROUNDS; round += 1) {
    const replies = await Promise.all([putAndDeploy(a, `a${round}`), putAndDeploy(b, `b${round}`)])
    for (const reply of replies) {
      statuses.push(reply.status)
      // 409 is the documented answer of a deploy that could not take its turn; anything else is a bug.
      assert.ok(
        reply.status === 200 || reply.status === 409,
        `round ${round}: deploy answered ${reply.status} ${JSON.stringify(reply.body)}`,
      )
    }
    const record = await getEndpoint(a, created.id)
    assert.equal(record.status, 'running', `round ${round}`)
    const stored = await db.query<{ source: string }>(
      'SELECT source FROM endpoint_versions WHERE endpoint_id = $1 AND version = $2',
      [created.id, record.running_version],
    )
    const runs = /Response\.text\(200, "(\w+)"\)/.exec(stored.rows[0]?.source ?? '')?.[1]
    assert.ok(runs, `round ${round}: running version ${record.running_version} has a stored source`)
    if (replies.every((reply) => reply.status === 200)) {
      // Both deploys went through: the last one compiled the code the record holds now.
      assert.equal(record.code, code(runs), `round ${round}: the record's code is not what runs`)
    }
    await until(a, '/c', `200 ${runs}`, `round ${round}: process a`)
    await until(b, '/c', `200 ${runs}`, `round ${round}: process b`)
  }
  t.diagnostic(`deploy statuses over ${ROUNDS} rounds: ${statuses.join(' ')}`)
  // Before the database is dropped: t.after hooks run in the order they were added.
  await db.end()
  await Promise.all([a.stop(), b.stop()])
})
