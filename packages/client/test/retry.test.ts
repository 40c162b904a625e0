import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import {
  backoffDelay,
  DEFAULT_RETRY,
  Edgeforge,
  EdgeforgeError,
  EdgeforgeNetworkError,
} from '../src/index.ts'

type Handler = (req: IncomingMessage, res: ServerResponse, count: number) => void

/** A node:http server answering with `handler`; counts the requests it saw. */
async function fakeServer(t: { after(fn: () => unknown): void }, handler: Handler) {
  const seen: { method: string; url: string; idempotencyKey?: string }[] = []
  const server = createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      idempotencyKey: req.headers['idempotency-key'] as string,
    })
    req.resume()
    req.on('end', () => handler(req, res, seen.length))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { seen, ef: new Edgeforge({ url, accessToken: 'admin', retry: { baseMs: 5 } }) }
}

const ok = (res: ServerResponse, data: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ ok: true, data }))
}
const fail = (res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-1', ...headers })
  res.end(JSON.stringify({ ok: false, error: { code, message: `${code} here`, details: { field: 'x' } } }))
}

test('503 twice then 200: the GET is retried and answers the data', async (t) => {
  const { seen, ef } = await fakeServer(t, (_req, res, n) =>
    n <= 2 ? fail(res, 503, 'service_busy') : ok(res, { status: 'ok' }),
  )
  assert.deepEqual((await ef.system.health()).data, { status: 'ok' })
  assert.equal(seen.length, 3)
})

test('400 is a typed EdgeforgeError carrying code, message, details and request id, not retried', async (t) => {
  const { seen, ef } = await fakeServer(t, (_req, res) => fail(res, 400, 'validation_failed'))
  const error = await ef.endpoints.get('ep_1').catch((e: unknown) => e)
  assert.ok(error instanceof EdgeforgeError)
  assert.equal(error.status, 400)
  assert.equal(error.code, 'validation_failed')
  assert.equal(error.message, 'validation_failed here')
  assert.deepEqual(error.details, { field: 'x' })
  assert.equal(error.requestId, 'req-1')
  assert.equal(seen.length, 1)
  assert.equal(seen[0].url, '/api/endpoints/ep_1')
})

test('429 with retry-after: the client waits that long, then retries (a POST too: it was refused)', async (t) => {
  const { seen, ef } = await fakeServer(t, (_req, res, n) =>
    n === 1 ? fail(res, 429, 'rate_limited', { 'retry-after': '1' }) : ok(res, { id: 'job' }),
  )
  const started = performance.now()
  await ef.jobs.retry('j1')
  // The computed backoff would be 5 ms; retry-after said 1 s.
  assert.ok(performance.now() - started >= 900, 'retry-after was not honoured')
  assert.equal(seen.length, 2)
})

test('a dropped connection is retried for a GET and a POST with an idempotency key, not a bare POST', async (t) => {
  const { seen, ef } = await fakeServer(t, (req, res, n) => {
    if (n % 2 === 1) req.socket.destroy()
    else ok(res, { id: 'x' })
  })
  assert.deepEqual((await ef.jobs.get('a')).data, { id: 'x' })
  assert.equal(seen.length, 2)
  await ef.jobs.cancel('b', { idempotencyKey: 'k-1' })
  assert.equal(seen.length, 4)
  assert.deepEqual(
    seen.slice(2).map((s) => s.idempotencyKey),
    ['k-1', 'k-1'],
  )
  const error = await ef.jobs.cancel('c').catch((e: unknown) => e)
  assert.ok(error instanceof EdgeforgeNetworkError, String(error))
  assert.equal(seen.length, 5)
})

test('5xx on a POST without idempotency key is not retried: it may have run', async (t) => {
  const { seen, ef } = await fakeServer(t, (_req, res) => fail(res, 503, 'service_busy'))
  const error = await ef.jobs.retry('j').catch((e: unknown) => e)
  assert.ok(error instanceof EdgeforgeError)
  assert.equal(error.code, 'service_busy')
  assert.equal(seen.length, 1)
})

test('gives up after 5 retries with the last error', async (t) => {
  const { seen, ef } = await fakeServer(t, (_req, res) => fail(res, 502, 'internal'))
  await assert.rejects(ef.system.health(), EdgeforgeError)
  assert.equal(seen.length, 6)
})

test('backoff: 100 ms base doubling, ±25 % jitter, capped', () => {
  assert.equal(
    backoffDelay(DEFAULT_RETRY, 0, () => 0.5),
    100,
  )
  assert.equal(
    backoffDelay(DEFAULT_RETRY, 3, () => 0.5),
    800,
  )
  assert.equal(
    backoffDelay(DEFAULT_RETRY, 0, () => 0),
    75,
  )
  assert.equal(
    backoffDelay(DEFAULT_RETRY, 0, () => 1),
    125,
  )
  assert.equal(
    backoffDelay(DEFAULT_RETRY, 30, () => 0.5),
    DEFAULT_RETRY.maxDelayMs,
  )
})

test('list iterators follow continuation tokens across pages', async (t) => {
  const { seen, ef } = await fakeServer(t, (req, res) => {
    const token = new URL(req.url ?? '', 'http://x').searchParams.get('continuation_token')
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify(
        token
          ? { ok: true, data: [{ id: 'c' }], continuation_token: null }
          : { ok: true, data: [{ id: 'a' }, { id: 'b' }], continuation_token: 't2' },
      ),
    )
  })
  const ids: string[] = []
  for await (const job of ef.jobs.list({ queue: 'emails' })) ids.push(job.id)
  assert.deepEqual(ids, ['a', 'b', 'c'])
  assert.equal(seen[1].url, '/jobs?queue=emails&continuation_token=t2')
  // One page on its own, with the token to the next.
  const first = await ef.jobs.list({ queue: 'emails' }).page()
  assert.deepEqual(
    first.data.map((job) => job.id),
    ['a', 'b'],
  )
  assert.equal(first.continuationToken, 't2')
  assert.deepEqual((await ef.jobs.list().page(first.continuationToken)).data, [{ id: 'c' }])
})
