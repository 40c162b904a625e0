import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  createEndpoint,
  deployEndpoint,
  type EndpointView,
  expectError,
  expectStatus,
  getEndpoint,
  lifecycle,
  rawRequest,
} from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'

interface Stats {
  endpoints_total: number
  endpoints_running: number
  endpoints_running_http: number
  endpoints_running_job: number
  requests_handled: number
  uptime_seconds: number
  http_handlers: {
    loaded: number
    draining: number
    active_requests: number
    draining_requests: number
    quarantined: number
    threads: number
    thread_restarts: number
  }
  job_handlers: {
    loaded: number
    draining: number
    active_jobs: number
    draining_jobs: number
    threads: number
    thread_restarts: number
  }
}

interface OpenApiDocument {
  openapi: string
  info: { title: string; version: string }
  paths: Record<string, Record<string, { responses?: Record<string, unknown>; tags?: string[] }>>
}

const text = (body: string) =>
  handlerSource(`export default handler(() => Response.text(200, ${JSON.stringify(body)}))`)

test('management API across contexts', async (t) => {
  const srv = await startTestServer(t)
  const onHost = async (host: string, path: string) => {
    const reply = await rawRequest(srv.gatewayUrl, { path, host })
    return { status: reply.status, body: reply.body }
  }
  const stats = async () => expectStatus(await srv.api<Stats>('GET', '/api/stats'), 200).body.data

  await t.test('health names the version; stats move with deploys and requests', async () => {
    const health = expectStatus(await srv.api<{ status: string; version: string }>('GET', '/api/health'), 200)
    const packageJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'))
    assert.deepEqual(health.body, { ok: true, data: { status: 'healthy', version: packageJson.version } })

    const before = await stats()
    assert.deepEqual(Object.keys(before).sort(), [
      'endpoints_running',
      'endpoints_running_http',
      'endpoints_running_job',
      'endpoints_total',
      'http_handlers',
      'job_handlers',
      'requests_handled',
      'uptime_seconds',
    ])
    assert.deepEqual(before.http_handlers, {
      loaded: 0,
      draining: 0,
      active_requests: 0,
      draining_requests: 0,
      quarantined: 0,
      threads: srv.config.gatewayThreads,
      thread_restarts: 0,
    })
    // The job threads start with the first job endpoint's deploy.
    assert.deepEqual(before.job_handlers, {
      loaded: 0,
      draining: 0,
      active_jobs: 0,
      draining_jobs: 0,
      threads: 0,
      thread_restarts: 0,
    })
    assert.deepEqual([before.endpoints_total, before.endpoints_running, before.requests_handled], [0, 0, 0])
    assert.ok(Number.isInteger(before.uptime_seconds) && before.uptime_seconds >= 0)

    await createEndpoint(srv, { name: 'idle', method: 'GET', path: '/idle', code: text('idle') })
    await deployEndpoint(srv, { name: 'counted', method: 'GET', path: '/counted', code: text('counted') })
    const { endpoint: worker } = await deployEndpoint(srv, {
      name: 'stats-worker',
      kind: 'job',
      queue: 'stats-q',
      code: handlerSource('export default job(async () => null)', 'job'),
    })
    // Every number says what it counts: running endpoints of both kinds, and this process's
    // loaded HTTP handlers and job handlers, which add up to them.
    const deployed = await stats()
    assert.deepEqual(
      [
        deployed.endpoints_total,
        deployed.endpoints_running,
        deployed.endpoints_running_http,
        deployed.endpoints_running_job,
      ],
      [3, 2, 1, 1],
    )
    assert.deepEqual([deployed.http_handlers.loaded, deployed.job_handlers.loaded], [1, 1])
    assert.equal(deployed.requests_handled, 0)
    expectStatus(await srv.api('DELETE', `/api/endpoints/${worker.id}`), 200)

    for (const path of ['/counted', '/counted', '/not-routed'])
      await (await fetch(srv.gatewayUrl + path)).text()
    const served = await stats()
    assert.equal(served.requests_handled, 3, 'every gateway request counts, 404s included')
    assert.equal(served.http_handlers.active_requests, 0)
  })

  await t.test('updating a running endpoint re-routes it; disabling unroutes it', async () => {
    const { endpoint } = await deployEndpoint(srv, {
      name: 'mover',
      method: 'GET',
      path: '/old-place',
      code: text('moved'),
    })
    assert.equal((await fetch(`${srv.gatewayUrl}/old-place`)).status, 200)

    const moved = expectStatus(
      await srv.api<EndpointView>('PUT', `/api/endpoints/${endpoint.id}`, { path: '/new-place/{id}' }),
      200,
    ).body.data
    assert.equal(moved.status, 'running')
    assert.equal(moved.full_path, '/new-place/{id}')
    assert.equal((await fetch(`${srv.gatewayUrl}/old-place`)).status, 404)
    const atNew = await fetch(`${srv.gatewayUrl}/new-place/1`)
    assert.equal(atNew.status, 200)
    assert.equal(await atNew.text(), 'moved')

    const posted = expectStatus(
      await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { method: 'post' }),
      200,
    )
    assert.equal((posted.body.data as EndpointView).method, 'POST')
    const wrongMethod = await fetch(`${srv.gatewayUrl}/new-place/1`)
    assert.equal(wrongMethod.status, 405)
    assert.equal(wrongMethod.headers.get('allow'), 'POST')
    assert.equal((await fetch(`${srv.gatewayUrl}/new-place/1`, { method: 'POST' })).status, 200)

    const loadedBefore = (await stats()).http_handlers.loaded
    const disabled = expectStatus(
      await srv.api<EndpointView>('PUT', `/api/endpoints/${endpoint.id}`, { enabled: false }),
      200,
    ).body.data
    assert.equal(disabled.enabled, false)
    assert.equal((await fetch(`${srv.gatewayUrl}/new-place/1`, { method: 'POST' })).status, 404)
    assert.equal((await getEndpoint(srv, endpoint.id)).status, 'stopped')
    assert.equal((await stats()).http_handlers.loaded, loadedBefore - 1)
    expectError(await lifecycle(srv, endpoint.id, 'start'), 409, 'conflict')

    expectStatus(await srv.api('PUT', `/api/endpoints/${endpoint.id}`, { enabled: true }), 200)
    expectStatus(await lifecycle(srv, endpoint.id, 'start'), 200)
    assert.equal((await fetch(`${srv.gatewayUrl}/new-place/1`, { method: 'POST' })).status, 200)
  })

  await t.test(
    'two running endpoints on one domain + method + path: 409 conflict on start, deploy and update',
    async () => {
      const { endpoint: first } = await deployEndpoint(srv, {
        name: 'first-owner',
        method: 'GET',
        path: '/contested/{id}',
        code: text('first'),
      })
      // Parameter names do not make a different route.
      const second = await createEndpoint(srv, {
        name: 'second-owner',
        method: 'GET',
        path: '/contested/{name}',
        code: text('second'),
      })
      const onDeploy = expectError(await lifecycle(srv, second.id, 'deploy'), 409, 'conflict')
      assert.deepEqual(onDeploy.details, { endpoint_id: first.id })
      assert.match(onDeploy.message, /first-owner/)
      const afterDeploy = await getEndpoint(srv, second.id)
      assert.equal(afterDeploy.status, 'compiled', 'the compile succeeded; only the start was refused')
      expectError(await lifecycle(srv, second.id, 'start'), 409, 'conflict')
      assert.equal(await (await fetch(`${srv.gatewayUrl}/contested/1`)).text(), 'first')

      // Another host or another method is another route.
      expectStatus(await srv.api('PUT', `/api/endpoints/${second.id}`, { domain: 'other.example.test' }), 200)
      expectStatus(await lifecycle(srv, second.id, 'start'), 200)
      assert.equal((await onHost('other.example.test', '/contested/1')).body, 'second')
      assert.equal((await onHost('elsewhere.example.test', '/contested/1')).body, 'first')

      // Moving the running one back onto the taken route is refused, and nothing changes.
      const onUpdate = expectError(
        await srv.api('PUT', `/api/endpoints/${second.id}`, { domain: '*' }),
        409,
        'conflict',
      )
      assert.deepEqual(onUpdate.details, { endpoint_id: first.id })
      assert.equal((await getEndpoint(srv, second.id)).domain, 'other.example.test')
      assert.equal((await onHost('other.example.test', '/contested/1')).body, 'second')

      // Once the first stops, the route is free.
      expectStatus(await lifecycle(srv, first.id, 'stop'), 200)
      expectStatus(await srv.api('PUT', `/api/endpoints/${second.id}`, { domain: '*' }), 200)
      assert.equal(await (await fetch(`${srv.gatewayUrl}/contested/1`)).text(), 'second')
      expectError(await lifecycle(srv, first.id, 'start'), 409, 'conflict')

      // Two deploys racing for one free route: exactly one wins.
      const racers = await Promise.all(
        ['racer-a', 'racer-b'].map((name) =>
          createEndpoint(srv, { name, method: 'PUT', path: '/race', code: text(name) }),
        ),
      )
      const outcomes = await Promise.all(racers.map((racer) => lifecycle(srv, racer.id, 'deploy')))
      assert.deepEqual(outcomes.map((reply) => reply.status).sort(), [200, 409])
      const winner = racers[outcomes.findIndex((reply) => reply.status === 200)]
      assert.equal(outcomes.find((reply) => reply.status === 409)?.body.error?.code, 'conflict')
      assert.equal(await (await fetch(`${srv.gatewayUrl}/race`, { method: 'PUT' })).text(), winner.name)
    },
  )

  await t.test(
    'collections: base_path prefixes; changing it re-routes; deleting it unroutes its endpoints',
    async () => {
      const domain = expectStatus(
        await srv.api<{ id: string; host: string }>('POST', '/api/domains', {
          name: 'Pets',
          host: 'Pets.Example.Test',
        }),
        201,
      ).body.data
      assert.equal(domain.host, 'pets.example.test')
      const collection = expectStatus(
        await srv.api<{ id: string; base_path: string }>('POST', '/api/collections', {
          domain_id: domain.id,
          name: 'v1',
          base_path: '/v1/',
        }),
        201,
      ).body.data
      assert.equal(collection.base_path, '/v1')
      const { endpoint } = await deployEndpoint(srv, {
        name: 'pet',
        method: 'GET',
        path: '/pets/{id}',
        collection_id: collection.id,
        code: handlerSource("export default handler((req) => Response.ok({ pet: req.pathParam('id') }))"),
      })
      assert.equal(endpoint.domain, 'pets.example.test')
      assert.equal(endpoint.full_path, '/v1/pets/{id}')
      assert.deepEqual(await onHost('pets.example.test', '/v1/pets/7'), { status: 200, body: '{"pet":"7"}' })
      assert.equal((await onHost('other.example.test', '/v1/pets/7')).status, 404)

      const listed = expectStatus(
        await srv.api<EndpointView[]>('GET', `/api/collections/${collection.id}/endpoints`),
        200,
      )
      assert.deepEqual(
        listed.body.data.map((e) => [e.name, e.status]),
        [['pet', 'running']],
      )

      expectStatus(await srv.api('PUT', `/api/collections/${collection.id}`, { base_path: '/v2' }), 200)
      assert.equal((await onHost('pets.example.test', '/v1/pets/7')).status, 404)
      assert.deepEqual(await onHost('pets.example.test', '/v2/pets/8'), { status: 200, body: '{"pet":"8"}' })
      assert.equal((await getEndpoint(srv, endpoint.id)).full_path, '/v2/pets/{id}')

      // A disabled collection unroutes its endpoints.
      expectStatus(await srv.api('PUT', `/api/collections/${collection.id}`, { enabled: false }), 200)
      assert.equal((await onHost('pets.example.test', '/v2/pets/8')).status, 404)
      expectStatus(await srv.api('PUT', `/api/collections/${collection.id}`, { enabled: true }), 200)
      expectStatus(await lifecycle(srv, endpoint.id, 'start'), 200)
      assert.equal((await onHost('pets.example.test', '/v2/pets/8')).status, 200)

      const loadedBefore = (await stats()).http_handlers.loaded
      expectStatus(await srv.api('DELETE', `/api/collections/${collection.id}`), 200)
      assert.equal((await onHost('pets.example.test', '/v2/pets/8')).status, 404)
      expectError(await srv.api('GET', `/api/endpoints/${endpoint.id}`), 404, 'not_found')
      expectError(await srv.api('GET', `/api/collections/${collection.id}`), 404, 'not_found')
      assert.equal((await stats()).http_handlers.loaded, loadedBefore - 1)
      expectStatus(await srv.api('DELETE', `/api/domains/${domain.id}`), 200)
    },
  )

  await t.test('deleting a domain unroutes its collections’ endpoints and those on its host', async () => {
    const domain = expectStatus(
      await srv.api<{ id: string }>('POST', '/api/domains', { name: 'Shop', host: 'shop.example.test' }),
      201,
    ).body.data
    const collection = expectStatus(
      await srv.api<{ id: string }>('POST', '/api/collections', {
        domain_id: domain.id,
        name: 'api',
        base_path: '/api',
      }),
      201,
    ).body.data
    const listedCollections = expectStatus(
      await srv.api<Array<{ id: string }>>('GET', `/api/domains/${domain.id}/collections`),
      200,
    )
    assert.deepEqual(
      listedCollections.body.data.map((c) => c.id),
      [collection.id],
    )
    const inCollection = await deployEndpoint(srv, {
      name: 'cart',
      method: 'GET',
      path: '/cart',
      collection_id: collection.id,
      code: text('cart'),
    })
    const onItsHost = await deployEndpoint(srv, {
      name: 'shop-home',
      method: 'GET',
      path: '/',
      domain: 'shop.example.test',
      code: text('home'),
    })
    const elsewhere = await deployEndpoint(srv, {
      name: 'bystander',
      method: 'GET',
      path: '/bystander',
      code: text('still here'),
    })
    assert.deepEqual(await onHost('shop.example.test', '/api/cart'), { status: 200, body: 'cart' })
    assert.deepEqual(await onHost('shop.example.test', '/'), { status: 200, body: 'home' })

    // A new host takes the running endpoints with it.
    expectStatus(await srv.api('PUT', `/api/domains/${domain.id}`, { host: 'store.example.test' }), 200)
    assert.equal((await onHost('shop.example.test', '/api/cart')).status, 404)
    assert.deepEqual(await onHost('store.example.test', '/api/cart'), { status: 200, body: 'cart' })
    assert.deepEqual(await onHost('store.example.test', '/'), { status: 200, body: 'home' })
    assert.equal((await getEndpoint(srv, onItsHost.endpoint.id)).domain, 'store.example.test')

    const before = await stats()
    expectStatus(await srv.api('DELETE', `/api/domains/${domain.id}`), 200)
    assert.equal((await onHost('store.example.test', '/api/cart')).status, 404)
    assert.equal((await onHost('store.example.test', '/')).status, 404)
    assert.deepEqual(await onHost('store.example.test', '/bystander'), { status: 200, body: 'still here' })
    for (const gone of [inCollection.endpoint.id, onItsHost.endpoint.id]) {
      expectError(await srv.api('GET', `/api/endpoints/${gone}`), 404, 'not_found')
    }
    assert.equal((await getEndpoint(srv, elsewhere.endpoint.id)).status, 'running')
    const after = await stats()
    assert.equal(after.http_handlers.loaded, before.http_handlers.loaded - 2)
    assert.equal(after.endpoints_running, before.endpoints_running - 2)
    assert.equal(after.endpoints_total, before.endpoints_total - 2)
    expectError(await srv.api('DELETE', `/api/domains/${domain.id}`), 404, 'not_found')
  })

  await t.test('deleting a running endpoint unroutes it', async () => {
    const { endpoint } = await deployEndpoint(srv, {
      name: 'doomed',
      method: 'GET',
      path: '/doomed',
      code: text('doomed'),
    })
    assert.equal((await fetch(`${srv.gatewayUrl}/doomed`)).status, 200)
    expectStatus(await srv.api('DELETE', `/api/endpoints/${endpoint.id}`), 200)
    assert.equal((await fetch(`${srv.gatewayUrl}/doomed`)).status, 404)
    expectError(await srv.api('DELETE', `/api/endpoints/${endpoint.id}`), 404, 'not_found')
  })

  await t.test('lists page with limit and continuation_token', async () => {
    const all = expectStatus(await srv.api<EndpointView[]>('GET', '/api/endpoints?limit=1000'), 200).body
    assert.equal(all.continuation_token, null)
    const expected = all.data.map((e) => e.name)
    assert.ok(expected.length >= 5, `enough endpoints to page through: ${expected.length}`)
    const seen: string[] = []
    let token: string | null | undefined
    let pages = 0
    do {
      const query = `limit=2${token ? `&continuation_token=${encodeURIComponent(token)}` : ''}`
      const page = expectStatus(await srv.api<EndpointView[]>('GET', `/api/endpoints?${query}`), 200).body
      assert.ok(page.data.length <= 2)
      assert.ok(
        page.data.every((e) => e.code === undefined),
        'lists leave code out',
      )
      seen.push(...page.data.map((e) => e.name))
      token = page.continuation_token
      pages += 1
    } while (token)
    assert.deepEqual(seen, expected)
    assert.equal(pages, Math.ceil(expected.length / 2))

    const running = expectStatus(
      await srv.api<EndpointView[]>('GET', '/api/endpoints?status=running&limit=1000'),
      200,
    )
    assert.ok(running.body.data.length > 0)
    assert.ok(running.body.data.every((e) => e.status === 'running'))
    const disabled = expectStatus(await srv.api<EndpointView[]>('GET', '/api/endpoints?enabled=false'), 200)
    assert.deepEqual(disabled.body.data, [])
    expectError(await srv.api('GET', '/api/endpoints?continuation_token=garbage'), 400, 'validation_failed')
    expectError(await srv.api('GET', '/api/endpoints?limit=0'), 400, 'validation_failed')
  })

  await t.test('bad input: malformed JSON, unknown field, bad path template, unknown id', async () => {
    const malformed = await fetch(`${srv.controlUrl}/api/endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": "x",',
    })
    assert.equal(malformed.status, 400)
    assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, 'bad_request')
    const unknown = expectError(
      await srv.api('POST', '/api/endpoints', { name: 'x', method: 'GET', path: '/x', colour: 'red' }),
      400,
      'validation_failed',
    )
    assert.deepEqual(unknown.details, { field: 'body.colour' })
    const badPath = expectError(
      await srv.api('POST', '/api/endpoints', { name: 'x', method: 'GET', path: '/a/{id' }),
      400,
      'validation_failed',
    )
    assert.equal((badPath.details as { field: string }).field, 'body.path')
    expectError(await srv.api('PUT', '/api/endpoints/nope', { description: 'x' }), 404, 'not_found')
    expectError(await srv.api('GET', '/api/nothing-here'), 404, 'not_found')
  })

  await t.test('an empty body sent as application/json: fine for an action, a 400 for a create', async () => {
    const created = await createEndpoint(srv, {
      name: 'empty-body',
      method: 'GET',
      path: '/empty-body',
      code: text('e'),
    })
    const post = (path: string) =>
      fetch(`${srv.controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } })
    const deployed = await post(`/api/endpoints/${created.id}/deploy`)
    assert.equal(deployed.status, 200, await deployed.clone().text())
    assert.equal(((await deployed.json()) as { data: { status: string } }).data.status, 'running')
    assert.equal((await onHost('localhost', '/empty-body')).body, 'e')
    const create = await post('/api/endpoints')
    assert.equal(create.status, 400)
    assert.equal(((await create.json()) as { error: { code: string } }).error.code, 'validation_failed')
    const poisoned = await fetch(`${srv.controlUrl}/api/endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"__proto__": {"admin": true}}',
    })
    assert.equal(poisoned.status, 400)
  })

  await t.test('the OpenAPI document is OpenAPI 3 and lists the lifecycle routes', async () => {
    const reply = await fetch(`${srv.controlUrl}/api/openapi.json`)
    assert.equal(reply.status, 200)
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/)
    const doc = (await reply.json()) as OpenApiDocument
    assert.match(doc.openapi, /^3\.\d+\.\d+$/)
    assert.equal(doc.info.title, 'edgeforge control plane')
    assert.equal(typeof doc.info.version, 'string')
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    )
    for (const { path, method, operation } of operations) {
      assert.match(path, /^\//, 'paths are absolute')
      assert.doesNotMatch(path, /:/, `OpenAPI path templates use {param}, not :param: ${path}`)
      assert.ok(['get', 'put', 'post', 'delete', 'patch'].includes(method), `${method} ${path}`)
      assert.ok(
        operation.responses && Object.keys(operation.responses).length > 0,
        `${method} ${path} has responses`,
      )
    }
    const has = (method: string, path: string) =>
      assert.ok(doc.paths[path]?.[method], `${method} ${path} is described`)
    for (const action of ['compile', 'start', 'stop', 'deploy']) has('post', `/api/endpoints/{id}/${action}`)
    has('get', '/api/endpoints/{id}/logs')
    has('get', '/api/health')
    has('get', '/api/stats')
    for (const collection of ['domains', 'collections', 'endpoints']) {
      has('get', `/api/${collection}`)
      has('post', `/api/${collection}`)
      has('get', `/api/${collection}/{id}`)
      has('put', `/api/${collection}/{id}`)
      has('delete', `/api/${collection}/{id}`)
    }
    assert.deepEqual(doc.paths['/api/endpoints/{id}/deploy'].post.tags, ['deploy'])
    // Every $ref points at something the document defines.
    const serialized = JSON.stringify(doc)
    for (const [, ref] of serialized.matchAll(/"\$ref":"([^"]+)"/g)) {
      assert.match(ref, /^#\//)
      let node: unknown = doc
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part]
      assert.ok(node !== undefined, `${ref} resolves`)
    }
  })
})
