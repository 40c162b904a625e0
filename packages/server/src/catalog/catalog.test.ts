import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { backends } from '../../test/support/backends.ts'
import { openCatalog, rejectsWith } from '../../test/support/catalog.ts'

for (const [backend, open] of backends) {
  describe(`catalog on ${backend}`, () => {
    const setup = (t: TestContext) => openCatalog(open, t)

    test('domains: create lower-cases the host, update changes only given fields, unknown id is 404', async (t) => {
      const s = await setup(t)
      if (!s) return
      const created = await s.catalog.createDomain({ name: 'Prod', host: 'API.Example.com' })
      assert.equal(created.host, 'api.example.com')
      assert.equal(created.enabled, true)
      assert.equal(created.description, null)
      assert.equal(typeof created.createdAt, 'number')

      const updated = await s.catalog.updateDomain(created.id, { description: 'main' })
      assert.deepEqual(
        {
          name: updated.name,
          host: updated.host,
          description: updated.description,
          enabled: updated.enabled,
        },
        { name: 'Prod', host: 'api.example.com', description: 'main', enabled: true },
      )
      assert.deepEqual(await s.catalog.getDomain(created.id), updated)

      const missing = await rejectsWith(s.catalog.getDomain('nope'), 'not_found')
      assert.match(missing.message, /nope/)
      await rejectsWith(s.catalog.updateDomain('nope', { name: 'x' }), 'not_found')
      await rejectsWith(s.catalog.deleteDomain('nope'), 'not_found')
    })

    test('domains: a taken host is a 409 conflict naming the field, on create and on update', async (t) => {
      const s = await setup(t)
      if (!s) return
      const first = await s.catalog.createDomain({ name: 'a', host: 'a.test' })
      const second = await s.catalog.createDomain({ name: 'b', host: 'b.test' })
      const onCreate = await rejectsWith(
        s.catalog.createDomain({ name: 'c', host: 'A.TEST' }),
        'conflict',
        'body.host',
      )
      assert.match(onCreate.message, /a\.test/)
      await rejectsWith(s.catalog.updateDomain(second.id, { host: 'a.test' }), 'conflict', 'body.host')
      // Keeping one's own host is no conflict.
      assert.equal((await s.catalog.updateDomain(first.id, { host: 'a.test', name: 'A' })).name, 'A')
      await rejectsWith(
        s.catalog.createDomain({ name: 'bad', host: 'bad host' }),
        'validation_failed',
        'body.host',
      )
    })

    test('collections: unknown domain is 400 naming domain_id; base_path is validated and normalized', async (t) => {
      const s = await setup(t)
      if (!s) return
      await rejectsWith(
        s.catalog.createCollection({ domain_id: 'missing', name: 'x' }),
        'validation_failed',
        'body.domain_id',
      )
      const domain = await s.catalog.createDomain({ name: 'd', host: 'd.test' })
      const collection = await s.catalog.createCollection({
        domain_id: domain.id,
        name: 'pets',
        base_path: '/v1/',
      })
      assert.equal(collection.basePath, '/v1')
      await rejectsWith(
        s.catalog.createCollection({ domain_id: domain.id, name: 'y', base_path: 'v1' }),
        'validation_failed',
        'body.base_path',
      )
      const renamed = await s.catalog.updateCollection(collection.id, { name: 'Pets' })
      assert.deepEqual([renamed.name, renamed.basePath, renamed.enabled], ['Pets', '/v1', true])
      await rejectsWith(s.catalog.getCollection('nope'), 'not_found')
    })

    test('endpoints: defaults, normalization, placement in a collection, and the kind rules', async (t) => {
      const s = await setup(t)
      if (!s) return
      const loose = await s.catalog.createEndpoint({
        name: 'hello',
        path: '/hello',
        method: 'get',
        code: 'x',
      })
      assert.deepEqual(
        {
          kind: loose.kind,
          method: loose.method,
          domain: loose.domain,
          status: loose.status,
          enabled: loose.enabled,
          timeoutMs: loose.timeoutMs,
          bodyLimitBytes: loose.bodyLimitBytes,
          drainTimeoutMs: loose.drainTimeoutMs,
          fullPath: loose.fullPath,
          dependencies: loose.dependencies,
          code: loose.code,
          runningVersion: loose.runningVersion,
        },
        {
          kind: 'http',
          method: 'GET',
          domain: '*',
          status: 'created',
          enabled: true,
          timeoutMs: 5000,
          bodyLimitBytes: 1_048_576,
          drainTimeoutMs: 30_000,
          fullPath: '/hello',
          dependencies: {},
          code: 'x',
          runningVersion: null,
        },
      )

      const domain = await s.catalog.createDomain({ name: 'd', host: 'pets.test' })
      const collection = await s.catalog.createCollection({
        domain_id: domain.id,
        name: 'c',
        base_path: '/v1',
      })
      const inCollection = await s.catalog.createEndpoint({
        name: 'getPet',
        path: '/pets/{id}',
        method: 'GET',
        collection_id: collection.id,
        dependencies: { 'left-pad': '^1.3.0', '@scope/pkg': '2.x' },
      })
      assert.equal(inCollection.domain, 'pets.test')
      assert.equal(inCollection.fullPath, '/v1/pets/{id}')
      assert.deepEqual(inCollection.dependencies, { 'left-pad': '^1.3.0', '@scope/pkg': '2.x' })

      await rejectsWith(
        s.catalog.createEndpoint({
          name: 'e1',
          path: '/x',
          method: 'GET',
          collection_id: collection.id,
          domain: 'other.test',
        }),
        'validation_failed',
        'body.domain',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e2', path: '/x', method: 'GET', collection_id: 'missing' }),
        'validation_failed',
        'body.collection_id',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e3', method: 'GET' }),
        'validation_failed',
        'body.path',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e4', path: '/x' }),
        'validation_failed',
        'body.method',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e5', path: '/x', method: 'FETCH' }),
        'validation_failed',
        'body.method',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e6', path: '/x/{id', method: 'GET' }),
        'validation_failed',
        'body.path',
      )
      await rejectsWith(
        s.catalog.createEndpoint({
          name: 'e7',
          path: '/x',
          method: 'GET',
          dependencies: { 'Bad Name': '1' },
        }),
        'validation_failed',
        'body.dependencies.Bad Name',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e8', path: '/x', method: 'GET', queue: 'mail' }),
        'validation_failed',
        'body.queue',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e9', kind: 'job' }),
        'validation_failed',
        'body.queue',
      )
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e10', kind: 'job', queue: 'mail', path: '/x' }),
        'validation_failed',
        'body.path',
      )
      // A base path parameter may not be repeated in the endpoint's path.
      const tenants = await s.catalog.createCollection({
        domain_id: domain.id,
        name: 't',
        base_path: '/t/{id}',
      })
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'e11', path: '/u/{id}', method: 'GET', collection_id: tenants.id }),
        'validation_failed',
        'body.path',
      )

      const job = await s.catalog.createEndpoint({ name: 'mailer', kind: 'job', queue: 'mail' })
      assert.deepEqual(
        [job.kind, job.queue, job.path, job.method, job.fullPath],
        ['job', 'mail', null, null, null],
      )
      await rejectsWith(s.catalog.updateEndpoint(job.id, { kind: 'http' }), 'validation_failed', 'body.kind')
      await rejectsWith(s.catalog.updateEndpoint(job.id, { path: '/x' }), 'validation_failed', 'body.path')
      await rejectsWith(s.catalog.updateEndpoint(loose.id, { kind: 'job' }), 'validation_failed', 'body.kind')
      assert.equal(
        (await s.catalog.updateEndpoint(job.id, { kind: 'job', queue: 'mail.v2' })).queue,
        'mail.v2',
      )
    })

    test('endpoints: unique names (409), partial updates, lookups by name and status', async (t) => {
      const s = await setup(t)
      if (!s) return
      const a = await s.catalog.createEndpoint({ name: 'a', path: '/a', method: 'GET', description: 'first' })
      const b = await s.catalog.createEndpoint({ name: 'b', path: '/b', method: 'POST' })
      await rejectsWith(
        s.catalog.createEndpoint({ name: 'a', path: '/c', method: 'GET' }),
        'conflict',
        'body.name',
      )
      await rejectsWith(s.catalog.updateEndpoint(b.id, { name: 'a' }), 'conflict', 'body.name')

      const updated = await s.catalog.updateEndpoint(a.id, { code: 'new code', dependencies: { zod: '^3' } })
      assert.deepEqual(
        [updated.name, updated.path, updated.method, updated.description, updated.code, updated.dependencies],
        ['a', '/a', 'GET', 'first', 'new code', { zod: '^3' }],
      )
      assert.equal((await s.catalog.updateEndpoint(a.id, { description: null })).description, null)
      // Code and description are not routing: nothing to report.
      assert.deepEqual(s.hooks.changes, [])

      assert.equal((await s.catalog.findEndpointByName('b'))?.id, b.id)
      assert.equal(await s.catalog.findEndpointByName('zzz'), undefined)
      await rejectsWith(s.catalog.getEndpoint('missing-id'), 'not_found')

      const before = await s.catalog.getEndpoint(b.id)
      await new Promise((resolve) => setTimeout(resolve, 5))
      const running = await s.catalog.setEndpointState(b.id, {
        status: 'running',
        runningVersion: 1,
        compiledVersion: 1,
      })
      assert.deepEqual([running.status, running.runningVersion, running.compiledVersion], ['running', 1, 1])
      assert.equal(running.updatedAt, before.updatedAt, 'deploy state does not count as an edit')
      const errored = await s.catalog.setEndpointState(b.id, { lastError: 'boom' })
      assert.deepEqual([errored.status, errored.lastError], ['running', 'boom'])
      await rejectsWith(s.catalog.setEndpointState('missing-id', { status: 'stopped' }), 'not_found')

      assert.deepEqual(
        (await s.catalog.listEndpointsByStatus('running')).map((e) => [e.id, e.code]),
        [[b.id, '']],
      )
      assert.deepEqual(await s.catalog.countEndpoints(), { total: 2, running: { http: 1, job: 0 } })
      const worker = await s.catalog.createEndpoint({ name: 'counted-worker', kind: 'job', queue: 'count' })
      await s.catalog.setEndpointState(worker.id, { status: 'running', runningVersion: 1 })
      assert.deepEqual(await s.catalog.countEndpoints(), { total: 3, running: { http: 1, job: 1 } })
    })

    test('deleting a domain removes its collections, their endpoints and endpoints on its host, and reports them', async (t) => {
      const s = await setup(t)
      if (!s) return
      const domain = await s.catalog.createDomain({ name: 'd', host: 'd.test' })
      const other = await s.catalog.createDomain({ name: 'o', host: 'o.test' })
      const c1 = await s.catalog.createCollection({ domain_id: domain.id, name: 'c1', base_path: '/one' })
      const c2 = await s.catalog.createCollection({ domain_id: domain.id, name: 'c2' })
      const keep = await s.catalog.createCollection({ domain_id: other.id, name: 'keep' })
      const e1 = await s.catalog.createEndpoint({
        name: 'e1',
        path: '/a',
        method: 'GET',
        collection_id: c1.id,
      })
      const e2 = await s.catalog.createEndpoint({
        name: 'e2',
        path: '/b',
        method: 'GET',
        collection_id: c2.id,
      })
      const e3 = await s.catalog.createEndpoint({ name: 'e3', path: '/c', method: 'GET', domain: 'D.test' })
      const star = await s.catalog.createEndpoint({ name: 'star', path: '/c', method: 'GET' })
      const kept = await s.catalog.createEndpoint({
        name: 'kept',
        path: '/c',
        method: 'GET',
        collection_id: keep.id,
      })

      await s.catalog.deleteDomain(domain.id)
      assert.deepEqual(s.hooks.changes, [{ updated: [], removed: [e1.id, e2.id, e3.id].sort() }])
      await rejectsWith(s.catalog.getDomain(domain.id), 'not_found')
      await rejectsWith(s.catalog.getCollection(c1.id), 'not_found')
      await rejectsWith(s.catalog.getEndpoint(e3.id), 'not_found')
      const left = await s.catalog.listEndpoints()
      assert.deepEqual(
        left.items.map((e) => e.id),
        [star.id, kept.id],
      )

      await s.catalog.deleteCollection(keep.id)
      assert.deepEqual(s.hooks.changes[1], { updated: [], removed: [kept.id] })
      await s.catalog.deleteEndpoint(star.id)
      assert.deepEqual(s.hooks.changes[2], { updated: [], removed: [star.id] })
      assert.deepEqual((await s.catalog.listEndpoints()).items, [])
      await rejectsWith(s.catalog.deleteEndpoint(star.id), 'not_found')
    })

    test('lists page by id with continuation tokens; filters combine; code only on request', async (t) => {
      const s = await setup(t)
      if (!s) return
      const ids: string[] = []
      for (let i = 0; i < 7; i++)
        ids.push((await s.catalog.createDomain({ name: `d${i}`, host: `d${i}.test` })).id)
      const first = await s.catalog.listDomains({ limit: 3 })
      assert.deepEqual(
        first.items.map((d) => d.id),
        ids.slice(0, 3),
      )
      assert.ok(first.continuation_token)
      const second = await s.catalog.listDomains({ limit: 3, continuationToken: first.continuation_token })
      assert.deepEqual(
        second.items.map((d) => d.id),
        ids.slice(3, 6),
      )
      assert.ok(second.continuation_token)
      const third = await s.catalog.listDomains({ limit: 3, continuationToken: second.continuation_token })
      assert.deepEqual(
        third.items.map((d) => d.id),
        ids.slice(6),
      )
      assert.equal(third.continuation_token, null)
      await rejectsWith(
        s.catalog.listDomains({ continuationToken: 'not-a-token' }),
        'validation_failed',
        'querystring.continuation_token',
      )

      const c = await s.catalog.createCollection({ domain_id: ids[0], name: 'c' })
      const e1 = await s.catalog.createEndpoint({
        name: 'e1',
        path: '/1',
        method: 'GET',
        collection_id: c.id,
        code: 'one',
      })
      await s.catalog.createEndpoint({
        name: 'e2',
        path: '/2',
        method: 'GET',
        collection_id: c.id,
        enabled: false,
      })
      await s.catalog.createEndpoint({ name: 'e3', path: '/3', method: 'GET', domain: 'd0.test' })
      await s.catalog.createEndpoint({ name: 'e4', kind: 'job', queue: 'q' })
      const filtered = await s.catalog.listEndpoints({ collectionId: c.id, enabled: true })
      assert.deepEqual(
        filtered.items.map((e) => [e.id, e.code]),
        [[e1.id, undefined]],
      )
      const withCode = await s.catalog.listEndpoints({ collectionId: c.id, enabled: true, includeCode: true })
      assert.equal(withCode.items[0].code, 'one')
      assert.deepEqual(
        (await s.catalog.listEndpoints({ domain: 'D0.TEST' })).items.map((e) => e.name),
        ['e1', 'e2', 'e3'],
      )
      assert.deepEqual(
        (await s.catalog.listEndpoints({ kind: 'job' })).items.map((e) => e.name),
        ['e4'],
      )
      assert.deepEqual((await s.catalog.listCollections({ domainId: ids[1] })).items, [])
    })
  })
}
