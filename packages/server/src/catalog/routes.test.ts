import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { catalogApi, openApiDocument } from '@edgeforge/protocol'
import { assertError, data, ISO, serve } from '../../test/support/catalog-http.ts'

describe('catalog routes', () => {
  test('domains: 201 on create, 200 on get/put, 404 on unknown ids, 409 on a taken host, null on delete', async (t) => {
    const { call } = await serve(t)
    const created = await call('POST', '/api/domains', {
      name: 'Prod',
      host: 'API.example.com',
      description: 'main',
    })
    assert.equal(created.status, 201)
    const domain = data(created)
    assert.deepEqual(Object.keys(domain).sort(), [
      'created_at',
      'description',
      'enabled',
      'host',
      'id',
      'name',
      'updated_at',
    ])
    assert.equal(domain.host, 'api.example.com')
    assert.equal(domain.enabled, true)
    assert.match(String(domain.created_at), ISO)

    const got = await call('GET', `/api/domains/${domain.id}`)
    assert.equal(got.status, 200)
    assert.deepEqual(data(got), domain)

    const put = await call('PUT', `/api/domains/${domain.id}`, { enabled: false })
    assert.equal(put.status, 200)
    assert.deepEqual([data(put).enabled, data(put).name, data(put).description], [false, 'Prod', 'main'])

    assertError(
      await call('POST', '/api/domains', { name: 'again', host: 'api.example.com' }),
      409,
      'conflict',
      'body.host',
    )
    const missing = assertError(await call('GET', '/api/domains/0000-nope'), 404, 'not_found')
    assert.match(missing, /0000-nope/)
    assertError(await call('PUT', '/api/domains/0000-nope', { name: 'x' }), 404, 'not_found')
    assertError(await call('GET', '/api/domains/0000-nope/collections'), 404, 'not_found')

    const deleted = await call('DELETE', `/api/domains/${domain.id}`)
    assert.equal(deleted.status, 200)
    assert.deepEqual(deleted.body, { ok: true, data: null })
    assertError(await call('GET', `/api/domains/${domain.id}`), 404, 'not_found')
    assertError(await call('DELETE', `/api/domains/${domain.id}`), 404, 'not_found')
  })

  test('null clears a nullable field instead of being coerced into an empty string', async (t) => {
    const { call } = await serve(t)
    const domain = data(
      await call('POST', '/api/domains', { name: 'n', host: 'null.test', description: 'was set' }),
    )
    const cleared = data(await call('PUT', `/api/domains/${domain.id}`, { description: null }))
    assert.equal(cleared.description, null)
  })

  test('bad bodies: malformed JSON, unknown field, missing field, wrong type — each a 400 naming what is wrong', async (t) => {
    const { call } = await serve(t)
    assertError(await call('POST', '/api/domains', undefined, '{"name": "x",'), 400, 'bad_request')
    assertError(
      await call('POST', '/api/domains', { name: 'x', host: 'x.test', color: 'red' }),
      400,
      'validation_failed',
      'body.color',
    )
    assertError(await call('POST', '/api/domains', { host: 'x.test' }), 400, 'validation_failed', 'body.name')
    assertError(
      await call('POST', '/api/domains', { name: 'x', host: 'not a host' }),
      400,
      'validation_failed',
      'body.host',
    )
    assertError(
      await call('POST', '/api/domains', { name: 'x', host: 'x.test', enabled: 'yes' }),
      400,
      'validation_failed',
      'body.enabled',
    )
    assertError(
      await call('POST', '/api/endpoints', { path: '/x', method: 'GET' }),
      400,
      'validation_failed',
      'body.name',
    )
    assertError(
      await call('POST', '/api/endpoints', { name: 'has space', path: '/x', method: 'GET' }),
      400,
      'validation_failed',
      'body.name',
    )
  })

  test('endpoints: create, read, partial update, kind rules, path and method checks, unique names', async (t) => {
    const { call } = await serve(t)
    const domain = data(await call('POST', '/api/domains', { name: 'd', host: 'pets.test' }))
    const created = await call('POST', '/api/collections', {
      domain_id: domain.id,
      name: 'Pets',
      base_path: '/v1',
    })
    assert.equal(created.status, 201)
    const collection = data(created)
    assert.equal(collection.base_path, '/v1')

    const made = await call('POST', '/api/endpoints', {
      name: 'getPet',
      path: '/pets/{id}',
      method: 'get',
      collection_id: collection.id,
      code: 'export default 1',
      dependencies: { zod: '^3.0.0' },
    })
    assert.equal(made.status, 201)
    const endpoint = data(made)
    assert.deepEqual(
      {
        kind: endpoint.kind,
        queue: endpoint.queue,
        method: endpoint.method,
        domain: endpoint.domain,
        full_path: endpoint.full_path,
        status: endpoint.status,
        enabled: endpoint.enabled,
        code: endpoint.code,
        dependencies: endpoint.dependencies,
        running_version: endpoint.running_version,
        compiled_version: endpoint.compiled_version,
        last_error: endpoint.last_error,
        timeout_ms: endpoint.timeout_ms,
        body_limit_bytes: endpoint.body_limit_bytes,
        drain_timeout_ms: endpoint.drain_timeout_ms,
      },
      {
        kind: 'http',
        queue: null,
        method: 'GET',
        domain: 'pets.test',
        full_path: '/v1/pets/{id}',
        status: 'created',
        enabled: true,
        code: 'export default 1',
        dependencies: { zod: '^3.0.0' },
        running_version: null,
        compiled_version: null,
        last_error: null,
        timeout_ms: 30000,
        body_limit_bytes: 1048576,
        drain_timeout_ms: 30000,
      },
    )
    assert.deepEqual(data(await call('GET', `/api/endpoints/${endpoint.id}`)), endpoint)

    const put = data(
      await call('PUT', `/api/endpoints/${endpoint.id}`, { method: 'delete', timeout_ms: 1000 }),
    )
    assert.deepEqual(
      [put.method, put.timeout_ms, put.path, put.code],
      ['DELETE', 1000, '/pets/{id}', 'export default 1'],
    )

    const badPath = assertError(
      await call('POST', '/api/endpoints', { name: 'bad', path: '/pets/{id', method: 'GET' }),
      400,
      'validation_failed',
      'body.path',
    )
    assert.match(badPath, /\{id/)
    assertError(
      await call('POST', '/api/endpoints', { name: 'bad', path: '/pets', method: 'FETCH' }),
      400,
      'validation_failed',
      'body.method',
    )
    assertError(
      await call('POST', '/api/endpoints', { name: 'bad', method: 'GET' }),
      400,
      'validation_failed',
      'body.path',
    )
    assertError(
      await call('POST', '/api/endpoints', { name: 'bad', path: '/x', method: 'GET', collection_id: 'nope' }),
      400,
      'validation_failed',
      'body.collection_id',
    )
    assertError(
      await call('PUT', `/api/endpoints/${endpoint.id}`, { kind: 'job' }),
      400,
      'validation_failed',
      'body.kind',
    )
    assertError(
      await call('PUT', `/api/endpoints/${endpoint.id}`, { status: 'running' }),
      400,
      'validation_failed',
      'body.status',
    )
    assertError(
      await call('POST', '/api/endpoints', { name: 'getPet', path: '/other', method: 'GET' }),
      409,
      'conflict',
      'body.name',
    )
    assertError(await call('GET', '/api/endpoints/nope'), 404, 'not_found')

    const job = await call('POST', '/api/endpoints', { name: 'mailer', kind: 'job', queue: 'mail' })
    assert.equal(job.status, 201)
    assert.deepEqual([data(job).path, data(job).method, data(job).full_path], [null, null, null])
    assertError(
      await call('POST', '/api/endpoints', { name: 'j2', kind: 'job', queue: 'mail', method: 'GET' }),
      400,
      'validation_failed',
      'body.method',
    )

    const collectionEndpoints = await call('GET', `/api/collections/${collection.id}/endpoints`)
    assert.deepEqual(
      (collectionEndpoints.body.data as Array<{ id: string }>).map((e) => e.id),
      [endpoint.id],
    )
    assertError(await call('GET', '/api/collections/nope/endpoints'), 404, 'not_found')

    assert.deepEqual((await call('DELETE', `/api/endpoints/${endpoint.id}`)).body, { ok: true, data: null })
    assertError(await call('GET', `/api/endpoints/${endpoint.id}`), 404, 'not_found')
  })

  test('deleting a collection deletes its endpoints and reports them to the hooks', async (t) => {
    const { call, hooks } = await serve(t)
    const domain = data(await call('POST', '/api/domains', { name: 'd', host: 'd.test' }))
    const collection = data(await call('POST', '/api/collections', { domain_id: domain.id, name: 'c' }))
    const endpoint = data(
      await call('POST', '/api/endpoints', {
        name: 'x',
        path: '/x',
        method: 'GET',
        collection_id: collection.id,
      }),
    )
    assert.deepEqual((await call('DELETE', `/api/collections/${collection.id}`)).body, {
      ok: true,
      data: null,
    })
    assert.deepEqual(hooks.changes, [{ updated: [], removed: [endpoint.id] }])
    assertError(await call('GET', `/api/endpoints/${endpoint.id}`), 404, 'not_found')
  })

  test('the OpenAPI document describes every catalog route with its tag', () => {
    const doc = openApiDocument(Object.values(catalogApi), { version: 'test' }) as {
      paths: Record<string, Record<string, { tags?: string[]; summary?: string }>>
    }
    const expected: Array<[string, string, string]> = [
      ['/api/domains', 'get', 'domains'],
      ['/api/domains', 'post', 'domains'],
      ['/api/domains/{id}', 'put', 'domains'],
      ['/api/domains/{id}/collections', 'get', 'domains'],
      ['/api/collections/{id}', 'delete', 'collections'],
      ['/api/collections/{id}/endpoints', 'get', 'collections'],
      ['/api/endpoints', 'get', 'endpoints'],
      ['/api/endpoints/{id}', 'put', 'endpoints'],
    ]
    for (const [path, method, tag] of expected) {
      const operation = doc.paths[path]?.[method]
      assert.ok(operation, `${method} ${path} is documented`)
      assert.deepEqual(operation.tags, ['catalog'], `${tag}: ${method} ${path}`)
      assert.ok(operation.summary)
    }
  })
})
