import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { HandlerError, isHandlerError } from './errors.ts'
import { Request, type RequestInit } from './request.ts'

function makeRequest(overrides: Partial<RequestInit> = {}): Request {
  return new Request({
    method: 'GET',
    path: '/users/42',
    rawQuery: '',
    headers: {},
    params: {},
    body: new Uint8Array(0),
    clientIp: '203.0.113.7',
    requestId: 'req-1',
    ...overrides,
  })
}

function withBody(text: string, contentType?: string): Request {
  return makeRequest({
    method: 'POST',
    body: new TextEncoder().encode(text),
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  })
}

/** Runs `fn`, asserts it throws a 400 `bad_request` HandlerError and returns its message. */
function badRequestMessage(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof HandlerError, `expected a HandlerError, got ${String(error)}`)
    assert.equal(error.status, 400)
    assert.equal(error.code, 'bad_request')
    return error.message
  }
  assert.fail('expected a HandlerError to be thrown')
}

describe('Request basics', () => {
  test('exposes the init fields under camelCase names', () => {
    const req = makeRequest({ method: 'DELETE', params: { id: '42' } })
    assert.equal(req.method, 'DELETE')
    assert.equal(req.path, '/users/42')
    assert.deepEqual(req.params, { id: '42' })
    assert.equal(req.clientIp, '203.0.113.7')
    assert.equal(req.requestId, 'req-1')
  })

  test('isMethod ignores case', () => {
    const req = makeRequest({ method: 'POST' })
    assert.equal(req.isMethod('post'), true)
    assert.equal(req.isMethod('POST'), true)
    assert.equal(req.isMethod('Get'), false)
  })
})

describe('headers', () => {
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'x-api-key': 'secret',
    'set-cookie': ['a=1', 'b=2'],
    'x-absent': undefined,
  }

  test('the constructor does not walk the headers', () => {
    let walks = 0
    const watched = new Proxy(
      { 'x-api-key': 'secret' },
      {
        ownKeys(target) {
          walks++
          return Reflect.ownKeys(target)
        },
      },
    )
    const req = makeRequest({ headers: watched })
    assert.equal(walks, 0)
    assert.equal(req.header('X-Api-Key'), 'secret')
    assert.equal(walks, 0, 'a single lookup needs no view')
    assert.deepEqual(req.headers, { 'x-api-key': 'secret' })
    assert.equal(walks, 1)
  })

  test('header() looks names up case-insensitively', () => {
    const req = makeRequest({ headers })
    assert.equal(req.header('X-API-Key'), 'secret')
    assert.equal(req.header('x-api-key'), 'secret')
    assert.equal(req.header('X-Api-KEY'), 'secret')
    assert.equal(req.header('Content-Type'), 'application/json; charset=utf-8')
    assert.equal(req.header('x-missing'), undefined)
    assert.equal(req.header('x-absent'), undefined)
  })

  test('header() does not see Object.prototype members', () => {
    const req = makeRequest({ headers })
    assert.equal(req.header('constructor'), undefined)
    assert.equal(req.header('toString'), undefined)
  })

  test('header() joins repeated values with ", "', () => {
    const req = makeRequest({ headers })
    assert.equal(req.header('Set-Cookie'), 'a=1, b=2')
  })

  test('headers is a plain object with lower-case keys and joined values', () => {
    const req = makeRequest({ headers: { ...headers, 'X-Upper': 'yes' } })
    assert.deepEqual(req.headers, {
      'content-type': 'application/json; charset=utf-8',
      'x-api-key': 'secret',
      'set-cookie': 'a=1, b=2',
      'x-upper': 'yes',
    })
    assert.equal(req.header('X-UPPER'), 'yes', 'header() agrees with the view once it exists')
    assert.equal(req.headers, req.headers, 'the view is built once')
  })

  test('requireHeader names the missing header', () => {
    const req = makeRequest({ headers })
    assert.equal(req.requireHeader('X-Api-Key'), 'secret')
    assert.match(
      badRequestMessage(() => req.requireHeader('Authorization')),
      /header "Authorization"/,
    )
  })

  test('contentType, isJson and isMultipart read the media type', () => {
    assert.equal(makeRequest().contentType(), undefined)
    assert.equal(makeRequest().isJson(), false)
    const json = makeRequest({ headers: { 'content-type': 'Application/JSON; charset=utf-8' } })
    assert.equal(json.contentType(), 'Application/JSON; charset=utf-8')
    assert.equal(json.isJson(), true)
    assert.equal(json.isMultipart(), false)
    assert.equal(makeRequest({ headers: { 'content-type': 'application/problem+json' } }).isJson(), true)
    assert.equal(makeRequest({ headers: { 'content-type': 'text/json-ish' } }).isJson(), false)
    const form = makeRequest({ headers: { 'content-type': 'multipart/form-data; boundary=x' } })
    assert.equal(form.isMultipart(), true)
    assert.equal(form.isJson(), false)
  })
})

describe('query', () => {
  test('is parsed on first access, not in the constructor, and only once', (t) => {
    let parses = 0
    const Original = globalThis.URLSearchParams
    globalThis.URLSearchParams = class extends Original {
      constructor(init?: string) {
        super(init)
        parses++
      }
    }
    t.after(() => {
      globalThis.URLSearchParams = Original
    })
    const req = makeRequest({ rawQuery: 'a=1' })
    assert.equal(parses, 0)
    const query = req.query
    assert.deepEqual(query, { a: '1' })
    assert.equal(req.queryParam('a'), '1')
    assert.equal(req.query, query)
    assert.equal(parses, 1)
  })

  test('the first of repeated keys wins', () => {
    const req = makeRequest({ rawQuery: 'tag=a&tag=b&page=2&tag=c' })
    assert.deepEqual(req.query, { tag: 'a', page: '2' })
    assert.equal(req.queryParam('tag'), 'a')
  })

  test('queryParams gives every value of a repeated key in order, decoded; [] when absent', () => {
    const req = makeRequest({ rawQuery: 'tag=a&tag=b+c&page=2&tag=%C3%BC' })
    assert.deepEqual(req.queryParams('tag'), ['a', 'b c', 'ü'])
    assert.deepEqual(req.queryParams('page'), ['2'])
    assert.deepEqual(req.queryParams('missing'), [])
    assert.deepEqual(makeRequest().queryParams('tag'), [])
  })

  test('decodes percent-encoding and plus signs; empty values stay', () => {
    const req = makeRequest({ rawQuery: 'q=hello+world%21&name=J%C3%BCrgen&empty=&flag' })
    assert.deepEqual(req.query, { q: 'hello world!', name: 'Jürgen', empty: '', flag: '' })
  })

  test('an empty raw query gives an empty object', () => {
    assert.deepEqual(makeRequest().query, {})
    assert.equal(makeRequest().queryParam('x'), undefined)
  })

  test('a __proto__ key is kept as data and pollutes nothing', () => {
    const req = makeRequest({ rawQuery: '__proto__=x&constructor=y' })
    assert.equal(req.queryParam('__proto__'), 'x')
    assert.equal(req.queryParam('constructor'), 'y')
    assert.equal(Object.getPrototypeOf(req.query), Object.prototype)
    assert.equal(makeRequest().queryParam('toString'), undefined)
  })

  test('requireQueryParam names the missing parameter', () => {
    const req = makeRequest({ rawQuery: 'q=x' })
    assert.equal(req.requireQueryParam('q'), 'x')
    assert.match(
      badRequestMessage(() => req.requireQueryParam('page')),
      /query parameter "page"/,
    )
  })
})

describe('path params', () => {
  test('pathParam and requirePathParam', () => {
    const req = makeRequest({ params: { id: '42' } })
    assert.equal(req.pathParam('id'), '42')
    assert.equal(req.pathParam('slug'), undefined)
    assert.equal(req.pathParam('hasOwnProperty'), undefined)
    assert.equal(req.requirePathParam('id'), '42')
    assert.match(
      badRequestMessage(() => req.requirePathParam('slug')),
      /path parameter "slug"/,
    )
  })
})

describe('typed params', () => {
  const req = makeRequest({
    params: { id: '42', ratio: '-2.5e1', big: '9007199254740993', flag: 'Yes', word: 'abc' },
    rawQuery: 'page=3&limit=&price=19.99&draft=off&hex=0x10&inf=Infinity&float=1.5&sp=%201',
  })

  test('integer', () => {
    const id: number | undefined = req.pathParamAs('id', 'integer')
    assert.equal(id, 42)
    assert.equal(req.queryParamAs('page', 'integer'), 3)
    assert.equal(req.requirePathParamAs('id', 'integer'), 42)
    assert.match(
      badRequestMessage(() => req.queryParamAs('float', 'integer')),
      /must be an integer, got "1.5"/,
    )
    assert.match(
      badRequestMessage(() => req.pathParamAs('big', 'integer')),
      /must be an integer/,
    )
    assert.match(
      badRequestMessage(() => req.queryParamAs('hex', 'integer')),
      /must be an integer/,
    )
    assert.match(
      badRequestMessage(() => req.queryParamAs('sp', 'integer')),
      /must be an integer/,
    )
  })

  test('number', () => {
    assert.equal(req.queryParamAs('price', 'number'), 19.99)
    assert.equal(req.pathParamAs('ratio', 'number'), -25)
    assert.equal(req.requireQueryParamAs('page', 'number'), 3)
    assert.match(
      badRequestMessage(() => req.pathParamAs('word', 'number')),
      /path parameter "word" must be a number/,
    )
    assert.match(
      badRequestMessage(() => req.queryParamAs('inf', 'number')),
      /must be a number/,
    )
    assert.match(
      badRequestMessage(() => req.queryParamAs('hex', 'number')),
      /must be a number/,
    )
  })

  test('boolean', () => {
    const flag: boolean | undefined = req.pathParamAs('flag', 'boolean')
    assert.equal(flag, true)
    assert.equal(req.queryParamAs('draft', 'boolean'), false)
    const required: boolean = req.requirePathParamAs('flag', 'boolean')
    assert.equal(required, true)
    assert.match(
      badRequestMessage(() => req.pathParamAs('word', 'boolean')),
      /path parameter "word" must be a boolean, got "abc"/,
    )
  })

  test('absent or empty is undefined for the optional variants and an error for the required ones', () => {
    assert.equal(req.queryParamAs('missing', 'integer'), undefined)
    assert.equal(req.queryParamAs('limit', 'integer'), undefined)
    assert.equal(req.pathParamAs('missing', 'boolean'), undefined)
    assert.match(
      badRequestMessage(() => req.requireQueryParamAs('limit', 'integer')),
      /query parameter "limit"/,
    )
    assert.match(
      badRequestMessage(() => req.requirePathParamAs('missing', 'number')),
      /path parameter "missing"/,
    )
    assert.match(
      badRequestMessage(() => req.requireQueryParamAs('word', 'boolean')),
      /query parameter "word"/,
    )
  })

  test('an unknown type is a programming error, not a 400', () => {
    assert.throws(() => req.pathParamAs('id', 'date' as 'number'), TypeError)
  })
})

describe('body', () => {
  test('text() decodes UTF-8 and bytes() returns the body itself', () => {
    const body = new TextEncoder().encode('grüße ✓')
    const req = makeRequest({ body })
    assert.equal(req.text(), 'grüße ✓')
    assert.equal(req.bytes(), body)
  })

  test('json() parses the body', () => {
    const req = withBody('{"name":"Ada","tags":["x"]}', 'application/json')
    const parsed = req.json<{ name: string; tags: string[] }>()
    assert.deepEqual(parsed, { name: 'Ada', tags: ['x'] })
    assert.equal(withBody('42').json(), 42)
  })

  test('json() on malformed JSON throws badRequest saying so, with the parse error as cause', () => {
    const req = withBody('{"name": ', 'application/json')
    try {
      req.json()
      assert.fail('expected json() to throw')
    } catch (error) {
      assert.ok(isHandlerError(error))
      assert.equal(error.status, 400)
      assert.equal(error.code, 'bad_request')
      assert.match(error.message, /not valid JSON/)
      assert.ok(error.cause instanceof SyntaxError)
    }
  })

  test('json() on an empty body throws badRequest', () => {
    assert.match(
      badRequestMessage(() => makeRequest().json()),
      /not valid JSON: the body is empty/,
    )
  })

  test('multipart() on a request that is not multipart throws badRequest', () => {
    assert.match(
      badRequestMessage(() => withBody('{}', 'application/json').multipart()),
      /multipart\/form-data/,
    )
    assert.match(
      badRequestMessage(() => withBody('x').multipart()),
      /no content-type/,
    )
  })

  test('multipart() parses the body by the boundary in the content type, once', () => {
    const body = [
      '--XyZ',
      'Content-Disposition: form-data; name="title"',
      '',
      'Quarterly report',
      '--XyZ',
      'Content-Disposition: form-data; name="doc"; filename="q3.csv"',
      'Content-Type: text/csv',
      '',
      'a,b\n1,2',
      '--XyZ--',
      '',
    ].join('\r\n')
    const req = withBody(body, 'multipart/form-data; boundary=XyZ')
    const form = req.multipart()
    assert.equal(form.requireField('title'), 'Quarterly report')
    const doc = form.requireFile('doc')
    assert.equal(doc.filename, 'q3.csv')
    assert.equal(doc.contentType, 'text/csv')
    assert.equal(new TextDecoder().decode(doc.data), 'a,b\n1,2')
    assert.equal(req.multipart(), form)
  })
})
