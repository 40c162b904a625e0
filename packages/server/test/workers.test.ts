import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { WORKER_CLOSE, WORKER_PROTOCOL_VERSION } from '@edgeforge/protocol'
import { edgeforge } from './support/cli.ts'
import { startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'
import { rawAgent, spawnAgent } from './support/workers.ts'

/** Records start and end of each job per agent, sleeping `ms` between. */
const SLEEPER = `import { appendFileSync } from 'node:fs'
import { job } from '@edgeforge/sdk'
export default job<{ file: string; ms: number }>(async (payload, ctx) => {
  const who = process.argv.includes('--id') ? process.argv[process.argv.indexOf('--id') + 1] : 'gateway'
  appendFileSync(payload.file, 'start ' + who + ' ' + ctx.jobId + '\\n')
  await new Promise((resolve) => setTimeout(resolve, payload.ms))
  appendFileSync(payload.file, 'end ' + who + ' ' + ctx.jobId + '\\n')
  ctx.log('slept', payload.ms, 'on', who)
  return { who }
})
`

async function deployJob(srv: TestServer, name: string, queue: string, code: string): Promise<string> {
  const created = await srv.api<{ id: string }>('POST', '/api/endpoints', { name, kind: 'job', queue, code })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const deployed = await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`)
  assert.equal(deployed.status < 300, true, JSON.stringify(deployed.body))
  return created.body.data.id
}

async function enqueue(srv: TestServer, queue: string, payload: unknown): Promise<string> {
  const reply = await srv.api<{ job: { id: string } }>('POST', '/jobs', { queue, payload })
  assert.equal(reply.status, 201, JSON.stringify(reply.body))
  return reply.body.data.job.id
}

async function jobOf(srv: TestServer, id: string) {
  return (
    await srv.api<{ status: string; attempts: number; result: unknown; lease_owner: string }>(
      'GET',
      `/jobs/${id}`,
    )
  ).body.data
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-workers-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('remote workers', () => {
  test('jobs are pushed to two agents, never over their concurrency; GET /workers and the overview count them', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0' })
    const dir = tempDir(t)
    const journal = join(dir, 'journal.txt')
    appendFileSync(journal, '')
    await deployJob(srv, 'sleeper', 'builds', SLEEPER)
    const cache = join(dir, 'cache')
    spawnAgent(t, srv.controlUrl, [
      '--queue',
      'builds',
      '--concurrency',
      '1',
      '--id',
      'one',
      '--cache-dir',
      cache,
    ])
    spawnAgent(t, srv.controlUrl, [
      '--queue',
      'builds',
      '--concurrency',
      '3',
      '--id',
      'three',
      '--cache-dir',
      cache,
    ])
    await waitFor(
      'both agents to connect',
      async () => {
        const list = await srv.api<Array<{ id: string }>>('GET', '/workers')
        return list.body.data.length === 2
      },
      20_000,
    )
    const workers = (
      await srv.api<Array<{ id: string; concurrency: number; queues: string[] }>>('GET', '/workers')
    ).body.data
    assert.deepEqual(workers.map((worker) => [worker.id, worker.concurrency, worker.queues]).sort(), [
      ['one', 1, ['builds']],
      ['three', 3, ['builds']],
    ])
    const overview = (await srv.api<Array<{ queue: string; live_workers: number }>>('GET', '/queue/overview'))
      .body.data
    assert.equal(overview.find((queue) => queue.queue === 'builds')?.live_workers, 2)

    const ids: string[] = []
    for (let index = 0; index < 16; index += 1)
      ids.push(await enqueue(srv, 'builds', { file: journal, ms: 150 }))
    await waitFor(
      'every job to succeed',
      async () => {
        for (const id of ids) if ((await jobOf(srv, id)).status !== 'succeeded') return false
        return true
      },
      30_000,
    )
    const lines = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
    const peak: Record<string, number> = {}
    const now: Record<string, number> = {}
    for (const [kind, who] of lines) {
      now[who] = (now[who] ?? 0) + (kind === 'start' ? 1 : -1)
      peak[who] = Math.max(peak[who] ?? 0, now[who])
    }
    assert.ok(peak.one <= 1, `agent one ran ${peak.one} at once`)
    assert.ok(peak.three <= 3, `agent three ran ${peak.three} at once`)
    assert.ok(peak.three >= 2, 'agent three ran several at once')
    assert.equal(lines.filter(([kind]) => kind === 'start').length, 16, 'every job ran once')
    const results = await Promise.all(ids.map((id) => jobOf(srv, id)))
    assert.ok(results.every((job) => job.lease_owner.startsWith('remote:')))

    // The CLI: workers ls, jobs logs (follow ends at once: the job has finished), drain.
    const cli = (...args: string[]) => edgeforge([...args, '--url', srv.controlUrl], dir)
    const ls = await cli('workers', 'ls')
    assert.equal(ls.code, 0, ls.stderr)
    assert.match(ls.stdout, /^ID +QUEUES +CONCURRENCY +RUNNING +CONNECTED SINCE +LAST SEEN\n/)
    assert.match(ls.stdout, /\nthree +builds +3 +0 /)
    const logs = await cli('jobs', 'logs', ids[0], '--follow')
    assert.equal(logs.code, 0, logs.stderr)
    assert.match(logs.stdout, /^\S+Z slept 150 on (one|three)\n$/)
    assert.match(logs.stderr, /\(job succeeded\)/)
    // --json: one object per log line, the worker list and the drain's answer as the API's data.
    const logsJson = await cli('jobs', 'logs', ids[0], '--json')
    assert.equal(logsJson.code, 0, logsJson.stderr)
    const logLines = logsJson.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    assert.equal(logLines.length, 1)
    assert.match(logLines[0].line, /^slept 150 on (one|three)$/)
    assert.ok(!Number.isNaN(Date.parse(logLines[0].at)))
    const lsJson = await cli('workers', 'ls', '--json')
    assert.deepEqual(
      JSON.parse(lsJson.stdout)
        .map((worker: { id: string }) => worker.id)
        .sort(),
      ['one', 'three'],
    )
    const drained = await cli('workers', 'drain', 'one', '--json')
    assert.equal(drained.code, 0, drained.stderr)
    assert.deepEqual([JSON.parse(drained.stdout).id, JSON.parse(drained.stdout).draining], ['one', true])
    assert.equal((await srv.api<{ draining: boolean }>('GET', '/workers/one')).body.data.draining, true)
    assert.equal((await cli('workers', 'drain', 'nobody')).code, 1)
    // A failure under --json is the API's envelope on stderr.
    const missing = await cli('workers', 'drain', 'nobody', '--json')
    assert.equal(missing.code, 1)
    assert.equal(JSON.parse(missing.stderr).error.code, 'not_found')
  })

  test('an agent of another protocol version is refused with a clear message; a wrong token before the upgrade', async (t) => {
    const srv = await startTestServer(t, { 'job-concurrency': '0', 'admin-token': 'sesame-sesame-sesame' })
    const auth = { authorization: 'Bearer sesame-sesame-sesame' }
    const old = await rawAgent(srv.controlUrl, auth)
    // Version 1 (before numbered input) is refused like any other.
    old.send({
      type: 'hello',
      protocol: 1,
      worker_id: 'old',
      queues: ['q'],
      concurrency: 1,
      agent_version: '9',
    })
    const refused = await old.next('refused')
    assert.equal(refused.code, 'worker_protocol_unsupported')
    assert.match(refused.message, /speaks worker protocol 2; the agent spoke 1/)
    assert.equal(await old.closed, WORKER_CLOSE.refused)

    await assert.rejects(rawAgent(srv.controlUrl, { authorization: 'Bearer wrong' }), /401/)

    // A client whose scopes cover another queue only is refused for this one.
    const client = await srv.api<{ access_token: string }>(
      'POST',
      '/api/clients/builder',
      { scopes: ['queues:work:other'] },
      auth,
    )
    assert.equal(client.status, 201, JSON.stringify(client.body))
    const scoped = await rawAgent(srv.controlUrl, {
      authorization: `Bearer ${client.body.data.access_token}`,
    })
    scoped.send({
      type: 'hello',
      protocol: WORKER_PROTOCOL_VERSION,
      worker_id: 'scoped',
      queues: ['q'],
      concurrency: 1,
      agent_version: '1',
    })
    const forbidden = await scoped.next('refused')
    assert.equal(forbidden.code, 'forbidden')
    assert.match(forbidden.message, /queues:work:<queue>/)
    const allowed = await rawAgent(srv.controlUrl, {
      authorization: `Bearer ${client.body.data.access_token}`,
    })
    allowed.send({
      type: 'hello',
      protocol: WORKER_PROTOCOL_VERSION,
      worker_id: 'allowed',
      queues: ['other'],
      concurrency: 1,
      agent_version: '1',
    })
    assert.equal((await allowed.next('welcome')).worker_id, 'allowed')
    allowed.socket.close()
    const agent = spawnAgent(t, srv.controlUrl, ['--queue', 'q'], { EDGEFORGE_TOKEN: 'wrong' })
    assert.equal((await agent.exited).code, 1)
    assert.ok(agent.lines().some((line) => String(line.msg).includes('HTTP 401')))
  })
})
