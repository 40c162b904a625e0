import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type PrincipalAnswer, ThreadAuthCache } from './auth-cache.ts'

function cacheWith(answers: Record<string, PrincipalAnswer>, ttlMs = 1000) {
  let clock = 1_000_000
  const asked: (string | undefined)[] = []
  const cache = new ThreadAuthCache({
    ask: async (authorization) => {
      asked.push(authorization)
      return (
        answers[authorization ?? ''] ?? {
          ok: false,
          status: 401,
          body: { error: { code: 'unauthorized', message: 'no credentials' } },
        }
      )
    },
    ttlMs,
    now: () => clock,
  })
  return { cache, asked, tick: (ms: number) => (clock += ms), now: () => clock }
}

const reader: PrincipalAnswer = {
  ok: true,
  principal: { clientId: 'reader', scopes: ['orders:read:*'], expiresAt: null },
}
const REQUIRED = ['orders:read:eu']

test('a cached caller is decided in the thread, without asking the main thread, until the TTL', async () => {
  const { cache, asked, tick } = cacheWith({ 'Bearer r': reader })
  assert.deepEqual(await cache.check('Bearer r', REQUIRED), {
    ok: true,
    auth: { clientId: 'reader', scopes: ['orders:read:*'] },
  })
  const again = cache.check('Bearer r', REQUIRED)
  assert.ok(!(again instanceof Promise), 'a cached caller is answered synchronously')
  assert.equal(again.ok, true)
  assert.equal(asked.length, 1)
  tick(999)
  cache.check('Bearer r', REQUIRED)
  assert.equal(asked.length, 1)
  tick(1)
  await cache.check('Bearer r', REQUIRED)
  assert.equal(asked.length, 2, 'asked again once the TTL is over')
})

test('the 403 is decided per endpoint from the cached scopes, with the main thread’s body', async () => {
  const { cache, asked } = cacheWith({ 'Bearer r': reader })
  await cache.check('Bearer r', REQUIRED)
  const denied = cache.check('Bearer r', ['orders:write:eu'])
  assert.ok(!(denied instanceof Promise) && !denied.ok)
  assert.equal(denied.error.status, 403)
  assert.deepEqual(denied.error.toBody().error.code, 'insufficient_scopes')
  assert.deepEqual((denied.error.toBody().error as { details?: unknown }).details, {
    client_id: 'reader',
    required: 'orders:write:eu',
    scopes: ['orders:read:*'],
  })
  assert.equal(asked.length, 1)
})

test('forget (a client changed) drops every caller; an answer to a question asked before it is not kept', async () => {
  const { cache, asked } = cacheWith({ 'Bearer r': reader })
  await cache.check('Bearer r', REQUIRED)
  cache.forget()
  assert.equal(cache.size, 0)
  const pending = cache.check('Bearer r', REQUIRED)
  cache.forget() // a client changed while the main thread was answering
  await pending
  assert.equal(cache.size, 0)
  await cache.check('Bearer r', REQUIRED)
  assert.equal(asked.length, 3)
  assert.equal(cache.size, 1)
})

test('401s are not cached, and a temporary credential is not reused past its expiry', async () => {
  const { cache, asked, tick } = cacheWith({
    'Bearer t': { ok: true, principal: { clientId: 'reader', scopes: ['orders:*'], expiresAt: 1_000_100 } },
  })
  const missing = await cache.check(undefined, REQUIRED)
  assert.ok(!missing.ok && missing.error.status === 401)
  await cache.check('Bearer bad', REQUIRED)
  await cache.check('Bearer bad', REQUIRED)
  assert.equal(asked.filter((a) => a === 'Bearer bad').length, 2)
  await cache.check('Bearer t', REQUIRED)
  tick(100)
  assert.ok(cache.check('Bearer t', REQUIRED) instanceof Promise, 'expired: asked again')
})

test('ttl 0 caches nothing', async () => {
  const { cache, asked } = cacheWith({ 'Bearer r': reader }, 0)
  await cache.check('Bearer r', REQUIRED)
  await cache.check('Bearer r', REQUIRED)
  assert.equal(asked.length, 2)
})
