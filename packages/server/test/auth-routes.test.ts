import assert from 'node:assert/strict'
import { test } from 'node:test'
import { OPERATIONS, pathParams } from '@edgeforge/protocol'
import { LOOKUP_PROVIDES, SCOPE_LOOKUPS } from '../src/auth/index.ts'
import { isScopeExpression, templateNames } from '../src/auth/scopes.ts'

test('every declared scope expression is well formed and each <param> has a source', () => {
  const names = new Set(OPERATIONS.map((operation) => operation.name))
  assert.deepEqual(
    Object.keys(SCOPE_LOOKUPS).filter((name) => !names.has(name)),
    [],
    'lookups for operations that are not declared',
  )
  for (const operation of OPERATIONS) {
    assert.ok(isScopeExpression(operation.scopes), `${operation.name}: not a scope expression`)
    const lookup = SCOPE_LOOKUPS[operation.name]
    const query = Object.keys((operation.query as { properties?: object } | undefined)?.properties ?? {})
    const sources = [...pathParams(operation.path), ...query, ...(lookup ? LOOKUP_PROVIDES[lookup] : [])]
    for (const name of templateNames(operation.scopes))
      assert.ok(sources.includes(name), `${operation.name}: <${name}> has no source (path, query or lookup)`)
  }
})
