import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { isHandlerError } from '@edgeforge/sdk'
import { Redis } from 'ioredis'
import memjs from 'memjs'
import { needServer, testRuntime } from '../../../test/support/services.ts'
import { BoundServices } from '../clients.ts'

/** The three cache kinds; redis and memcached results are read back with a client of the test's own. */

interface Backend {
  config: Record<string, unknown>
  /** The value as the server holds it, read without the service. */
  independentGet(key: string): Promise<string | null>
  close(): void
}

const prefix = `edgeforge-test:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`

const BACKENDS: Record<string, (t: TestContext) => Promise<Backend | undefined>> = {
  memory: async () => ({ config: {}, independentGet: async () => null, close() {} }),
  redis: async (t) => {
    if (!(await needServer(t, 'redis'))) return undefined
    const client = new Redis({ host: '127.0.0.1', port: 6379, db: 3 })
    return {
      config: { host: '127.0.0.1', port: 6379, database: 3 },
      independentGet: (key) => client.get(key),
      close: () => client.disconnect(),
    }
  },
  memcached: async (t) => {
    if (!(await needServer(t, 'memcached'))) return undefined
    const client = memjs.Client.create('127.0.0.1:11211', { logger: { log() {} } })
    return {
      config: { host: '127.0.0.1', port: 11211 },
      independentGet: async (key) => (await client.get(key)).value?.toString() ?? null,
      close: () => client.close(),
    }
  },
}

for (const [type, make] of Object.entries(BACKENDS)) {
  test(`${type}: get, set with ttl, delete, exists, incr/decr, expire/ttl`, async (t) => {
    const backend = await make(t)
    if (!backend) return
    t.after(() => backend.close())
    const { runtime } = testRuntime(t)
    runtime.activate({ id: type, name: 'sessions', type, config: backend.config, secrets: {} })
    const cache = new BoundServices(runtime, { cache: 'sessions' }).cache('cache')
    const k = (name: string) => `${prefix}${name}`

    assert.equal(await cache.get(k('missing')), null)
    assert.equal(await cache.exists(k('missing')), false)
    await cache.set(k('item'), '{"id":1}', { ttlSeconds: 300 })
    assert.equal(await cache.get(k('item')), '{"id":1}')
    assert.equal(await cache.exists(k('item')), true)
    if (type !== 'memory') assert.equal(await backend.independentGet(k('item')), '{"id":1}')

    const left = await cache.ttl(k('item'))
    if (type === 'memcached') assert.equal(left, -1)
    else assert.ok(left > 290 && left <= 300, `ttl ${left}`)
    await cache.set(k('plain'), 'v')
    if (type !== 'memcached') assert.equal(await cache.ttl(k('plain')), -1)
    assert.equal(await cache.ttl(k('missing')), -2)
    assert.equal(await cache.expire(k('plain'), 1), true)
    assert.equal(await cache.expire(k('missing'), 10), false)

    assert.equal(await cache.incr(k('hits')), 1)
    assert.equal(await cache.incr(k('hits'), 5), 6)
    assert.equal(await cache.decr(k('hits'), 2), 4)
    if (type !== 'memory') assert.equal(await backend.independentGet(k('hits')), '4')

    assert.equal(await cache.delete(k('item')), true)
    assert.equal(await cache.delete(k('item')), false)
    assert.equal(await cache.get(k('item')), null)
    if (type !== 'memory') assert.equal(await backend.independentGet(k('item')), null)

    // The expiry set above passes (memcached counts whole seconds, so allow it two).
    await new Promise((r) => setTimeout(r, 2100))
    assert.equal(await cache.get(k('plain')), null)
  })
}

test('redis: an unreachable server is a 503 at once, without commands piling up', async (t) => {
  const { runtime } = testRuntime(t)
  runtime.activate({
    id: 'r',
    name: 'down',
    type: 'redis',
    config: { host: '127.0.0.1', port: 1 },
    secrets: {},
  })
  const cache = new BoundServices(runtime, { cache: 'down' }).cache('cache')
  await assert.rejects(cache.get('k'), (e: unknown) => isHandlerError(e) && e.status === 503)
  assert.match(runtime.status('down')?.lastError ?? '', /ECONNREFUSED/)
})

test('redis: a wrong password is a 503 whose message holds no password', async (t) => {
  if (!(await needServer(t, 'redis'))) return
  const { runtime } = testRuntime(t)
  runtime.activate({
    id: 'r',
    name: 'locked',
    type: 'redis',
    config: { host: '127.0.0.1', port: 6379, username: 'edgeforge-nobody' },
    secrets: { password: 'not-the-password-17' },
  })
  const cache = new BoundServices(runtime, { cache: 'locked' }).cache('cache')
  await assert.rejects(cache.get('k'), (e: unknown) => {
    assert.ok(isHandlerError(e) && e.status === 503)
    assert.ok(!e.message.includes('not-the-password-17'))
    return true
  })
  assert.match(runtime.status('locked')?.lastError ?? '', /WRONGPASS|invalid|AUTH/i)
})

test('redis: connections the server drops (CLIENT KILL) are replaced', async (t) => {
  if (!(await needServer(t, 'redis'))) return
  const { runtime } = testRuntime(t)
  runtime.activate({
    id: 'r',
    name: `c-${process.pid}`,
    type: 'redis',
    config: { host: '127.0.0.1', port: 6379, pool_size: 2 },
    secrets: {},
  })
  const cache = new BoundServices(runtime, { cache: `c-${process.pid}` }).cache('cache')
  await Promise.all([cache.get('a'), cache.get('b')])
  const admin = new Redis({ host: '127.0.0.1', port: 6379 })
  t.after(() => admin.disconnect())
  // Only this service's connections: other suites share the server.
  const name = `edgeforge:c-${process.pid}`
  const list = String(await admin.client('LIST'))
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /id=(\d+)/.exec(line)?.[1])
  assert.equal(ids.length, 2)
  for (const id of ids) await admin.client('KILL', 'ID', String(id))
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(await cache.get(`${prefix}after-kill`), null)
  assert.equal(runtime.status(`c-${process.pid}`)?.connected, true)
})

test('memcached: an unreachable server is a 503', async (t) => {
  const { runtime } = testRuntime(t)
  runtime.activate({
    id: 'm',
    name: 'down',
    type: 'memcached',
    config: { host: '127.0.0.1', port: 1, connect_timeout_ms: 500 },
    secrets: {},
  })
  const cache = new BoundServices(runtime, { cache: 'down' }).cache('cache')
  await assert.rejects(cache.get('k'), (e: unknown) => isHandlerError(e) && e.status === 503)
})
