import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WORKER_CLOSE, WORKER_PROTOCOL_VERSION, type WorkerInfo } from '@edgeforge/protocol'
import { freshPostgresUrl } from './support/postgres.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'
import { rawAgent } from './support/workers.ts'

/*
 * Remote workers as resources across gateway processes on one PostgreSQL database: an agent
 * connected to one process is listed by every process, and drain and disconnect asked of another
 * process reach the one holding its socket.
 */

const ROOT = 'workers-cluster-root-token-0123456789'
const auth = { authorization: `Bearer ${ROOT}` }

test('GET /workers, drain and disconnect across gateway processes (PostgreSQL)', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const options = { 'database-url': url, 'admin-token': ROOT, 'job-concurrency': '0', 'job-lease-ms': '1500' }
  const a = await startTestServer(t, options)
  const b = await startTestServer(t, options)

  const agent = await rawAgent(a.controlUrl, auth)
  t.after(() => agent.socket.terminate())
  agent.send({
    type: 'hello',
    protocol: WORKER_PROTOCOL_VERSION,
    worker_id: 'far-agent',
    group: 'builders',
    queues: ['far-q'],
    concurrency: 3,
    agent_version: '1.2.3',
  })
  await agent.next('welcome')

  // Process b never saw the socket, and lists the agent from the store.
  const onB = await b.api<WorkerInfo[]>('GET', '/workers', undefined, auth)
  assert.equal(onB.status, 200, JSON.stringify(onB.body))
  const listed = onB.body.data.find((info) => info.id === 'far-agent')
  assert.ok(listed, `b lists ${JSON.stringify(onB.body.data)}`)
  assert.deepEqual(
    [listed.group, listed.queues, listed.concurrency, listed.agent_version, listed.draining],
    ['builders', ['far-q'], 3, '1.2.3', false],
  )
  assert.deepEqual((await a.api<WorkerInfo[]>('GET', '/workers', undefined, auth)).body.data, onB.body.data)
  const one = await b.api<WorkerInfo>('GET', '/workers/far-agent', undefined, auth)
  assert.equal(one.status, 200)
  assert.equal(one.body.data.connected_since, listed.connected_since)
  assert.equal((await b.api('GET', '/workers/nobody', undefined, auth)).status, 404)

  // Drain asked of b reaches the agent on a; a's row then says so to everyone.
  const drained = await b.api<WorkerInfo>('POST', '/workers/far-agent/drain', undefined, auth)
  assert.equal(drained.status, 200, JSON.stringify(drained.body))
  assert.equal(drained.body.data.draining, true)
  await agent.next('drain', 10_000)
  await waitFor(
    'b to see the agent draining',
    async () =>
      (await b.api<WorkerInfo>('GET', '/workers/far-agent', undefined, auth)).body.data.draining || undefined,
    10_000,
  )

  // Disconnect asked of b closes the socket on a, and the agent leaves every list.
  const cut = await b.api('POST', '/workers/far-agent/disconnect', undefined, auth)
  assert.equal(cut.status, 200, JSON.stringify(cut.body))
  assert.equal(await agent.closed, WORKER_CLOSE.disconnected)
  await waitFor(
    'the agent to leave b',
    async () =>
      (await b.api('GET', '/workers/far-agent', undefined, auth)).status === 404 ? true : undefined,
    10_000,
  )

  // A notice can be missed (the holder's LISTEN connection down): the request left in the store
  // is read back at the holder's next heartbeat. Written here without any NOTIFY.
  const quiet = await rawAgent(a.controlUrl, auth)
  t.after(() => quiet.socket.terminate())
  quiet.send({
    type: 'hello',
    protocol: WORKER_PROTOCOL_VERSION,
    worker_id: 'quiet-agent',
    queues: ['far-q'],
    concurrency: 1,
    agent_version: '1',
  })
  await quiet.next('welcome')
  const store = b.server.jobs.engine.db
  await store.run("UPDATE worker_agents SET control = 'drain' WHERE id = ?", ['quiet-agent'])
  await quiet.next('drain', 10_000)
  await store.run("UPDATE worker_agents SET control = 'disconnect' WHERE id = ?", ['quiet-agent'])
  assert.equal(await quiet.closed, WORKER_CLOSE.disconnected)

  const after = await a.api<WorkerInfo[]>('GET', '/workers', undefined, auth)
  assert.deepEqual(
    after.body.data.map((info) => info.id),
    [],
  )
})
