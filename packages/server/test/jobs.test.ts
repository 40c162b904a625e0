import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { deployEndpoint, expectStatus, lifecycle, readLogs } from './support/endpoints.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

test('job handlers: deployed like endpoints, fed by ctx.jobs.enqueue, hot-swapped without cutting running jobs', async (t) => {
  const srv = await startTestServer(t, { 'job-concurrency': '4' })
  const engine = srv.server.jobs.engine

  const worker = (marker: string, waitMs: number) => `import { job, UnrecoverableError } from '@edgeforge/sdk'
export default job<{ to: string; mode?: string }>(async (payload, ctx) => {
  ctx.log('sending to ' + payload.to)
  ctx.progress(0.5)
  if (payload.mode === 'fatal') throw new UnrecoverableError('address is malformed')
  if (payload.mode === 'wait') {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 30000)
      ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(ctx.signal.reason) })
    })
  }
  await new Promise((resolve) => setTimeout(resolve, ${waitMs}))
  return { sent: true, version: '${marker}' }
})
`
  const { endpoint: emails } = await deployEndpoint(srv, {
    name: 'send-welcome',
    kind: 'job',
    queue: 'emails',
    // Long enough to still run after the swap's compile, even on a loaded machine.
    code: worker('v1', 4000),
  })
  await deployEndpoint(srv, {
    name: 'signup',
    path: '/signup',
    method: 'POST',
    code: `import { handler, Response } from '@edgeforge/sdk'
export default handler(async (req, ctx) => {
  const body = req.json<{ email: string; mode?: string }>()
  const job = await ctx.jobs.enqueue('emails', { to: body.email, mode: body.mode }, { dedupKey: 'welcome:' + body.email, maxAttempts: 5 })
  return Response.accepted({ job_id: job.id, deduplicated: job.deduplicated })
})
`,
  })
  const signup = async (email: string, mode?: string) => {
    const response = await fetch(`${srv.gatewayUrl}/signup`, {
      method: 'POST',
      body: JSON.stringify({ email, mode }),
    })
    assert.equal(response.status, 202)
    return (await response.json()) as { job_id: string; deduplicated: boolean }
  }

  // 1. enqueue from an HTTP handler; dedup while the first is live
  const first = await signup('ada@example.com')
  const again = await signup('ada@example.com')
  assert.equal(again.job_id, first.job_id)
  assert.equal(again.deduplicated, true)
  await waitFor('job 1 to start', async () =>
    (await engine.getJob(first.job_id)).status === 'running' ? true : undefined,
  )

  // 2. swap while it runs: the running job finishes on v1, the next job runs on v2
  const swap = expectStatus(
    await srv.api<{ swapped: boolean; draining: Array<{ version: number }> }>(
      'PUT',
      `/api/endpoints/${emails.id}`,
      {
        code: worker('v2', 10),
      },
    ),
    200,
  )
  assert.ok(swap)
  const report = expectStatus(await lifecycle(srv, emails.id, 'deploy'), 200).body.data
  assert.equal(report.swapped, true)
  assert.deepEqual(
    report.draining.map((d) => d.version),
    [1],
    'the job running on v1 is reported as draining',
  )
  const done1 = await waitFor(
    'job 1 to succeed',
    async () => {
      const job = await engine.getJob(first.job_id)
      return job.status === 'succeeded' ? job : undefined
    },
    15_000,
  )
  assert.deepEqual(done1.result, { sent: true, version: 'v1' })
  assert.equal(done1.progress, 0.5)
  assert.ok(done1.logs.some((l: { line: string }) => l.line === 'sending to ada@example.com'))
  const second = await signup('bob@example.com')
  const done2 = await waitFor('job 2 to succeed', async () => {
    const job = await engine.getJob(second.job_id)
    return job.status === 'succeeded' ? job : undefined
  })
  assert.deepEqual(done2.result, { sent: true, version: 'v2' })

  // 3. UnrecoverableError → dead after one attempt
  const fatal = await signup('bad@', 'fatal')
  const dead = await waitFor('the fatal job to die', async () => {
    const job = await engine.getJob(fatal.job_id)
    return job.status === 'dead' ? job : undefined
  })
  assert.equal(dead.attempts, 1)
  assert.match(dead.lastError ?? '', /address is malformed/)

  // 4. cancelling a running job aborts its signal and ends it cancelled
  const waiting = await signup('slow@example.com', 'wait')
  await waitFor('the waiting job to run', async () =>
    (await engine.getJob(waiting.job_id)).status === 'running' ? true : undefined,
  )
  await engine.cancel(waiting.job_id)
  const cancelled = await waitFor('the cancel to land', async () => {
    const job = await engine.getJob(waiting.job_id)
    return job.status === 'cancelled' ? job : undefined
  })
  assert.equal(cancelled.status, 'cancelled')

  // 5. the endpoint log has the job's lines keyed by job id
  const logs = await readLogs(srv, emails.id)
  assert.ok(logs.some((l) => l.request_id === first.job_id && l.message === 'sending to ada@example.com'))

  // 6. a second job endpoint on the same queue cannot run at the same time
  const clash = await srv.api<{ id: string }>('POST', '/api/endpoints', {
    name: 'other-worker',
    kind: 'job',
    queue: 'emails',
    code: worker('x', 1),
  })
  const clashDeploy = await lifecycle(srv, clash.body.data.id, 'deploy')
  assert.equal(clashDeploy.status, 409)
  assert.equal(clashDeploy.body.error?.code, 'conflict')

  // 7. stopped: jobs wait in the queue instead of failing
  expectStatus(await lifecycle(srv, emails.id, 'stop'), 200)
  const parked = await signup('later@example.com')
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal((await engine.getJob(parked.job_id)).status, 'queued')
})

test('a failed job’s last_error names the TypeScript line and no frame of the server’s own files', async (t) => {
  const srv = await startTestServer(t)
  const { endpoint } = await deployEndpoint(srv, {
    name: 'thrower',
    kind: 'job',
    queue: 'throws',
    code: `import { job } from '@edgeforge/sdk'
export default job(async () => {
  throw new Error('the mail server said no')
})
`,
  })
  const { job } = await srv.server.jobs.engine.enqueue({ queue: 'throws', maxAttempts: 1 })
  const failed = await waitFor('the job to fail', async () => {
    const reply = expectStatus(
      await srv.api<{ status: string; last_error: string }>('GET', `/jobs/${job.id}`),
      200,
    )
    return reply.body.data.status === 'failed' ? reply.body.data : undefined
  })
  const lastError = failed.last_error
  assert.match(lastError, /^Error: the mail server said no\n/)
  assert.match(lastError, /\bthrower\.ts:3:9\b/, `the stack names the TypeScript line: ${lastError}`)
  assert.doesNotMatch(lastError, /file:|node:internal|edgeforge:|\/jobs\/|\/src\//, lastError)
  // The endpoint log says the same.
  const logs = await readLogs(srv, endpoint.id)
  assert.ok(logs.some((l) => l.request_id === job.id && l.message.includes('thrower.ts:3:9')))
})

test('a finish the store refused is not counted as an outcome; it is logged at warn with job, attempt and reason', async (t) => {
  const lines: string[] = []
  const logger = pino({ level: 'warn', base: undefined }, { write: (line: string) => lines.push(line) })
  // A long lease: no heartbeat comes during the run, so it is the finish that the store refuses.
  const srv = await startTestServer(t, { 'job-lease-ms': '600000' }, { logger })
  const engine = srv.server.jobs.engine
  await deployEndpoint(srv, {
    name: 'slowpoke',
    kind: 'job',
    queue: 'slow',
    code: `import { job } from '@edgeforge/sdk'
export default job(async () => {
  await new Promise((resolve) => setTimeout(resolve, 500))
  return { done: true }
})
`,
  })
  const finished = async (outcome: string) => {
    const text = await (await fetch(`${srv.controlUrl}/metrics`)).text()
    const prefix = `edgeforge_jobs_finished_total{queue="slow",outcome="${outcome}"} `
    return Number(
      text
        .split('\n')
        .find((line) => line.startsWith(prefix))
        ?.slice(prefix.length) ?? 0,
    )
  }

  const { job } = await engine.enqueue({ queue: 'slow' })
  await waitFor('the job to run', async () =>
    (await engine.getJob(job.id)).status === 'running' ? true : undefined,
  )
  // Another process reaped and re-claimed it meanwhile (as after this one was frozen past its lease).
  await engine.db.run("UPDATE jobs SET lease_owner = 'another-process' WHERE id = ?", [job.id])
  const warning = await waitFor('the refused finish in the log', () =>
    lines.map((line) => JSON.parse(line)).find((entry) => entry.jobId === job.id),
  )
  assert.equal(warning.level, 40)
  assert.equal(warning.attempt, 1)
  assert.equal(warning.reason, 'lease_lost')
  assert.equal(warning.statusNow, 'running')
  assert.match(warning.msg, /refused/)
  assert.equal(await finished('succeeded'), 0)
  assert.equal((await engine.getJob(job.id)).leaseOwner, 'another-process')

  // A finish the store takes is counted.
  const { job: next } = await engine.enqueue({ queue: 'slow' })
  await waitFor('the next job to succeed', async () =>
    (await engine.getJob(next.id)).status === 'succeeded' ? true : undefined,
  )
  assert.equal(await finished('succeeded'), 1)
})
