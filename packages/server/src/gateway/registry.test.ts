import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Response } from '@edgeforge/sdk'
import { HandlerRegistry, HandlerVersion, type Route } from './registry.ts'
import { RouterSnapshot } from './router.ts'

const limits = { timeoutMs: 1000, bodyLimitBytes: 1024, drainTimeoutMs: 50 }
const route: Route = { host: '*', method: 'GET', path: '/items/{id}' }

function version(n: number): HandlerVersion {
  return new HandlerVersion({
    endpointId: 'e1',
    endpointName: 'items',
    version: n,
    fn: () => Response.ok({ v: n }),
    mapStack: (s) => s,
  })
}

test('a swap hands new requests to the new version while the old one drains its in-flight requests', async () => {
  const registry = new HandlerRegistry()
  const v1 = version(1)
  registry.install('e1', route, limits, v1)
  v1.acquire()
  const v2 = version(2)
  const result = registry.install('e1', route, limits, v2)
  assert.equal(result.swapped, true)
  assert.deepEqual(result.draining, [{ version: 1, in_flight: 1 }])
  assert.equal(registry.get('e1')?.current, v2)
  assert.deepEqual(registry.stats(), { loaded: 1, draining: 1, active_requests: 0, draining_requests: 1 })
  v1.release()
  await v1.drained
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(registry.draining.size, 0)
})

test('an idle old version is released at once; a stuck one is handed to onDrainTimeout and stays draining until released', async () => {
  const timedOut: HandlerVersion[] = []
  const registry = new HandlerRegistry({ onDrainTimeout: (v) => timedOut.push(v) })
  registry.install('e1', route, limits, version(1))
  assert.deepEqual(registry.install('e1', route, limits, version(2)).draining, [])
  const stuck = registry.get('e1')!.current
  stuck.acquire()
  const removed = registry.remove('e1')
  assert.deepEqual(removed.draining, [{ version: 2, in_flight: 1 }])
  assert.equal(registry.get('e1'), undefined)
  await new Promise((resolve) => setTimeout(resolve, limits.drainTimeoutMs + 30))
  assert.deepEqual(timedOut, [stuck], 'the drain timeout hands the version to whoever cuts its requests off')
  assert.equal(stuck.expired, true)
  assert.equal(registry.draining.size, 1, 'still draining while a request holds it')
  stuck.release()
  await stuck.drained
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(registry.draining.size, 0)
})

test('the router matches host-specific routes before wildcard ones and reports allowed methods', () => {
  const registry = new HandlerRegistry()
  registry.install('any', { host: '*', method: 'GET', path: '/a/{id}' }, limits, version(1))
  registry.install('x', { host: 'x.test', method: 'GET', path: '/a/{id}' }, limits, version(2))
  registry.install('post', { host: '*', method: 'POST', path: '/a/{id}' }, limits, version(3))
  const router = new RouterSnapshot(registry.slots.values())
  assert.equal(router.find('GET', '/a/7', 'x.test')?.store.endpointId, 'x')
  assert.equal(router.find('GET', '/a/7', 'y.test')?.store.endpointId, 'any')
  assert.deepEqual({ ...router.find('GET', '/a/hello%20world', '')?.params }, { id: 'hello world' })
  assert.equal(router.find('DELETE', '/a/7', ''), null)
  assert.deepEqual(router.allowedMethods('/a/7', ''), ['GET', 'HEAD', 'POST'])
  assert.deepEqual(router.allowedMethods('/nothing', ''), [])
  // HEAD without a HEAD route of its own goes to the GET route; other methods do not fall back.
  assert.equal(router.find('HEAD', '/a/7', 'x.test')?.store.endpointId, 'x')
  assert.equal(router.find('OPTIONS', '/a/7', ''), null)
})
