import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { backends } from '../../test/support/backends.ts'
import { openCatalog, rejectsWith } from '../../test/support/catalog.ts'

for (const [backend, open] of backends) {
  describe(`catalog routing on ${backend}`, () => {
    const setup = (t: TestContext) => openCatalog(open, t)

    test('moving a running endpoint onto a busy route is a 409 and stores nothing', async (t) => {
      const s = await setup(t)
      if (!s) return
      const domain = await s.catalog.createDomain({ name: 'd', host: 'd.test' })
      const collection = await s.catalog.createCollection({
        domain_id: domain.id,
        name: 'c',
        base_path: '/v1',
      })
      const endpoint = await s.catalog.createEndpoint({
        name: 'pets',
        path: '/pets',
        method: 'GET',
        collection_id: collection.id,
      })
      const idle = await s.catalog.createEndpoint({ name: 'idle', path: '/idle', method: 'GET' })
      await s.catalog.setEndpointState(endpoint.id, { status: 'running', runningVersion: 1 })
      s.hooks.busy = [
        { host: 'd.test', method: 'GET', path: '/v1/taken' },
        { host: 'd.test', method: 'GET', path: '/v2/pets' },
      ]

      await rejectsWith(
        s.catalog.updateEndpoint(endpoint.id, { path: '/taken', code: 'changed' }),
        'conflict',
      )
      const unchanged = await s.catalog.getEndpoint(endpoint.id)
      assert.deepEqual([unchanged.path, unchanged.code], ['/pets', ''])
      // Via the collection's base path: the same check, the same rollback.
      await rejectsWith(s.catalog.updateCollection(collection.id, { base_path: '/v2' }), 'conflict')
      assert.equal((await s.catalog.getCollection(collection.id)).basePath, '/v1')
      assert.deepEqual(s.hooks.changes, [])

      // A free route is taken, and the change is reported after the commit.
      const moved = await s.catalog.updateEndpoint(endpoint.id, { path: '/cats', method: 'post' })
      assert.equal(moved.fullPath, '/v1/cats')
      assert.deepEqual(s.hooks.asked.at(-1), {
        endpointId: endpoint.id,
        route: { host: 'd.test', method: 'POST', path: '/v1/cats' },
      })
      assert.deepEqual(s.hooks.changes, [{ updated: [endpoint.id], removed: [] }])

      // An endpoint that is not running holds no route: it is checked when it starts, not now.
      const asked = s.hooks.asked.length
      await s.catalog.updateEndpoint(idle.id, { path: '/taken', domain: 'd.test' })
      assert.equal(s.hooks.asked.length, asked)
      assert.deepEqual(s.hooks.changes.at(-1), { updated: [idle.id], removed: [] })

      // A new host moves the endpoints served on the old one, and reports them.
      const rehosted = await s.catalog.updateDomain(domain.id, { host: 'e.test' })
      assert.equal(rehosted.host, 'e.test')
      assert.equal((await s.catalog.getEndpoint(endpoint.id)).domain, 'e.test')
      assert.equal((await s.catalog.getEndpoint(idle.id)).domain, 'e.test')
      assert.deepEqual(s.hooks.changes.at(-1), { updated: [endpoint.id, idle.id].sort(), removed: [] })
    })

    test('routeOf is null for jobs and when the endpoint, its collection or its domain is disabled', async (t) => {
      const s = await setup(t)
      if (!s) return
      const domain = await s.catalog.createDomain({ name: 'd', host: 'd.test' })
      const collection = await s.catalog.createCollection({
        domain_id: domain.id,
        name: 'c',
        base_path: '/v1',
      })
      const pet = await s.catalog.createEndpoint({
        name: 'pet',
        path: '/pets/{id}',
        method: 'GET',
        collection_id: collection.id,
      })
      const loose = await s.catalog.createEndpoint({
        name: 'loose',
        path: '/x',
        method: 'PUT',
        domain: 'd.test',
      })
      const job = await s.catalog.createEndpoint({ name: 'job', kind: 'job', queue: 'q' })
      const route = async (id: string) => s.catalog.routeOf(await s.catalog.getEndpoint(id))

      assert.deepEqual(await route(pet.id), { host: 'd.test', method: 'GET', path: '/v1/pets/{id}' })
      assert.deepEqual(await route(loose.id), { host: 'd.test', method: 'PUT', path: '/x' })
      assert.equal(await route(job.id), null)

      await s.catalog.updateCollection(collection.id, { enabled: false })
      assert.equal(await route(pet.id), null)
      assert.deepEqual(s.hooks.changes.at(-1), { updated: [pet.id], removed: [] })
      await s.catalog.updateCollection(collection.id, { enabled: true })
      assert.notEqual(await route(pet.id), null)

      await s.catalog.updateDomain(domain.id, { enabled: false })
      assert.equal(await route(pet.id), null)
      assert.equal(await route(loose.id), null)
      assert.deepEqual(s.hooks.changes.at(-1), { updated: [pet.id, loose.id].sort(), removed: [] })
      await s.catalog.updateDomain(domain.id, { enabled: true })

      await s.catalog.updateEndpoint(pet.id, { enabled: false })
      assert.equal(await route(pet.id), null)
      const listed = await s.catalog.listEndpoints({ enabled: false })
      assert.deepEqual(
        listed.items.map((e) => e.id),
        [pet.id],
      )
    })

    test('moving an endpoint between collections follows their hosts; detaching keeps the host', async (t) => {
      const s = await setup(t)
      if (!s) return
      const a = await s.catalog.createDomain({ name: 'a', host: 'a.test' })
      const b = await s.catalog.createDomain({ name: 'b', host: 'b.test' })
      const ca = await s.catalog.createCollection({ domain_id: a.id, name: 'ca', base_path: '/a' })
      const cb = await s.catalog.createCollection({ domain_id: b.id, name: 'cb', base_path: '/b' })
      const e = await s.catalog.createEndpoint({ name: 'e', path: '/x', method: 'GET', collection_id: ca.id })
      const moved = await s.catalog.updateEndpoint(e.id, { collection_id: cb.id })
      assert.deepEqual([moved.collectionId, moved.domain, moved.fullPath], [cb.id, 'b.test', '/b/x'])
      await rejectsWith(
        s.catalog.updateEndpoint(e.id, { domain: 'a.test' }),
        'validation_failed',
        'body.domain',
      )
      const detached = await s.catalog.updateEndpoint(e.id, { collection_id: null })
      assert.deepEqual([detached.collectionId, detached.domain, detached.fullPath], [null, 'b.test', '/x'])
      const anywhere = await s.catalog.updateEndpoint(e.id, { domain: '*' })
      assert.equal(anywhere.domain, '*')
      assert.equal(s.hooks.changes.length, 3)
    })

    test('a domain created disabled unroutes the endpoints already served on its host', async (t) => {
      const s = await setup(t)
      if (!s) return
      const e = await s.catalog.createEndpoint({ name: 'e', path: '/x', method: 'GET', domain: 'late.test' })
      assert.notEqual(s.catalog.routeOf(e), null)
      await s.catalog.createDomain({ name: 'late', host: 'late.test', enabled: false })
      assert.equal(s.catalog.routeOf(await s.catalog.getEndpoint(e.id)), null)
      assert.deepEqual(s.hooks.changes, [{ updated: [e.id], removed: [] }])
      // Enabled from the start, the same adoption changes nothing worth reporting.
      await s.catalog.createEndpoint({ name: 'f', path: '/x', method: 'GET', domain: 'early.test' })
      await s.catalog.createDomain({ name: 'early', host: 'early.test' })
      assert.equal(s.hooks.changes.length, 1)
    })
  })
}
