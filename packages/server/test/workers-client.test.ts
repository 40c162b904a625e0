import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'
import { spawnAgent } from './support/workers.ts'

/*
 * The agent's REST calls go through @edgeforge/client with its credential: the handler bundle
 * (GET /workers/handlers/{endpoint}/{version}) and ctx.jobs.enqueue (POST /jobs), whose
 * refusals reach the handler as a HandlerError with the server's status and code.
 */

const ROOT = 'workers-client-root-token-0123456789'
const auth = { authorization: `Bearer ${ROOT}` }

const ENQUEUER = `import { HandlerError, job } from '@edgeforge/sdk'
export default job(async (_payload, ctx) => {
  const next = await ctx.jobs.enqueue('follow-up', { from: ctx.jobId }, { priority: 3, delaySeconds: 3600, dedupKey: 'once' })
  ctx.log('enqueued', next.queue, next.status, next.deduplicated)
  const again = await ctx.jobs.enqueue('follow-up', { from: 'again' }, { dedupKey: 'once' })
  ctx.log('again', again.id === next.id, again.deduplicated)
  try {
    await ctx.jobs.enqueue('follow-up', null, { maxAttempts: 0 })
  } catch (error) {
    const refused = error as HandlerError
    ctx.log('refused', error instanceof HandlerError, refused.status, refused.code)
  }
  return { next: next.id }
})`

test('a remote job enqueues through @edgeforge/client; the bundle is fetched with the agent credential', async (t) => {
  const srv = await startTestServer(t, { 'job-concurrency': '0', 'admin-token': ROOT })
  const created = await srv.api<{ id: string }>(
    'POST',
    '/api/endpoints',
    { name: 'enqueuer', kind: 'job', queue: 'chain', code: ENQUEUER },
    auth,
  )
  assert.equal(created.status, 201, JSON.stringify(created.body))
  assert.ok(
    (await srv.api('POST', `/api/endpoints/${created.body.data.id}/deploy`, undefined, auth)).status < 300,
  )
  const cache = mkdtempSync(join(tmpdir(), 'edgeforge-agent-cache-'))
  t.after(() => rmSync(cache, { recursive: true, force: true }))
  spawnAgent(t, srv.controlUrl, ['--queue', 'chain', '--id', 'chainer', '--cache-dir', cache], {
    EDGEFORGE_TOKEN: ROOT,
  })
  const enqueued = await srv.api<{ job: { id: string } }>(
    'POST',
    '/jobs',
    { queue: 'chain', payload: null },
    auth,
  )
  const id = enqueued.body.data.job.id
  const done = await waitFor(
    'the job to succeed',
    async () => {
      const job = (
        await srv.api<{ status: string; result: { next: string } }>('GET', `/jobs/${id}`, undefined, auth)
      ).body.data
      return job.status === 'succeeded' ? job : undefined
    },
    20_000,
  )
  const lines = (
    await srv.api<{ lines: Array<{ line: string }> }>('GET', `/jobs/${id}/log`, undefined, auth)
  ).body.data.lines.map((line) => line.line)
  assert.deepEqual(lines, [
    'enqueued follow-up queued false',
    'again true true',
    'refused true 400 validation_failed',
  ])
  const next = (
    await srv.api<{ queue: string; payload: unknown; priority: number; status: string }>(
      'GET',
      `/jobs/${done.result.next}`,
      undefined,
      auth,
    )
  ).body.data
  assert.deepEqual(
    [next.queue, next.payload, next.priority, next.status],
    ['follow-up', { from: id }, 3, 'queued'],
  )
  // The bundle was fetched once and cached under its SHA-256.
  assert.deepEqual(readdirSync(cache).filter((file) => file.endsWith('.js')).length, 1)
})
