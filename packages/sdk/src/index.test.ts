import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as sdk from './index.ts'

test('the package exports exactly its public values', () => {
  assert.deepEqual(Object.keys(sdk).sort(), [
    'HandlerError',
    'Multipart',
    'Request',
    'Response',
    'ServiceError',
    'UnrecoverableError',
    'handler',
    'isHandlerDefinition',
    'isHandlerError',
    'isJobDefinition',
    'isServiceError',
    'isUnrecoverableError',
    'job',
  ])
})

test('the package resolves by its name to the same module', async () => {
  const byName = await import('@edgeforge/sdk')
  assert.equal(byName.Response, sdk.Response)
  assert.equal(byName.HandlerError, sdk.HandlerError)
})
