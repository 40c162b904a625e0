import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ApiError } from '@edgeforge/protocol'
import { backends } from '../../test/support/backends.ts'
import { ClientStore } from './clients.ts'
import { hashAccessToken, publicKeyOf } from './keys.ts'

for (const [name, open] of backends) {
  describe(`client store on ${name}`, () => {
    test('create, find by token, list by prefix, update, disable, reset, delete; the token is never stored', async (t) => {
      const db = await open(t)
      if (!db) return
      const changed: string[] = []
      const store = new ClientStore(db, (id) => {
        changed.push(id)
      })
      const { client, accessToken } = await store.create('ci/hello', {
        description: 'CI',
        scopes: ['b', 'a:*', 'a:x'],
        expiresAt: Date.UTC(2030, 0, 1),
      })
      assert.deepEqual(client.scopes, ['a:*', 'b'], 'normalized')
      assert.equal(client.expiresAt, Date.UTC(2030, 0, 1))
      assert.equal(client.disabled, false)
      assert.equal(client.publicKey, publicKeyOf(accessToken))
      const row = await db.get<Record<string, unknown>>('SELECT * FROM auth_clients WHERE client_id = ?', [
        'ci/hello',
      ])
      assert.ok(row)
      assert.ok(!JSON.stringify(row).includes(accessToken), 'the row holds no token')
      assert.equal(row.token_hash, hashAccessToken(accessToken))

      assert.equal((await store.findByToken(accessToken))?.clientId, 'ci/hello')
      assert.equal(await store.findByToken('nope'), undefined)
      await store.create('ci/other', { scopes: [] })
      await store.create('cj_x', { scopes: [] })
      await store.create('ops', { scopes: ['*'] })
      assert.deepEqual(
        (await store.list({ limit: 10, prefix: 'ci/' })).map((c) => c.clientId),
        ['ci/hello', 'ci/other'],
      )
      assert.deepEqual(
        (await store.list({ limit: 2, after: 'ci/other' })).map((c) => c.clientId),
        ['cj_x', 'ops'],
      )

      const updated = await store.update('ci/hello', { scopes: ['c'], expiresAt: null })
      assert.deepEqual(updated.scopes, ['c'])
      assert.equal(updated.expiresAt, null)
      assert.equal(updated.description, 'CI', 'fields not sent stay')
      assert.equal((await store.setDisabled('ci/hello', true)).disabled, true)
      assert.equal((await store.setDisabled('ci/hello', false)).disabled, false)

      const reset = await store.resetToken('ci/hello')
      assert.notEqual(reset.accessToken, accessToken)
      assert.equal(await store.findByToken(accessToken), undefined)
      assert.equal((await store.findByToken(reset.accessToken))?.clientId, 'ci/hello')
      assert.equal(reset.client.publicKey, publicKeyOf(reset.accessToken))

      await assert.rejects(
        store.create('ci/hello', { scopes: [] }),
        (error: ApiError) => error.code === 'conflict',
      )
      await assert.rejects(
        store.create('root', { scopes: [] }),
        (error: ApiError) => error.code === 'conflict',
      )
      await assert.rejects(
        store.create('a b', { scopes: [] }),
        (error: ApiError) => error.code === 'validation_failed',
      )
      await assert.rejects(
        store.create('x', { scopes: ['a b'] }),
        (error: ApiError) => error.code === 'validation_failed',
      )
      await store.delete('ci/hello')
      await assert.rejects(store.get('ci/hello'), (error: ApiError) => error.code === 'not_found')
      await assert.rejects(store.delete('ci/hello'), (error: ApiError) => error.code === 'not_found')
      await assert.rejects(
        store.update('nobody', { description: 'x' }),
        (error: ApiError) => error.code === 'not_found',
      )
      assert.ok(changed.includes('ci/hello') && changed.includes('ops'))
    })
  })
}
