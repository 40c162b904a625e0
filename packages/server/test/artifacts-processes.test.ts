import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { servedChild } from './support/child.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'
import { spawnAgent } from './support/workers.ts'

/*
 * Artifacts across processes: the server's memory stays flat while a large upload streams
 * through it (RSS of the serve child, read from /proc), and a remote agent uploads with the
 * job-scoped credential the server handed it. The full 1 GB run is in `npm run bench:workers`;
 * here ARTIFACT_RSS_MB (default 300) keeps the suite's time bounded with the same assertion.
 */

const UPLOAD_MB = Number(process.env.ARTIFACT_RSS_MB ?? 300)
/** What the server may grow by while the upload streams (buffers in flight and garbage not yet collected), far below the body. */
const RSS_GROWTH_LIMIT_MB = 100

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
  return kb / 1024
}

function generated(size: number): Readable {
  const block = Buffer.alloc(1024 * 1024, 7)
  let left = size
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null)
      const n = Math.min(block.length, left)
      left -= n
      this.push(n === block.length ? block : block.subarray(0, n))
    },
  })
}

test(`a ${UPLOAD_MB} MB upload streams through the server with its RSS flat`, {
  timeout: 240_000,
}, async (t) => {
  const server = await servedChild(t, 'edgeforge-artifacts-rss-', ['--job-concurrency', '0'])
  const pid = server.child.pid!
  const created = await server.control<{ job: { id: string } }>('POST', '/jobs', {
    queue: 'big',
    payload: {},
  })
  assert.equal(created.status, 201)
  const jobId = created.data.job.id
  // Warm up the route (first-request allocations), then take the baseline.
  const warm = await fetch(`${server.controlUrl}/jobs/${jobId}/artifacts/warm.bin`, {
    method: 'PUT',
    body: 'x',
  })
  assert.equal(warm.status, 201)
  const baseline = rssMb(pid)
  let peak = baseline
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid))
  }, 20)
  const size = UPLOAD_MB * 1024 * 1024
  const started = Date.now()
  const uploaded = await fetch(`${server.controlUrl}/jobs/${jobId}/artifacts/big.bin`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(generated(size)) as ReadableStream,
    duplex: 'half',
  } as RequestInit)
  clearInterval(sampler)
  peak = Math.max(peak, rssMb(pid))
  const body = (await uploaded.json()) as { data: { size: number; sha256: string } }
  assert.equal(uploaded.status, 201, JSON.stringify(body))
  assert.equal(body.data.size, size)
  const seconds = (Date.now() - started) / 1000
  t.diagnostic(
    `${UPLOAD_MB} MB in ${seconds.toFixed(1)} s; server RSS ${baseline.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most`,
  )
  assert.ok(
    peak - baseline < RSS_GROWTH_LIMIT_MB,
    `server RSS grew by ${(peak - baseline).toFixed(0)} MB during a ${UPLOAD_MB} MB upload (limit ${RSS_GROWTH_LIMIT_MB})`,
  )
})

const UPLOADER = `import { Readable } from 'node:stream'
import { job } from '@edgeforge/sdk'
export default job(async (payload: { text: string }, ctx) => {
  const info = await ctx.artifacts.put('agent.txt', Readable.from([Buffer.from(payload.text)]), { contentType: 'text/plain' })
  return { sha256: info.sha256 }
})
`

test('a remote agent uploads with the job-scoped credential the server hands it', {
  timeout: 120_000,
}, async (t) => {
  const token = 'artifacts-remote-admin-token-42'
  const auth = { authorization: `Bearer ${token}` }
  const srv = await startTestServer(t, { 'job-concurrency': '0', 'admin-token': token })
  const created = await srv.api<{ id: string }>(
    'POST',
    '/api/endpoints',
    { name: 'uploader', kind: 'job', queue: 'builds', code: UPLOADER },
    auth,
  )
  assert.equal(created.status, 201, JSON.stringify(created.body))
  assert.ok(
    (await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`, undefined, auth)).status < 300,
  )
  // The agent's own credential may work the queue and nothing else: the upload needs the job's.
  const client = await srv.api<{ access_token: string }>(
    'POST',
    '/api/clients/agent',
    { scopes: ['queues:work:builds', 'workers:connect'] },
    auth,
  )
  assert.equal(client.status, 201, JSON.stringify(client.body))
  spawnAgent(t, srv.controlUrl, ['--queue', 'builds', '--id', 'uploader-agent'], {
    EDGEFORGE_TOKEN: client.body.data.access_token,
  })
  const enqueued = await srv.api<{ job: { id: string } }>(
    'POST',
    '/jobs',
    { queue: 'builds', payload: { text: 'built remotely' } },
    auth,
  )
  const jobId = enqueued.body.data.job.id
  const done = await waitFor(
    'the remote job to finish',
    async () => {
      const job = (
        await srv.api<{ status: string; result: unknown; last_error: string | null }>(
          'GET',
          `/jobs/${jobId}`,
          undefined,
          auth,
        )
      ).body.data
      return ['succeeded', 'failed', 'dead'].includes(job.status) && job
    },
    60_000,
  )
  const expected = createHash('sha256').update('built remotely').digest('hex')
  assert.equal(done.status, 'succeeded', String(done.last_error))
  assert.deepEqual(done.result, { sha256: expected })
  const list = await srv.api<Array<{ name: string; sha256: string }>>(
    'GET',
    `/jobs/${jobId}/artifacts`,
    undefined,
    auth,
  )
  assert.deepEqual(
    list.body.data.map((a) => [a.name, a.sha256]),
    [['agent.txt', expected]],
  )
})
