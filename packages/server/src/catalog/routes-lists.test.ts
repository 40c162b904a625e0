import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { assertError, data, serve } from '../../test/support/catalog-http.ts'

describe('catalog list routes', () => {
  test('lists: filters, code only with include_code=true, paging with tokens, bad tokens', async (t) => {
    const { call } = await serve(t)
    const domain = data(await call('POST', '/api/domains', { name: 'd', host: 'd.test' }))
    const collection = data(await call('POST', '/api/collections', { domain_id: domain.id, name: 'c' }))
    const names = ['a', 'b', 'c', 'd', 'e']
    for (const [i, name] of names.entries()) {
      const reply = await call('POST', '/api/endpoints', {
        name,
        path: `/${name}`,
        method: 'GET',
        code: `code ${name}`,
        enabled: i % 2 === 0,
        ...(i < 2 ? { collection_id: collection.id } : {}),
      })
      assert.equal(reply.status, 201)
    }

    const all = await call('GET', '/api/endpoints')
    const items = all.body.data as Array<Record<string, unknown>>
    assert.deepEqual(
      items.map((e) => e.name),
      names,
    )
    assert.equal(all.body.continuation_token, null)
    assert.ok(
      items.every((e) => !('code' in e)),
      'lists leave code out by default',
    )
    const withCode = (await call('GET', '/api/endpoints?include_code=true')).body.data as Array<
      Record<string, unknown>
    >
    assert.deepEqual(
      withCode.map((e) => e.code),
      names.map((name) => `code ${name}`),
    )

    const enabled = (await call('GET', '/api/endpoints?enabled=false')).body.data as Array<{ name: string }>
    assert.deepEqual(
      enabled.map((e) => e.name),
      ['b', 'd'],
    )
    const inCollection = (await call('GET', `/api/endpoints?collection_id=${collection.id}&domain=d.test`))
      .body.data as Array<{ name: string }>
    assert.deepEqual(
      inCollection.map((e) => e.name),
      ['a', 'b'],
    )
    const star = (await call('GET', '/api/endpoints?domain=*&kind=http')).body.data as Array<{ name: string }>
    assert.deepEqual(
      star.map((e) => e.name),
      ['c', 'd', 'e'],
    )

    const seen: string[] = []
    let token: string | null | undefined
    let pages = 0
    do {
      const query = token ? `limit=2&continuation_token=${encodeURIComponent(token)}` : 'limit=2'
      const page = await call('GET', `/api/endpoints?${query}`)
      assert.equal(page.status, 200)
      seen.push(...(page.body.data as Array<{ name: string }>).map((e) => e.name))
      token = page.body.continuation_token
      pages += 1
    } while (token)
    assert.deepEqual([pages, seen], [3, names])

    assertError(
      await call('GET', '/api/endpoints?continuation_token=garbage'),
      400,
      'validation_failed',
      'querystring.continuation_token',
    )
    assertError(await call('GET', '/api/endpoints?limit=0'), 400, 'validation_failed', 'querystring.limit')
    assertError(
      await call('GET', '/api/endpoints?colour=red'),
      400,
      'validation_failed',
      'querystring.colour',
    )
    assertError(
      await call('GET', '/api/endpoints?enabled=maybe'),
      400,
      'validation_failed',
      'querystring.enabled',
    )

    const collections = await call('GET', `/api/collections?domain_id=${domain.id}`)
    assert.deepEqual(
      (collections.body.data as Array<{ id: string }>).map((c) => c.id),
      [collection.id],
    )
    const ofDomain = await call('GET', `/api/domains/${domain.id}/collections`)
    assert.deepEqual(ofDomain.body.data, collections.body.data)
    assert.deepEqual((await call('GET', '/api/collections?domain_id=other')).body.data, [])
  })
})
