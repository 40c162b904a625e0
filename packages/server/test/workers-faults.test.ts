import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { WORKER_PROTOCOL_VERSION } from '@edgeforge/protocol'
import { startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'
import { rawAgent, spawnAgent } from './support/workers.ts'

async function deployJob(srv: TestServer, name: string, queue: string, code: string): Promise<void> {
  const created = await srv.api<{ id: string }>('POST', '/api/endpoints', { name, kind: 'job', queue, code })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const deployed = await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`)
  assert.equal(deployed.status < 300, true, JSON.stringify(deployed.body))
}

async function enqueue(srv: TestServer, queue: string, payload: unknown = null): Promise<string> {
  const reply = await srv.api<{ job: { id: string } }>('POST', '/jobs', { queue, payload })
  assert.equal(reply.status, 201, JSON.stringify(reply.body))
  return reply.body.data.job.id
}

interface JobView {
  status: string
  attempts: number
  result: unknown
  lease_owner: string | null
  log_lines: number
}

const jobOf = async (srv: TestServer, id: string) => (await srv.api<JobView>('GET', `/jobs/${id}`)).body.data

function cacheDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-agent-cache-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const HELLO = {
  type: 'hello',
  protocol: WORKER_PROTOCOL_VERSION,
  queues: ['q'],
  concurrency: 1,
  agent_version: 'test',
}

describe('remote workers under faults', () => {
  test('kill -9 of an agent mid-job: the job runs again on another agent after its lease, and succeeds once', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0', 'job-lease-ms': '1500' })
    await deployJob(
      srv,
      'slow',
      'slow',
      `import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  ctx.log('started on attempt', ctx.attempt)
  if (ctx.attempt === 1) await new Promise((resolve) => setTimeout(resolve, 60_000))
  return { attempt: ctx.attempt }
})`,
    )
    const cache = cacheDir(t)
    const first = spawnAgent(t, srv.controlUrl, ['--queue', 'slow', '--id', 'doomed', '--cache-dir', cache])
    const id = await enqueue(srv, 'slow')
    await waitFor('the first agent to run it', async () => (await jobOf(srv, id)).log_lines === 1, 20_000)
    assert.equal((await jobOf(srv, id)).lease_owner, 'remote:doomed')
    first.child.kill('SIGKILL')
    await first.exited
    spawnAgent(t, srv.controlUrl, ['--queue', 'slow', '--id', 'survivor', '--cache-dir', cache])
    // The reaper runs every 5 s; the lease is 1.5 s.
    const done = await waitFor(
      'the job to succeed elsewhere',
      async () => {
        const job = await jobOf(srv, id)
        return job.status === 'succeeded' ? job : undefined
      },
      30_000,
    )
    assert.deepEqual(done.result, { attempt: 2 })
    assert.equal(done.attempts, 2)
    assert.equal(done.lease_owner, 'remote:survivor')
  })

  test('the server closes the socket mid-log: after the reconnect the stored log has every line once, in order', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0' })
    await deployJob(
      srv,
      'chatty',
      'chatty',
      `import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  for (let i = 0; i < 4000; i++) {
    ctx.log('line', i)
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return { lines: 4000 }
})`,
    )
    const agent = spawnAgent(t, srv.controlUrl, [
      '--queue',
      'chatty',
      '--id',
      'chatty-agent',
      '--cache-dir',
      cacheDir(t),
    ])
    const id = await enqueue(srv, 'chatty')
    await waitFor('some lines to be stored', async () => (await jobOf(srv, id)).log_lines > 300, 20_000)
    const cut = await srv.api('POST', '/workers/chatty-agent/disconnect')
    assert.equal(cut.status, 200)
    assert.equal((await jobOf(srv, id)).status, 'running', 'the cut came mid-job')
    await waitFor('the job to succeed', async () => (await jobOf(srv, id)).status === 'succeeded', 30_000)
    const lines: string[] = []
    for (let start = 0; ; ) {
      const page = (
        await srv.api<{ lines: Array<{ offset: number; line: string }>; next_start: number }>(
          'GET',
          `/jobs/${id}/log?start=${start}&limit=10000`,
        )
      ).body.data
      if (page.lines.length === 0) break
      for (const line of page.lines) lines.push(line.line)
      start = page.next_start
    }
    // The agent took the job up again on its second connection instead of losing it.
    const said = agent.lines()
    assert.ok(said.some((line) => line.msg === 'disconnected; reconnecting'))
    assert.ok(
      said.some((line) => line.msg === 'connected' && line.resumed === 1),
      JSON.stringify(said),
    )
    assert.equal(lines.length, 4000)
    assert.deepEqual(
      lines,
      Array.from({ length: 4000 }, (_, index) => `line ${index}`),
    )
  })

  test('a stale agent that comes back after its job was re-run has its finish refused', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0', 'job-lease-ms': '1000' })
    const id = await enqueue(srv, 'q')
    const stale = await rawAgent(srv.controlUrl)
    stale.send({ ...HELLO, worker_id: 'stale' })
    await stale.next('welcome')
    const pushed = await stale.next('job')
    assert.equal(pushed.job_id, id)
    assert.equal(pushed.attempt, 1)
    stale.socket.close()
    await stale.closed
    // The lease lapses without the socket; the reaper gives the job to the next agent.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    await srv.server.jobs.engine.reapExpired()
    const fresh = await rawAgent(srv.controlUrl)
    fresh.send({ ...HELLO, worker_id: 'fresh' })
    const second = await fresh.next('job')
    assert.equal(second.attempt, 2)

    const back = await rawAgent(srv.controlUrl)
    back.send({ ...HELLO, worker_id: 'stale', running: [{ job_id: id, attempt: 1 }] })
    const welcome = await back.next('welcome')
    assert.deepEqual(welcome.resumed, [], 'the stale run is not resumed')
    back.send({ type: 'finish', job_id: id, attempt: 1, outcome: 'succeeded', result: 'stale' })
    const refused = await back.next('finish_ack')
    assert.equal(refused.ok, false)
    assert.equal((await jobOf(srv, id)).status, 'running')

    fresh.send({ type: 'finish', job_id: id, attempt: 2, outcome: 'succeeded', result: 'fresh' })
    assert.equal((await fresh.next('finish_ack')).ok, true)
    const done = await jobOf(srv, id)
    assert.equal(done.status, 'succeeded')
    assert.equal(done.result, 'fresh')
    back.socket.close()
    fresh.socket.close()
  })

  test('input and cancel reach a job running on a remote agent', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0' })
    await deployJob(
      srv,
      'listener',
      'listen',
      `import { job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  for await (const message of ctx.input) {
    ctx.log('got', JSON.stringify(message))
    if (message === 'enough') break
  }
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
  ctx.log('aborted:', ctx.signal.reason.message)
  throw ctx.signal.reason
})`,
    )
    spawnAgent(t, srv.controlUrl, ['--queue', 'listen', '--id', 'listener', '--cache-dir', cacheDir(t)])
    const id = await enqueue(srv, 'listen')
    await waitFor('the job to run', async () => (await jobOf(srv, id)).status === 'running', 20_000)
    const sent = await srv.api<{ seq: number }>('POST', `/jobs/${id}/input`, {
      message: { hello: 'world' },
    })
    assert.equal(sent.status, 200, JSON.stringify(sent.body))
    assert.deepEqual(sent.body.data, { seq: 1 })
    await srv.api('POST', `/jobs/${id}/input`, { message: 'enough' })
    await waitFor('both messages in the log', async () => (await jobOf(srv, id)).log_lines === 2, 10_000)
    const cancelled = await srv.api('POST', `/jobs/${id}/cancel`)
    assert.equal(cancelled.status, 200)
    await waitFor(
      'the job to end cancelled',
      async () => (await jobOf(srv, id)).status === 'cancelled',
      10_000,
    )
    const log = (await srv.api<{ lines: Array<{ line: string }> }>('GET', `/jobs/${id}/log`)).body.data.lines
    assert.deepEqual(
      log.map((line) => line.line),
      ['got {"hello":"world"}', 'got "enough"', 'aborted: job aborted: cancelled'],
    )
    const late = await srv.api<never>('POST', `/jobs/${id}/input`, { message: 'too late' })
    assert.equal(late.status, 409)
    assert.equal(late.body.error?.code, 'conflict')
  })
})
