import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createQueueEngine } from '../src/jobs/index.ts'
import { openStore } from '../src/store/index.ts'
import { deployEndpoint, getEndpoint, readLogs } from './support/endpoints.ts'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

// Job handlers run in job threads (jobs/local/job-pool.ts): these boot a whole server and check
// that a job's code that spins, leaks or ignores its signal costs its own attempt, not the server.

const NO_BACKOFF = { backoff: { baseSeconds: 0, factor: 1, maxSeconds: 0, jitter: 0 } }

function jobSource(body: string): string {
  return handlerSource(`export default job<{ n?: number }>(async (payload, ctx) => {\n${body}\n})`, 'job')
}

async function jobWith(srv: TestServer, id: string, wanted: (status: string) => boolean, timeoutMs = 60_000) {
  const engine = srv.server.jobs.engine
  let last = ''
  return waitFor(
    () => `job ${id} (last seen ${last})`,
    async () => {
      const job = await engine.getJob(id)
      last = job.status
      return wanted(job.status) ? job : undefined
    },
    timeoutMs,
  )
}

test('a spinning job handler: its attempt fails job_handler_stuck and is retried, while the control plane, another queue and an HTTP endpoint keep answering', async (t) => {
  const srv = await startTestServer(t, {
    'job-threads': '2',
    'job-stall-ms': '3000',
    'gateway-threads': '1',
  })
  const engine = srv.server.jobs.engine
  await engine.setQueueSettings('spin', NO_BACKOFF)
  const { endpoint: spinner } = await deployEndpoint(srv, {
    name: 'spinner',
    kind: 'job',
    queue: 'spin',
    code: jobSource(`  ctx.log('attempt ' + ctx.attempt)
  if (ctx.attempt === 1) while (true) {}
  return { recovered: ctx.attempt }`),
  })
  await deployEndpoint(srv, {
    name: 'steady',
    kind: 'job',
    queue: 'steady',
    code: jobSource(`  return { doubled: (payload.n ?? 0) * 2 }`),
  })
  await deployEndpoint(srv, {
    name: 'ping',
    method: 'GET',
    path: '/ping',
    code: handlerSource(`export default handler(() => Response.ok({ pong: true }))`),
  })

  const { job: spinning } = await engine.enqueue({ queue: 'spin', maxAttempts: 3 })
  // Its log line left the thread before the loop began: the spin is under way now.
  await waitFor(
    'the spinner to log its first attempt',
    async () => (await engine.getJob(spinning.id)).logs.some((l) => l.line === 'attempt 1'),
    30_000,
  )
  const spinStartedAt = Date.now()

  // While it spins (its thread cannot turn for 3 s): everything else answers.
  const health = await fetch(`${srv.controlUrl}/api/health`)
  assert.equal(health.status, 200)
  const ping = await fetch(`${srv.gatewayUrl}/ping`)
  assert.equal(ping.status, 200)
  assert.deepEqual(await ping.json(), { pong: true })
  const others = await engine.enqueueBatch(
    Array.from({ length: 5 }, (_, n) => ({ queue: 'steady', payload: { n } })),
  )
  for (const [n, { job }] of others.entries()) {
    const done = await jobWith(srv, job.id, (status) => status === 'succeeded', 10_000)
    assert.deepEqual(done.result, { doubled: n * 2 })
  }
  const othersTookMs = Date.now() - spinStartedAt
  const stillSpinning = await engine.getJob(spinning.id)
  t.diagnostic(
    `other queue's 5 jobs done ${othersTookMs} ms into the spin; spinner is ${stillSpinning.status}`,
  )
  assert.equal(
    stillSpinning.attempts,
    1,
    'the other queue finished while the spinner was still on its first attempt',
  )

  // The watchdog stops the thread; the queue retries; the second attempt returns.
  const final = await jobWith(srv, spinning.id, (status) => status === 'succeeded' || status === 'dead')
  assert.equal(final.status, 'succeeded')
  assert.equal(final.attempts, 2)
  assert.deepEqual(final.result, { recovered: 2 })
  assert.match(final.lastError ?? '', /^job_handler_stuck: the thread did not turn for \d+ ms/)
  assert.ok(!/file:\/\/|node:internal/.test(final.lastError ?? ''), 'no server frame in last_error')
  const pool = srv.server.jobs.pool
  await waitFor('the stopped thread to be replaced', () => pool.restarts === 1)
  assert.equal(pool.threadCount, 2)
  const stats = await srv.api<{ job_handlers: { threads: number; thread_restarts: number } }>(
    'GET',
    '/api/stats',
  )
  assert.deepEqual(
    [stats.body.data.job_handlers.threads, stats.body.data.job_handlers.thread_restarts],
    [2, 1],
  )
  const metrics = await (await fetch(`${srv.controlUrl}/metrics`)).text()
  assert.match(metrics, /^edgeforge_job_thread_restarts_total 1$/m)
  const spinnerLogs = await readLogs(srv, spinner.id)
  assert.ok(spinnerLogs.some((l) => /job thread stopped and replaced: job_handler_stuck/.test(l.message)))
})

test('a leaking job handler hits the heap limit: its attempts fail job_handler_out_of_memory, then its endpoint is quarantined; the gateway lives', async (t) => {
  const srv = await startTestServer(t, {
    'job-threads': '1',
    'gateway-threads': '1',
    'thread-heap-mb': '64',
    'quarantine-after': '2',
  })
  const engine = srv.server.jobs.engine
  await engine.setQueueSettings('leak', NO_BACKOFF)
  const { endpoint } = await deployEndpoint(srv, {
    name: 'leaker',
    kind: 'job',
    queue: 'leak',
    code: jobSource(`  const kept: number[][] = []
  // About 1 MB a turn, on the JavaScript heap (a Buffer's bytes would not count toward its limit).
  for (;;) {
    kept.push(new Array(1 << 17).fill(ctx.attempt))
    await new Promise((resolve) => setImmediate(resolve))
  }`),
  })
  await deployEndpoint(srv, {
    name: 'ping',
    method: 'GET',
    path: '/ping',
    code: handlerSource(`export default handler(() => Response.ok({ pong: true }))`),
  })
  const { job } = await engine.enqueue({ queue: 'leak', maxAttempts: 5 })
  const quarantined = await waitFor(
    'the leaker to be quarantined',
    async () => {
      const view = await getEndpoint(srv, endpoint.id)
      return view.status === 'error' ? view : undefined
    },
    120_000,
  )
  assert.match(
    quarantined.last_error ?? '',
    /^quarantined: its job handler needed its thread stopped 2 times/,
  )
  assert.match(quarantined.last_error ?? '', /job_handler_out_of_memory/)
  const stored = await engine.getJob(job.id)
  t.diagnostic(`job after quarantine: ${stored.status}, ${stored.attempts} attempts, ${stored.lastError}`)
  for (const line of await readLogs(srv, endpoint.id))
    t.diagnostic(`${line.level} ${line.message.slice(0, 160)}`)
  assert.equal(stored.attempts, 2, 'one attempt per stopped thread')
  assert.match(stored.lastError ?? '', /^job_handler_out_of_memory: /)
  // Quarantined: no longer served, so the retry waits in the queue instead of leaking again.
  assert.equal(stored.status, 'queued')
  assert.equal(srv.server.jobs.deployedFor('leak'), undefined)
  assert.equal((await fetch(`${srv.controlUrl}/api/health`)).status, 200)
  assert.equal((await fetch(`${srv.gatewayUrl}/ping`)).status, 200)
})

test('cancel and ctx.input reach a job in its thread; one that ignores its aborted signal has its thread stopped after the grace', async (t) => {
  const srv = await startTestServer(t, {
    'job-threads': '1',
    'gateway-threads': '1',
    'job-abort-grace-ms': '500',
  })
  const engine = srv.server.jobs.engine
  await deployEndpoint(srv, {
    name: 'listener',
    kind: 'job',
    queue: 'listen',
    code: jobSource(`  if (payload.n === 1) {
    ctx.log('ignoring signals')
    for (;;) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  for await (const message of ctx.input) {
    ctx.log('got ' + JSON.stringify(message))
    break
  }
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
  ctx.log('aborted: ' + (ctx.signal.reason as { abortCause: string }).abortCause)
  return 'stopped early'`),
  })

  // A job that listens: input arrives, then the cancel aborts its signal.
  const { job: polite } = await engine.enqueue({ queue: 'listen', payload: { n: 0 } })
  await jobWith(srv, polite.id, (status) => status === 'running')
  // Stored while it runs, and delivered to the run in its thread.
  assert.deepEqual(await engine.sendInput(polite.id, { hello: 'thread' }), { seq: 1 })
  await waitFor('the job to read its input', async () =>
    (await engine.getJob(polite.id)).logs.some((l) => l.line === 'got {"hello":"thread"}'),
  )
  assert.equal((await srv.api('POST', `/jobs/${polite.id}/cancel`)).status, 200)
  const cancelled = await jobWith(srv, polite.id, (status) => status === 'cancelled', 10_000)
  assert.ok(cancelled.logs.some((l) => l.line === 'aborted: cancelled'))
  assert.equal(srv.server.jobs.pool.restarts, 0, 'a job that stops when asked keeps its thread')

  // A job that ignores it: cancelled all the same, its thread stopped after the 500 ms grace.
  const { job: stubborn } = await engine.enqueue({ queue: 'listen', payload: { n: 1 } })
  await waitFor('the stubborn job to start', async () =>
    (await engine.getJob(stubborn.id)).logs.some((l) => l.line === 'ignoring signals'),
  )
  const cancelAt = Date.now()
  assert.equal((await srv.api('POST', `/jobs/${stubborn.id}/cancel`)).status, 200)
  const ended = await jobWith(srv, stubborn.id, (status) => status === 'cancelled', 10_000)
  const tookMs = Date.now() - cancelAt
  t.diagnostic(`ignored cancel ended ${tookMs} ms after the request`)
  assert.equal(ended.status, 'cancelled')
  assert.ok(tookMs >= 450, `not before the grace (${tookMs} ms)`)
  await waitFor('the stopped thread to be replaced', () => srv.server.jobs.pool.restarts === 1)
  // The replacement thread runs the next job.
  const { job: next } = await engine.enqueue({ queue: 'listen', payload: { n: 0 } })
  await jobWith(srv, next.id, (status) => status === 'running')
  await engine.sendInput(next.id, 'again')
  await waitFor('the replacement to run it', async () =>
    (await engine.getJob(next.id)).logs.some((l) => l.line === 'got "again"'),
  )
})

test('shutdown with a job spinning in its thread: the server stops within the drain timeout plus the 1 s grace, and the job goes back to the queue unspent', async (t) => {
  const srv = await startTestServer(t, {
    'job-threads': '1',
    'gateway-threads': '1',
    // Long enough that the watchdog does not stop the thread first: shutdown must.
    'job-stall-ms': '60000',
    'drain-timeout-ms': '500',
  })
  const engine = srv.server.jobs.engine
  await deployEndpoint(srv, {
    name: 'forever',
    kind: 'job',
    queue: 'forever',
    code: jobSource(`  ctx.log('spinning')
  while (true) {}`),
  })
  const { job } = await engine.enqueue({ queue: 'forever' })
  await waitFor(
    'the job to spin',
    async () => (await engine.getJob(job.id)).logs.some((l) => l.line === 'spinning'),
    30_000,
  )
  const stoppedAt = Date.now()
  await srv.stop()
  const tookMs = Date.now() - stoppedAt
  t.diagnostic(`stopped ${tookMs} ms after close()`)
  assert.ok(tookMs < 6000, `stopped after ${tookMs} ms`)
  const store = await openStore({ dataDir: srv.dataDir })
  t.after(() => store.db.close())
  const released = await createQueueEngine(store.db).getJob(job.id)
  assert.equal(released.status, 'queued')
  assert.equal(released.attempts, 0, 'a job released at shutdown has not used an attempt')
})

test("a job's services and ctx.jobs cross from its thread to the main thread", async (t) => {
  const srv = await startTestServer(t, { 'job-threads': '1', 'gateway-threads': '1' })
  const engine = srv.server.jobs.engine
  assert.equal(
    (await srv.api('POST', '/api/services', { name: 'counters', service_type: 'memory' })).status,
    201,
  )
  const created = await srv.api<{ id: string }>('POST', '/api/endpoints', {
    name: 'counter',
    kind: 'job',
    queue: 'count',
    code: jobSource(`  const hits = await ctx.cache('c').incr('hits', payload.n)
  const next = await ctx.jobs.enqueue('after', { hits })
  return { hits, next: next.queue }`),
  })
  assert.equal(created.status, 201)
  const id = created.body.data.id
  assert.equal(
    (await srv.api('POST', `/api/endpoints/${id}/services`, { binding: 'c', service: 'counters' })).status,
    200,
  )
  assert.equal((await srv.api('POST', `/api/endpoints/${id}/deploy`)).status, 200)
  const first = await engine.enqueue({ queue: 'count', payload: { n: 2 } })
  assert.deepEqual((await jobWith(srv, first.job.id, (s) => s === 'succeeded')).result, {
    hits: 2,
    next: 'after',
  })
  const second = await engine.enqueue({ queue: 'count', payload: { n: 3 } })
  assert.deepEqual((await jobWith(srv, second.job.id, (s) => s === 'succeeded')).result, {
    hits: 5,
    next: 'after',
  })
  const followUps = await engine.listJobs({ queue: 'after' })
  assert.equal(followUps.jobs.length, 2)
})
