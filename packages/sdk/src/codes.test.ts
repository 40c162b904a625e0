import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ERROR_STATUS } from '@edgeforge/protocol'
import { SDK_ERROR_STATUS } from './codes.ts'

test('every SDK error code exists in the protocol registry with the same status', () => {
  for (const [code, status] of Object.entries(SDK_ERROR_STATUS)) {
    assert.equal((ERROR_STATUS as Record<string, number>)[code], status, `code ${code}`)
  }
})
