import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { type InputMessage, WORKER_CLOSE, WORKER_PROTOCOL_VERSION } from '@edgeforge/protocol'
import { freshPostgresUrl } from './support/postgres.ts'
import { startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'
import { rawAgent, spawnAgent } from './support/workers.ts'

/*
 * POST /jobs/{id}/input is stored and delivered by whichever process holds the run: across an
 * agent's reconnect (the agent says the last seq it has, the hub resends exactly the rest) and
 * across gateway processes on one PostgreSQL database (LISTEN/NOTIFY).
 */

const LISTENER = `import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  for await (const message of ctx.input) {
    ctx.log('got', JSON.stringify(message))
    if (message === 'end') break
  }
  return 'done'
})`

async function deployJob(srv: TestServer, name: string, queue: string, code: string): Promise<void> {
  const created = await srv.api<{ id: string }>('POST', '/api/endpoints', { name, kind: 'job', queue, code })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const deployed = await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`)
  assert.equal(deployed.status < 300, true, JSON.stringify(deployed.body))
}

async function enqueue(srv: TestServer, queue: string): Promise<string> {
  const reply = await srv.api<{ job: { id: string } }>('POST', '/jobs', { queue, payload: null })
  assert.equal(reply.status, 201, JSON.stringify(reply.body))
  return reply.body.data.job.id
}

async function send(srv: TestServer, id: string, message: unknown): Promise<number> {
  const reply = await srv.api<{ seq: number }>('POST', `/jobs/${id}/input`, { message })
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body.data.seq
}

interface JobView {
  status: string
  log_lines: number
}
const jobOf = async (srv: TestServer, id: string) => (await srv.api<JobView>('GET', `/jobs/${id}`)).body.data
const logOf = async (srv: TestServer, id: string) =>
  (
    await srv.api<{ lines: Array<{ line: string }> }>('GET', `/jobs/${id}/log?limit=1000`)
  ).body.data.lines.map((line) => line.line)

function cacheDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-agent-cache-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A raw agent's hello, retried while the server still holds the closed session under that id. */
async function helloAgain(controlUrl: string, hello: object) {
  for (let tries = 0; ; tries++) {
    const agent = await rawAgent(controlUrl)
    agent.send(hello)
    const answer = await waitFor('welcome or refused', () =>
      agent.received.find((message) => message.type === 'welcome' || message.type === 'refused'),
    )
    if (answer.type === 'welcome') return agent
    agent.socket.terminate()
    if (tries > 50) throw new Error(`hello refused: ${JSON.stringify(answer)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('input to remote jobs', () => {
  test('a reconnecting agent reports the last input seq it has and gets exactly the rest, in order', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0' })
    const hello = {
      type: 'hello',
      protocol: WORKER_PROTOCOL_VERSION,
      worker_id: 'raw',
      queues: ['q'],
      concurrency: 1,
      agent_version: 'test',
    }
    const first = await rawAgent(srv.controlUrl)
    first.send(hello)
    await first.next('welcome')
    const id = await enqueue(srv, 'q')
    const job = await first.next('job')
    assert.equal(job.job_id, id)
    assert.deepEqual([await send(srv, id, 'a'), await send(srv, id, 'b')], [1, 2])
    const a = await first.next('input')
    const b = await first.next('input')
    assert.deepEqual(
      [a, b].map((m) => [m.seq, m.message, m.attempt]),
      [
        [1, 'a', 1],
        [2, 'b', 1],
      ],
    )
    // The server closes the socket; input sent meanwhile is stored, not lost.
    assert.equal((await srv.api('POST', '/workers/raw/disconnect')).status, 200)
    assert.equal(await first.closed, WORKER_CLOSE.disconnected)
    assert.equal(await send(srv, id, 'c'), 3)
    // Say only seq 1 arrived (2 was on the wire when the socket went): 2 and 3 come again, 1 does not.
    const second = await helloAgain(srv.controlUrl, {
      ...hello,
      running: [{ job_id: id, attempt: 1, input_seq: 1 }],
    })
    const welcome = await second.next('welcome')
    assert.deepEqual(welcome.resumed, [{ job_id: id, attempt: 1 }])
    const resent = [await second.next('input'), await second.next('input')]
    assert.deepEqual(
      resent.map((m) => [m.seq, m.message]),
      [
        [2, 'b'],
        [3, 'c'],
      ],
    )
    assert.equal(await send(srv, id, 'd'), 4)
    assert.deepEqual([(await second.next('input')).seq], [4], 'new input follows on the resumed session')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.deepEqual(
      second.received.filter((m): m is InputMessage => m.type === 'input'),
      [],
      'nothing twice',
    )
    // The attempt fails; the next one reads the job's input again from the first message.
    second.send({ type: 'finish', job_id: id, attempt: 1, outcome: 'failed', error: 'try again' })
    assert.equal((await second.next('finish_ack')).status, 'queued')
    const retried = await second.next('job', 15_000)
    assert.deepEqual([retried.job_id, retried.attempt], [id, 2])
    const replay: InputMessage[] = []
    for (let i = 0; i < 4; i++) replay.push(await second.next('input'))
    assert.deepEqual(
      replay.map((m) => [m.attempt, m.seq, m.message]),
      [
        [2, 1, 'a'],
        [2, 2, 'b'],
        [2, 3, 'c'],
        [2, 4, 'd'],
      ],
    )
    second.send({ type: 'finish', job_id: id, attempt: 2, outcome: 'succeeded', result: null })
    assert.equal((await second.next('finish_ack')).ok, true)
    const late = await srv.api<never>('POST', `/jobs/${id}/input`, { message: 'late' })
    assert.equal(late.status, 409)
    assert.equal(late.body.error?.code, 'conflict')
    assert.match(String(late.body.error?.message), /is succeeded; input goes to running jobs only/)
    second.socket.close()
  })

  test('a real agent cut off by the server mid-input gets every message exactly once, in order', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0' })
    await deployJob(srv, 'listener', 'listen', LISTENER)
    const agent = spawnAgent(t, srv.controlUrl, [
      '--queue',
      'listen',
      '--id',
      'cut',
      '--cache-dir',
      cacheDir(t),
    ])
    const id = await enqueue(srv, 'listen')
    await waitFor('the job to run', async () => (await jobOf(srv, id)).status === 'running', 20_000)
    for (let i = 1; i <= 5; i++) await send(srv, id, i)
    await waitFor('five lines', async () => (await jobOf(srv, id)).log_lines === 5, 10_000)
    // Cut, and keep sending while the agent is away and as it comes back.
    assert.equal((await srv.api('POST', '/workers/cut/disconnect')).status, 200)
    for (let i = 6; i <= 15; i++) await send(srv, id, i)
    await waitFor(
      'the agent to reconnect',
      () => agent.lines().filter((line) => line.msg === 'connected').length >= 2 || undefined,
      10_000,
    )
    for (let i = 16; i <= 20; i++) await send(srv, id, i)
    await send(srv, id, 'end')
    await waitFor('the job to succeed', async () => (await jobOf(srv, id)).status === 'succeeded', 10_000)
    assert.deepEqual(await logOf(srv, id), [
      ...Array.from({ length: 20 }, (_, i) => `got ${i + 1}`),
      'got "end"',
    ])
  })

  test('input reaches a job running under another gateway process (PostgreSQL): on an agent, and in-process', async (t) => {
    const url = await freshPostgresUrl(t)
    if (!url) return
    const options = { 'database-url': url, 'job-lease-ms': '3000' }
    const a = await startTestServer(t, { ...options, 'job-concurrency': '0' })
    const b = await startTestServer(t, { ...options, 'job-concurrency': '1' })
    await waitFor('both processes to hear input notices', () =>
      a.server.jobs.engine.inputListening && b.server.jobs.engine.inputListening ? true : undefined,
    )

    // An agent on a; the input is sent to b, which never saw the socket.
    const agent = await rawAgent(a.controlUrl)
    agent.send({
      type: 'hello',
      protocol: WORKER_PROTOCOL_VERSION,
      worker_id: 'far',
      queues: ['far-q'],
      concurrency: 1,
      agent_version: 'test',
    })
    await agent.next('welcome')
    const remote = await enqueue(b, 'far-q')
    assert.equal((await agent.next('job')).job_id, remote)
    assert.equal(await send(b, remote, { to: 'far' }), 1)
    const got = await agent.next('input')
    assert.deepEqual([got.job_id, got.seq, got.message], [remote, 1, { to: 'far' }])
    agent.send({ type: 'finish', job_id: remote, attempt: 1, outcome: 'succeeded', result: null })
    await agent.next('finish_ack')
    agent.socket.close()

    // A job run by b's own runner; the input is sent to a (which runs no jobs).
    await deployJob(a, 'near', 'near-q', LISTENER)
    const local = await enqueue(a, 'near-q')
    await waitFor('b to run it', async () => (await jobOf(a, local)).status === 'running', 20_000)
    assert.equal(await send(a, local, 'from a'), 1)
    assert.equal(await send(a, local, 'end'), 2)
    await waitFor('the job to succeed', async () => (await jobOf(a, local)).status === 'succeeded', 20_000)
    assert.deepEqual(await logOf(a, local), ['got "from a"', 'got "end"'])
    // Before the database is dropped.
    await a.stop()
    await b.stop()
  })
})
