import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Response } from './response.ts'

const JSON_TYPE = 'application/json'

function parsedBody(response: Response): unknown {
  assert.equal(typeof response.body, 'string', 'a JSON body is serialized to a string')
  return JSON.parse(response.body as string)
}

describe('new Response', () => {
  test('defaults to 200, no headers and no body', () => {
    const response = new Response()
    assert.equal(response.status, 200)
    assert.deepEqual(response.headers, {})
    assert.equal(response.body, null)
    assert.equal(new Response(418).status, 418)
  })
})

describe('JSON success statics', () => {
  for (const [name, make, status] of [
    ['ok', Response.ok, 200],
    ['created', Response.created, 201],
    ['accepted', Response.accepted, 202],
  ] as const) {
    test(`${name}(body) is ${status} with a JSON body serialized once`, () => {
      const payload = { id: 7, tags: ['a'], nested: { yes: true } }
      const response = make(payload)
      assert.equal(response.status, status)
      assert.deepEqual(response.headers, { 'content-type': JSON_TYPE })
      assert.equal(response.body, '{"id":7,"tags":["a"],"nested":{"yes":true}}')
      payload.id = 8
      assert.deepEqual(parsedBody(response), { id: 7, tags: ['a'], nested: { yes: true } })
    })

    test(`${name}() without a body is ${status} and empty`, () => {
      const response = make()
      assert.equal(response.status, status)
      assert.deepEqual(response.headers, {})
      assert.equal(response.body, null)
    })
  }

  test('falsy JSON values are still bodies', () => {
    assert.equal(Response.ok(null).body, 'null')
    assert.equal(Response.ok(0).body, '0')
    assert.equal(Response.ok(false).body, 'false')
    assert.equal(Response.ok('').body, '""')
  })

  test('noContent is 204 with nothing', () => {
    const response = Response.noContent()
    assert.equal(response.status, 204)
    assert.deepEqual(response.headers, {})
    assert.equal(response.body, null)
  })

  test('json(status, body) uses the given status', () => {
    const response = Response.json(207, [1, 2])
    assert.equal(response.status, 207)
    assert.equal(response.headers['content-type'], JSON_TYPE)
    assert.equal(response.body, '[1,2]')
  })

  test('a value JSON cannot represent throws, and so does a cycle', () => {
    assert.throws(() => Response.json(200, () => 1), TypeError)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.throws(() => Response.ok(cyclic), TypeError)
  })
})

describe('error statics', () => {
  const cases = [
    ['badRequest', Response.badRequest, 400, 'bad_request', 'Bad request'],
    ['unauthorized', Response.unauthorized, 401, 'unauthorized', 'Unauthorized'],
    ['forbidden', Response.forbidden, 403, 'forbidden', 'Forbidden'],
    ['notFound', Response.notFound, 404, 'not_found', 'Not found'],
    ['conflict', Response.conflict, 409, 'conflict', 'Conflict'],
    ['internalError', Response.internalError, 500, 'internal', 'Internal server error'],
    ['serviceUnavailable', Response.serviceUnavailable, 503, 'service_unavailable', 'Service unavailable'],
  ] as const
  for (const [name, make, status, code, defaultMessage] of cases) {
    test(`${name} is ${status} with code ${code}`, () => {
      const response = make(`custom ${name} "message"`)
      assert.equal(response.status, status)
      assert.deepEqual(response.headers, { 'content-type': JSON_TYPE })
      assert.equal(response.body, JSON.stringify({ error: { code, message: `custom ${name} "message"` } }))
      assert.deepEqual(parsedBody(make()), { error: { code, message: defaultMessage } })
    })
  }
})

describe('other content types', () => {
  test('text', () => {
    const response = Response.text(201, 'plain ✓')
    assert.equal(response.status, 201)
    assert.deepEqual(response.headers, { 'content-type': 'text/plain; charset=utf-8' })
    assert.equal(response.body, 'plain ✓')
  })

  test('html', () => {
    const response = Response.html(200, '<h1>Hi</h1>')
    assert.equal(response.status, 200)
    assert.deepEqual(response.headers, { 'content-type': 'text/html; charset=utf-8' })
    assert.equal(response.body, '<h1>Hi</h1>')
  })

  test('binary keeps the bytes and defaults to octet-stream', () => {
    const bytes = new Uint8Array([0, 1, 255])
    const response = Response.binary(200, bytes)
    assert.equal(response.status, 200)
    assert.deepEqual(response.headers, { 'content-type': 'application/octet-stream' })
    assert.equal(response.body, bytes)
    assert.equal(Response.binary(206, bytes, 'image/png').headers['content-type'], 'image/png')
    assert.equal(Response.binary(206, bytes, 'image/png').status, 206)
  })

  test('redirect sets location, defaults to 302 and refuses non-3xx statuses', () => {
    const found = Response.redirect('/login')
    assert.equal(found.status, 302)
    assert.deepEqual(found.headers, { location: '/login' })
    assert.equal(found.body, null)
    assert.equal(Response.redirect('https://example.com/', 301).status, 301)
    assert.throws(() => Response.redirect('/x', 200), RangeError)
    assert.throws(() => Response.redirect('/x', 404), RangeError)
  })
})

describe('builders', () => {
  test('withHeader lower-cases the name, overwrites, and chains', () => {
    const response = Response.ok({ a: 1 }).withHeader('X-Total-Count', '3').withHeader('x-total-count', '4')
    assert.ok(response instanceof Response)
    assert.deepEqual(response.headers, { 'content-type': JSON_TYPE, 'x-total-count': '4' })
    assert.equal(Response.ok().withHeader('Content-Type', 'text/csv').headers['content-type'], 'text/csv')
  })

  test('withBody replaces the body and keeps the headers', () => {
    const csv = new Response(200).withHeader('Content-Type', 'text/csv').withBody('id\n1\n')
    assert.equal(csv.body, 'id\n1\n')
    assert.deepEqual(csv.headers, { 'content-type': 'text/csv' })
    const bytes = new Uint8Array([1, 2])
    assert.equal(csv.withBody(bytes).body, bytes)
  })

  test('withCors defaults to any origin', () => {
    const response = Response.noContent().withCors()
    assert.equal(response.headers['access-control-allow-origin'], '*')
    assert.match(response.headers['access-control-allow-methods'], /GET.*POST.*PUT.*PATCH.*DELETE.*OPTIONS/)
    assert.match(response.headers['access-control-allow-headers'], /Content-Type/i)
    assert.match(response.headers['access-control-allow-headers'], /Authorization/i)
    assert.equal(response.headers.vary, undefined)
  })

  test('withCors with an origin varies on origin without duplicating it', () => {
    const response = Response.ok({}).withHeader('Vary', 'Accept').withCors('https://app.example.com')
    assert.equal(response.headers['access-control-allow-origin'], 'https://app.example.com')
    assert.equal(response.headers.vary, 'Accept, origin')
    assert.equal(response.withCors('https://app.example.com').headers.vary, 'Accept, origin')
    assert.equal(Response.ok({}).withCors('https://a.example').headers.vary, 'origin')
  })

  test('withCache', () => {
    assert.equal(Response.ok({}).withCache(3600).headers['cache-control'], 'public, max-age=3600')
    assert.equal(Response.ok({}).withCache(0).headers['cache-control'], 'no-store')
    assert.equal(Response.ok({}).withCache(90.7).headers['cache-control'], 'public, max-age=90')
    assert.throws(() => Response.ok({}).withCache(-1), RangeError)
    assert.throws(() => Response.ok({}).withCache(Number.NaN), RangeError)
  })
})
