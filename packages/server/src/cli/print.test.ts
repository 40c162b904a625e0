import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clip } from './print.ts'

test('clip keeps short one-line text as it is', () => {
  assert.equal(clip('no route', 20), 'no route')
  assert.equal(clip('x'.repeat(20), 20), 'x'.repeat(20))
})

test('clip cuts after a whole word and adds an ellipsis, within the width', () => {
  const message = "hello.ts:7:7: TS2322 Type 'string' is not assignable to type 'number'."
  for (let max = 20; max < message.length; max += 1) {
    const cut = clip(message, max)
    assert.ok(cut.length <= max, `${max}: ${cut}`)
    assert.ok(cut.endsWith('…'), cut)
    const kept = cut.slice(0, -1)
    assert.ok(message.startsWith(kept) && message[kept.length] === ' ', `${max}: "${cut}" cuts mid-word`)
  }
  assert.equal(clip('compile failed: bundle error', 23), 'compile failed: bundle…')
  assert.equal(clip('compile failed: bundle error', 22), 'compile failed:…')
})

test('clip shows that lines were left out, and cuts one long word rather than show nothing', () => {
  assert.equal(clip('first line\nsecond line', 30), 'first line…')
  assert.equal(clip(`/${'a'.repeat(40)}`, 10), `/${'a'.repeat(8)}…`)
})
