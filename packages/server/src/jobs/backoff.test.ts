import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffDelayMs } from './backoff.ts'

test('backoff grows by factor per attempt and stops at the cap', () => {
  const backoff = { baseSeconds: 1, factor: 2, maxSeconds: 10, jitter: 0 }
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(backoff, attempt)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  )
})

test('jitter stays within ±jitter of the delay', () => {
  const backoff = { baseSeconds: 10, factor: 1, maxSeconds: 10, jitter: 0.2 }
  assert.equal(
    backoffDelayMs(backoff, 1, () => 0),
    8000,
  )
  assert.equal(
    backoffDelayMs(backoff, 1, () => 0.5),
    10_000,
  )
  assert.equal(
    backoffDelayMs(backoff, 1, () => 0.999999),
    12_000,
  )
})
