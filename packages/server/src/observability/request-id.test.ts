import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newRequestId, requestIdFor } from './request-id.ts'

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('request ids are UUIDv7 carrying the time, distinct, and sort by time', () => {
  const at = Date.UTC(2026, 10, 22, 4, 30, 0, 123)
  const id = newRequestId(at)
  assert.match(id, V7)
  assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at)
  const ids = new Set<string>()
  for (let i = 0; i < 5000; i++) ids.add(newRequestId(at))
  assert.equal(ids.size, 5000, 'no repeats across pool refills')
  assert.ok(newRequestId(at) < newRequestId(at + 1))
})

test("a caller's x-request-id is kept when it is a short token, replaced otherwise", () => {
  assert.equal(requestIdFor('trace-1.a:B_2'), 'trace-1.a:B_2')
  assert.equal(requestIdFor('x'.repeat(128)), 'x'.repeat(128))
  for (const bad of [undefined, '', 'x'.repeat(129), 'has space', 'new\nline', '<script>', ['a', 'b']]) {
    assert.match(requestIdFor(bad), V7, String(bad))
  }
})
