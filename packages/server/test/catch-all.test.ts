// Catch-all path parameters, `{*name}`: what they match, how they rank against literal segments and
// one-segment parameters, the conflicts they make, and where they are refused.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createEndpoint, deployEndpoint, expectError, lifecycle, rawRequest } from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'

/** A handler that answers which endpoint it is and the parameters it got. */
const reporter = (name: string) =>
  handlerSource(
    `export default handler((req) => Response.ok({ endpoint: ${JSON.stringify(name)}, params: req.params }))`,
  )

test('catch-all path parameters', async (t) => {
  const srv = await startTestServer(t)
  const get = async (path: string, method = 'GET') => {
    const reply = await rawRequest(srv.gatewayUrl, { path, method })
    return { status: reply.status, body: reply.body === '' ? null : JSON.parse(reply.body) }
  }

  await deployEndpoint(srv, { name: 'files', method: 'GET', path: '/files/{*rest}', code: reporter('files') })
  await deployEndpoint(srv, { name: 'file', method: 'GET', path: '/files/{id}', code: reporter('file') })

  await t.test(
    'it takes the rest of the path, slashes and escapes included, under its own name',
    async () => {
      assert.deepEqual(await get('/files/docs/a.txt'), {
        status: 200,
        body: { endpoint: 'files', params: { rest: 'docs/a.txt' } },
      })
      assert.deepEqual((await get('/files/a%20b/c')).body, { endpoint: 'files', params: { rest: 'a b/c' } })
      assert.equal((await get('/files')).status, 404, 'it needs at least one character after the prefix')
    },
  )

  await t.test('a one-segment parameter wins over it; HEAD reaches it like GET', async () => {
    assert.deepEqual((await get('/files/x')).body, { endpoint: 'file', params: { id: 'x' } })
    const head = await get('/files/x/y', 'HEAD')
    assert.deepEqual(head, { status: 200, body: null })
  })

  await t.test('/{*path} is the fallback of every path nothing else serves', async () => {
    await deployEndpoint(srv, {
      name: 'fallback',
      method: 'GET',
      path: '/{*path}',
      code: reporter('fallback'),
    })
    assert.deepEqual((await get('/no/such/page')).body, {
      endpoint: 'fallback',
      params: { path: 'no/such/page' },
    })
    assert.deepEqual((await get('/files/a/b')).body, { endpoint: 'files', params: { rest: 'a/b' } })
  })

  await t.test('one OPTIONS endpoint on /{*path} answers every CORS preflight', async () => {
    await deployEndpoint(srv, {
      name: 'preflight',
      method: 'OPTIONS',
      path: '/{*path}',
      code: handlerSource(
        `export default handler(() => Response.noContent().withCors('https://app.example.com'))`,
      ),
    })
    const reply = await rawRequest(srv.gatewayUrl, { path: '/files/a/b', method: 'OPTIONS' })
    assert.equal(reply.status, 204)
    assert.equal(reply.headers['access-control-allow-origin'], 'https://app.example.com')
  })

  await t.test('two catch-alls on the same prefix conflict, whatever their names', async () => {
    const other = await createEndpoint(srv, {
      name: 'files-again',
      method: 'GET',
      path: '/files/{*other}',
      code: reporter('again'),
    })
    expectError(await lifecycle(srv, other.id, 'deploy'), 409, 'conflict')
    assert.deepEqual((await get('/files/a/b')).body, { endpoint: 'files', params: { rest: 'a/b' } })
  })

  await t.test('a catch-all is the last segment of an endpoint path, never of a base path', async () => {
    const middle = expectError(
      await srv.api('POST', '/api/endpoints', {
        name: 'bad',
        method: 'GET',
        path: '/a/{*rest}/b',
        code: reporter('bad'),
      }),
      400,
      'validation_failed',
    )
    assert.match(middle.message, /catch-all "\{\*rest\}" before its end/)
    const domain = await srv.api<{ id: string }>('POST', '/api/domains', {
      name: 'd',
      host: 'd.example.test',
    })
    const base = expectError(
      await srv.api('POST', '/api/collections', {
        domain_id: domain.body.data.id,
        name: 'c',
        base_path: '/static/{*rest}',
      }),
      400,
      'validation_failed',
    )
    assert.match(base.message, /catch-all/)
  })
})
