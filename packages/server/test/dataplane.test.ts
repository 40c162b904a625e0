import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  deployEndpoint,
  expectStatus,
  getEndpoint,
  type LogLine,
  rawRequest,
  readLogs,
} from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

// One server for the whole file: each subtest deploys its own endpoints on their own paths.

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

interface GatewayError {
  error: { code: string; message: string }
  request_id: string
}

test('data plane', async (t) => {
  const srv = await startTestServer(t)
  const gw = (path: string, init?: RequestInit) => fetch(srv.gatewayUrl + path, init)

  await t.test('path params, query and headers reach the handler', async () => {
    await deployEndpoint(srv, {
      name: 'inspect',
      method: 'GET',
      path: '/items/{id}/parts/{part}',
      code: handlerSource(`export default handler((req) =>
  Response.ok({
    method: req.method,
    path: req.path,
    params: req.params,
    id: req.pathParam('id'),
    page: req.queryParamAs('page', 'integer'),
    query: req.query,
    header: req.header('X-Custom-Header'),
    clientIp: req.clientIp,
    requestId: req.requestId,
  }),
)`),
    })
    const response = await gw('/items/42/parts/a%20b?page=3&tag=x&tag=y', {
      headers: { 'x-custom-header': 'Hello', 'x-request-id': 'req-params-1' },
    })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'application/json')
    assert.equal(response.headers.get('x-request-id'), 'req-params-1')
    const body = await response.json()
    assert.deepEqual(body, {
      method: 'GET',
      path: '/items/42/parts/a%20b',
      params: { id: '42', part: 'a b' },
      id: '42',
      page: 3,
      query: { page: '3', tag: 'x' },
      header: 'Hello',
      clientIp: '127.0.0.1',
      requestId: 'req-params-1',
    })
    // A typed parameter that does not convert is the caller's mistake: 400, not a 500.
    const bad = await gw('/items/42/parts/p?page=two')
    assert.equal(bad.status, 400)
    const error = (await bad.json()) as GatewayError
    assert.equal(error.error.code, 'bad_request')
    assert.match(error.error.message, /page/)
  })

  await t.test('host routing: an exact host wins over "*", other hosts fall back to "*"', async () => {
    await deployEndpoint(srv, {
      name: 'who-any',
      method: 'GET',
      path: '/whoami',
      code: handlerSource(`export default handler(() => Response.text(200, 'any host'))`),
    })
    await deployEndpoint(srv, {
      name: 'who-exact',
      method: 'GET',
      path: '/whoami',
      domain: 'shop.example.test',
      code: handlerSource(`export default handler(() => Response.text(200, 'shop'))`),
    })
    await deployEndpoint(srv, {
      name: 'only-shop',
      method: 'GET',
      path: '/shop-only',
      domain: 'shop.example.test',
      code: handlerSource(`export default handler(() => Response.text(200, 'shop only'))`),
    })
    const as = (host: string, path = '/whoami') => rawRequest(srv.gatewayUrl, { path, host })
    assert.equal((await as('shop.example.test')).body, 'shop')
    assert.equal((await as('SHOP.Example.TEST:8080')).body, 'shop', 'host match ignores case and port')
    assert.equal((await as('other.example.test')).body, 'any host')
    assert.equal((await as('127.0.0.1')).body, 'any host')
    assert.equal((await as('shop.example.test', '/shop-only')).status, 200)
    const elsewhere = await as('other.example.test', '/shop-only')
    assert.equal(elsewhere.status, 404, 'a host-bound endpoint is invisible on other hosts')
    assert.equal((JSON.parse(elsewhere.body) as GatewayError).error.code, 'not_found')
  })

  await t.test('no route is a JSON 404; only another method is a 405 with Allow', async () => {
    const missing = await gw('/no/such/path', { headers: { 'x-request-id': 'missing-1' } })
    assert.equal(missing.status, 404)
    assert.equal(missing.headers.get('content-type'), 'application/json')
    assert.deepEqual(await missing.json(), {
      error: { code: 'not_found', message: 'no endpoint serves GET /no/such/path' },
      request_id: 'missing-1',
    })
    const wrongMethod = await gw('/items/1/parts/2', { method: 'DELETE' })
    assert.equal(wrongMethod.status, 405)
    assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD')
    const body = (await wrongMethod.json()) as GatewayError
    assert.equal(body.error.code, 'method_not_allowed')
    assert.equal(body.request_id, wrongMethod.headers.get('x-request-id'))
  })

  await t.test('HEAD on a GET route: the GET handler answers with its headers and no body', async () => {
    const get = await rawRequest(srv.gatewayUrl, { path: '/whoami' })
    const head = await rawRequest(srv.gatewayUrl, { path: '/whoami', method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal(head.headers['content-length'], get.headers['content-length'])
    assert.equal(head.headers['content-type'], get.headers['content-type'])
    const missing = await rawRequest(srv.gatewayUrl, { path: '/no/such/path', method: 'HEAD' })
    assert.equal(missing.status, 404)
    // A HEAD endpoint of its own wins over the GET route's.
    await deployEndpoint(srv, {
      name: 'who-head',
      method: 'HEAD',
      path: '/whoami',
      code: handlerSource(`export default handler(() => new Response(204).withHeader('x-head', 'own'))`),
    })
    const own = await rawRequest(srv.gatewayUrl, { path: '/whoami', method: 'HEAD' })
    assert.equal(own.status, 204)
    assert.equal(own.headers['x-head'], 'own')
  })

  await t.test('x-request-id is echoed when valid and generated otherwise', async () => {
    const echoed = await gw('/whoami', { headers: { 'x-request-id': 'trace.abc:123-XYZ' } })
    assert.equal(echoed.headers.get('x-request-id'), 'trace.abc:123-XYZ')
    await echoed.text()
    const generated = await gw('/whoami')
    const id = generated.headers.get('x-request-id') ?? ''
    assert.match(id, UUID_V7)
    await generated.text()
    const again = await gw('/whoami')
    assert.notEqual(again.headers.get('x-request-id'), id, 'each request gets its own id')
    await again.text()
    const invalid = await gw('/whoami', { headers: { 'x-request-id': 'has spaces and / slashes' } })
    assert.match(invalid.headers.get('x-request-id') ?? '', UUID_V7, 'an unusable id is replaced')
    await invalid.text()
  })

  await t.test('POST JSON read with req.json(), multipart upload read with req.multipart()', async () => {
    await deployEndpoint(srv, {
      name: 'json-echo',
      method: 'POST',
      path: '/echo',
      code: handlerSource(`export default handler((req) => {
  const input = req.json<{ name: string; tags: string[] }>()
  return Response.created({ hello: input.name, count: input.tags.length, json: req.isJson() })
})`),
    })
    const created = await gw('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', tags: ['a', 'b', 'c'] }),
    })
    assert.equal(created.status, 201)
    assert.deepEqual(await created.json(), { hello: 'ada', count: 3, json: true })
    // A streamed body has no content-length: transfer-encoding alone must make the gateway read it.
    const streamed = await gw('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([JSON.stringify({ name: 'bo', tags: ['x'] })]).stream(),
      duplex: 'half',
    } as RequestInit)
    assert.equal(streamed.status, 201)
    assert.deepEqual(await streamed.json(), { hello: 'bo', count: 1, json: true })
    const malformed = await gw('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    })
    assert.equal(malformed.status, 400)
    assert.equal(((await malformed.json()) as GatewayError).error.code, 'bad_request')

    await deployEndpoint(srv, {
      name: 'upload',
      method: 'POST',
      path: '/upload',
      code: handlerSource(`export default handler((req) => {
  const form = req.multipart()
  const file = form.requireFile('document')
  return Response.ok({
    title: form.requireField('title'),
    filename: file.filename,
    contentType: file.contentType,
    size: file.data.byteLength,
    text: new TextDecoder().decode(file.data),
    files: form.files.length,
  })
})`),
    })
    const form = new FormData()
    form.append('title', 'Quarterly report')
    form.append('document', new Blob(['col1,col2\n1,2\n'], { type: 'text/csv' }), 'report.csv')
    const uploaded = await gw('/upload', { method: 'POST', body: form })
    assert.equal(uploaded.status, 200)
    assert.deepEqual(await uploaded.json(), {
      title: 'Quarterly report',
      filename: 'report.csv',
      contentType: 'text/csv',
      size: 14,
      text: 'col1,col2\n1,2\n',
      files: 1,
    })
    const notMultipart = await gw('/upload', {
      method: 'POST',
      body: 'plain',
      headers: { 'content-type': 'text/plain' },
    })
    assert.equal(notMultipart.status, 400)
    assert.equal(((await notMultipart.json()) as GatewayError).error.code, 'bad_request')
  })

  await t.test('a body over the endpoint limit is a 413 and the handler is not called', async () => {
    const { endpoint } = await deployEndpoint(srv, {
      name: 'small-body',
      method: 'POST',
      path: '/small',
      body_limit_bytes: 16,
      code: handlerSource(`export default handler((req) => {
  console.log('called with', req.bytes().byteLength, 'bytes')
  return Response.text(200, 'got ' + req.text())
})`),
    })
    const fits = await gw('/small', { method: 'POST', body: '0123456789abcdef' })
    assert.equal(fits.status, 200)
    assert.equal(await fits.text(), 'got 0123456789abcdef')

    const tooLarge = await gw('/small', { method: 'POST', body: 'x'.repeat(17) })
    assert.equal(tooLarge.status, 413)
    const body = (await tooLarge.json()) as GatewayError
    assert.equal(body.error.code, 'payload_too_large')
    assert.equal(body.request_id, tooLarge.headers.get('x-request-id'))

    // Without a content-length the limit is enforced while reading the stream.
    const chunks = ['x'.repeat(10), 'y'.repeat(10), 'z'.repeat(10)]
    const streamed = await gw('/small', {
      method: 'POST',
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift()
          if (next === undefined) controller.close()
          else controller.enqueue(new TextEncoder().encode(next))
        },
      }),
      duplex: 'half',
    } as RequestInit)
    assert.equal(streamed.status, 413)
    assert.equal(((await streamed.json()) as GatewayError).error.code, 'payload_too_large')

    const calls = (await readLogs(srv, endpoint.id)).filter((line) => line.message.startsWith('called with'))
    assert.deepEqual(
      calls.map((line) => line.message),
      ['called with 16 bytes'],
      'only the request within the limit reached the handler',
    )

    // The limit of a running endpoint can be changed without a new version.
    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { body_limit_bytes: 8 }), 200)
    const afterLowering = await gw('/small', { method: 'POST', body: '0123456789' })
    assert.equal(afterLowering.status, 413, 'the lowered limit applies to the running endpoint')
    await afterLowering.text()
  })

  await t.test('a handler past its timeout gets a 504 and its ctx.signal is aborted', async () => {
    const { endpoint } = await deployEndpoint(srv, {
      name: 'sleepy',
      method: 'GET',
      path: '/sleepy',
      timeout_ms: 200,
      code: handlerSource(`export default handler(async (req, ctx) => {
  console.log('started')
  await new Promise<void>((resolve) => {
    const fallback = setTimeout(resolve, 10_000)
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(fallback)
      console.log('aborted:', ctx.signal.aborted, String(ctx.signal.reason))
      resolve()
    })
  })
  return Response.ok({ finished: true })
})`),
    })
    const response = await gw('/sleepy', { headers: { 'x-request-id': 'slow-1' } })
    assert.equal(response.status, 504)
    const body = (await response.json()) as GatewayError
    assert.equal(body.error.code, 'handler_timeout')
    assert.equal(body.request_id, 'slow-1')
    const aborted = await waitFor('the abort to be logged', async () =>
      (await readLogs(srv, endpoint.id)).find((line) => line.message.startsWith('aborted:')),
    )
    assert.equal(aborted.request_id, 'slow-1')
    assert.match(aborted.message, /^aborted: true Error: handler timed out after 200 ms/)
    const logged = await readLogs(srv, endpoint.id)
    assert.ok(
      logged.some((line) => line.level === 'error' && /timed out after 200 ms \(504\)/.test(line.message)),
      'the timeout itself is in the endpoint log',
    )

    // A client that goes away aborts the signal too (the longer timeout applies without a redeploy).
    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { timeout_ms: 20_000 }), 200)
    const client = new AbortController()
    const pending = gw('/sleepy', { headers: { 'x-request-id': 'gone-1' }, signal: client.signal })
    await waitFor('the handler to start', async () =>
      (await readLogs(srv, endpoint.id)).find((line) => line.request_id === 'gone-1'),
    )
    client.abort()
    await assert.rejects(pending, { name: 'AbortError' })
    const gone = await waitFor('the disconnect to be logged', async () =>
      (await readLogs(srv, endpoint.id)).find(
        (line) => line.request_id === 'gone-1' && line.message.startsWith('aborted:'),
      ),
    )
    assert.match(gone.message, /^aborted: true Error: client closed the connection/)
  })

  await t.test(
    'errors: a throw is a 500 with the TypeScript line in the log; HandlerError keeps its status',
    async () => {
      const boom = await deployEndpoint(srv, {
        name: 'boom',
        method: 'GET',
        path: '/boom',
        code: [
          "import { handler, Response } from '@edgeforge/sdk'",
          'export default handler((req) => {',
          "  if (req.queryParam('ok')) return Response.ok({ fine: true })",
          "  throw new Error('kaboom')",
          '})',
          '',
        ].join('\n'),
      })
      const failed = await gw('/boom', { headers: { 'x-request-id': 'boom-1' } })
      assert.equal(failed.status, 500)
      const body = (await failed.json()) as GatewayError
      assert.equal(body.error.code, 'internal')
      assert.equal(body.request_id, 'boom-1')
      assert.doesNotMatch(body.error.message, /kaboom/, 'the error itself stays in the log')
      const [entry] = (await readLogs(srv, boom.endpoint.id)).filter((line) => line.request_id === 'boom-1')
      assert.ok(entry, 'the failure is logged under the request id')
      assert.equal(entry.level, 'error')
      assert.match(entry.message, /kaboom/)
      assert.match(entry.message, /boom\.ts:4:\d+/, `the stack names the TypeScript line: ${entry.message}`)

      // A rejection after an await is mapped the same way.
      const rejects = await deployEndpoint(srv, {
        name: 'rejects',
        method: 'GET',
        path: '/rejects',
        code: [
          "import { handler, Response } from '@edgeforge/sdk'",
          '',
          'export default handler(async () => {',
          '  await new Promise((resolve) => setTimeout(resolve, 1))',
          "  if (Date.now() > 0) throw new TypeError('late failure')",
          '  return Response.ok()',
          '})',
          '',
        ].join('\n'),
      })
      const rejected = await gw('/rejects', { headers: { 'x-request-id': 'rejects-1' } })
      assert.equal(rejected.status, 500)
      assert.equal(((await rejected.json()) as GatewayError).request_id, 'rejects-1')
      const [rejection] = (await readLogs(srv, rejects.endpoint.id)).filter(
        (line) => line.request_id === 'rejects-1',
      )
      assert.match(rejection?.message ?? '', /TypeError: late failure/)
      assert.match(rejection?.message ?? '', /rejects\.ts:5:\d+/, rejection?.message)

      const notFound = await deployEndpoint(srv, {
        name: 'not-found',
        method: 'GET',
        path: '/users/{id}',
        code: handlerSource(
          `export default handler((req) => {
  throw HandlerError.notFound('x')
})`,
          'handler, HandlerError',
        ),
      })
      assert.equal(notFound.report.running_version, 1)
      const missing = await gw('/users/7', { headers: { 'x-request-id': 'nf-1' } })
      assert.equal(missing.status, 404)
      assert.equal(missing.headers.get('content-type'), 'application/json')
      assert.equal(await missing.text(), '{"error":{"code":"not_found","message":"x"},"request_id":"nf-1"}')

      const wrongReturn = await deployEndpoint(srv, {
        name: 'not-a-response',
        method: 'GET',
        path: '/not-a-response',
        code: handlerSource(`export default handler(() => ({ hello: 'world' }) as unknown as Response)`),
      })
      const odd = await gw('/not-a-response', { headers: { 'x-request-id': 'odd-1' } })
      assert.equal(odd.status, 500)
      const oddBody = (await odd.json()) as GatewayError
      assert.equal(oddBody.error.code, 'internal')
      assert.equal(oddBody.request_id, 'odd-1')
      const oddLog: LogLine | undefined = (await readLogs(srv, wrongReturn.endpoint.id)).find(
        (line) => line.request_id === 'odd-1',
      )
      assert.match(oddLog?.message ?? '', /returned an object \(Object\) instead of a Response/)

      // The gateway and every other endpoint keep serving; the failing one still answers its good path.
      assert.equal((await gw('/boom?ok=1')).status, 200)
      const other = await gw('/echo', { method: 'POST', body: '{"name":"x","tags":[]}' })
      assert.equal(other.status, 201)
      await other.text()
      assert.equal((await getEndpoint(srv, boom.endpoint.id)).status, 'running')
    },
  )
  await t.test('/metrics counts every status a client saw under its own label', async () => {
    await deployEndpoint(srv, {
      name: 'statuses',
      method: 'GET',
      path: '/statuses/{kind}',
      code: handlerSource(
        `export default handler((req) => {
  const kind = req.pathParam('kind') ?? ''
  if (kind === 'throw') throw new Error('boom')
  if (kind === 'missing') throw HandlerError.notFound('no such thing')
  return Response.text(kind === 'fail' ? 500 : 200, kind)
})`,
        'handler, HandlerError, Response',
      ),
    })
    const seen: number[] = []
    for (const kind of ['ok', 'missing', 'missing', 'fail', 'throw', 'ok']) {
      const response = await gw(`/statuses/${kind}`)
      await response.text()
      seen.push(response.status)
    }
    assert.deepEqual(seen, [200, 404, 404, 500, 500, 200])
    const text = await (await fetch(`${srv.controlUrl}/metrics`)).text()
    const count = (status: number) =>
      Number(
        new RegExp(
          `^edgeforge_gateway_requests_total\\{endpoint="statuses",status="${status}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? 0,
      )
    assert.deepEqual({ 200: count(200), 404: count(404), 500: count(500) }, { 200: 2, 404: 2, 500: 2 })
  })
  await t.test(
    'a rate-limited ctx.jobs.enqueue passed through by the handler keeps its retry-after',
    async () => {
      expectStatus(await srv.api('POST', '/queue/limited/rate-limit', { per_second: 0.1, burst: 1 }), 200)
      await deployEndpoint(srv, {
        name: 'enqueue-through',
        method: 'POST',
        path: '/enqueue-through',
        code: handlerSource(`export default handler(async (req, ctx) => {
  // No try/catch: the rate limit's HandlerError goes straight to the gateway.
  const job = await ctx.jobs.enqueue('limited', { n: 1 })
  return Response.accepted({ id: job.id })
})`),
      })
      const first = await gw('/enqueue-through', { method: 'POST' })
      assert.equal(first.status, 202)
      await first.text()
      const limited = await gw('/enqueue-through', { method: 'POST' })
      assert.equal(limited.status, 429)
      const body = (await limited.json()) as GatewayError
      assert.equal(body.error.code, 'rate_limited')
      const retryAfter = Number(limited.headers.get('retry-after'))
      assert.ok(retryAfter >= 1 && retryAfter <= 10, `retry-after is the wait in seconds: ${retryAfter}`)
    },
  )
})
