import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Head, readHead } from './incoming.ts'

function head(raw: string[]): Head {
  const into: Head = { requestId: 'stale', hasBody: true }
  readHead(raw, into)
  return into
}

test('readHead finds the request id whatever its spelling', () => {
  assert.deepEqual(head(['Host', 'a', 'X-Request-ID', 'abc']), { requestId: 'abc', hasBody: false })
  assert.deepEqual(head(['x-request-id', 'abc']), { requestId: 'abc', hasBody: false })
})

test('readHead ignores a request id sent twice, as node would join them', () => {
  assert.equal(head(['x-request-id', 'a', 'X-Request-Id', 'b']).requestId, undefined)
})

test('readHead resets what an earlier request left in the shared object', () => {
  assert.deepEqual(head([]), { requestId: undefined, hasBody: false })
  assert.deepEqual(head(['x-request-ix', 'a', 'content-lengtx', '3']), {
    requestId: undefined,
    hasBody: false,
  })
})

test('readHead sees a body from content-length or transfer-encoding', () => {
  assert.equal(head(['Content-Length', '3']).hasBody, true)
  assert.equal(head(['TRANSFER-ENCODING', 'chunked']).hasBody, true)
  assert.equal(head(['content-type', 'text/plain']).hasBody, false)
})
