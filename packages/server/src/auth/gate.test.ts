import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ApiError } from '@edgeforge/protocol'
import { type CredentialsInput, type Principal, unauthorized } from './authenticator.ts'
import { EndpointGate, type GateResult } from './gate.ts'

function gateWith(principals: Record<string, Principal>, now: { value: number }) {
  const calls: string[] = []
  const gate = new EndpointGate({
    cacheMs: 1000,
    now: () => now.value,
    authenticate: async (input: CredentialsInput) => {
      const token = (input.authorization ?? '').replace(/^Bearer /i, '')
      calls.push(token)
      const principal = principals[token]
      if (!principal) throw unauthorized('unknown token')
      return principal
    },
  })
  return { gate, calls }
}

const reader: Principal = { clientId: 'reader', scopes: ['api:read:*'], via: 'client', expiresAt: null }

test('the endpoint gate: 401 without or with a bad credential, 403 naming what is missing, ctx.auth when allowed', async () => {
  const now = { value: 1_000_000 }
  const { gate, calls } = gateWith({ good: reader }, now)
  const missing = gate.check(undefined, ['api:read:x']) as GateResult
  assert.equal(missing.ok, false)
  assert.equal((missing as { error: ApiError }).error.code, 'unauthorized')
  const malformed = gate.check('Basic abc', ['api:read:x']) as GateResult
  assert.equal((malformed as { error: ApiError }).error.code, 'unauthorized')
  const unknown = await gate.check('Bearer nope', ['api:read:x'])
  assert.equal((unknown as { error: ApiError }).error.code, 'unauthorized')

  const first = gate.check('Bearer good', ['api:read:x'])
  assert.ok(first instanceof Promise, 'the first request of a credential asks the store')
  assert.deepEqual(await first, { ok: true, auth: { clientId: 'reader', scopes: ['api:read:*'] } })
  const second = gate.check('Bearer good', ['api:read:y'])
  assert.ok(!(second instanceof Promise), 'later ones are answered from the cache, synchronously')
  assert.equal(second.ok, true)
  const denied = gate.check('Bearer good', ['api:read:x', 'api:write:x']) as GateResult
  assert.equal(denied.ok, false)
  const error = (denied as { error: ApiError }).error
  assert.equal(error.code, 'insufficient_scopes')
  assert.equal(error.status, 403)
  assert.deepEqual(error.details, { client_id: 'reader', required: 'api:write:x', scopes: ['api:read:*'] })
  assert.deepEqual(calls, ['nope', 'good'])

  // Past the cache time, or after forget(), the store is asked again.
  now.value += 1000
  assert.ok(gate.check('Bearer good', ['api:read:x']) instanceof Promise)
  await gate.check('Bearer good', ['api:read:x'])
  gate.forget()
  assert.ok(gate.check('Bearer good', ['api:read:x']) instanceof Promise)
})

test('a cached principal never outlives its credential', async () => {
  const now = { value: 1_000_000 }
  const temp: Principal = { clientId: 'ci', scopes: ['*'], via: 'temporary', expiresAt: now.value + 10 }
  const { gate } = gateWith({ temp }, now)
  assert.equal((await gate.check('Bearer temp', ['a'])).ok, true)
  now.value += 10
  assert.ok(gate.check('Bearer temp', ['a']) instanceof Promise, 'expired in the cache: asked again')
})
