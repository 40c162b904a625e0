import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  describeExpression,
  fillTemplates,
  hasScope,
  intersectScopes,
  isScopeExpression,
  isValidScope,
  normalizeScopes,
  satisfies,
  scopeCovers,
  scopesNotCovered,
  templateNames,
  unsatisfied,
} from './scopes.ts'

test('the * suffix rule: a trailing * covers any suffix, a * elsewhere is a character', () => {
  assert.equal(scopeCovers('endpoints:deploy:hello', 'endpoints:deploy:hello'), true)
  assert.equal(scopeCovers('endpoints:deploy:*', 'endpoints:deploy:hello'), true)
  assert.equal(scopeCovers('endpoints:deploy:*', 'endpoints:deploy:'), true)
  assert.equal(scopeCovers('endpoints:*', 'endpoints:deploy:hello'), true)
  assert.equal(scopeCovers('*', 'anything:at:all'), true)
  assert.equal(scopeCovers('endpoints:deploy:hel*', 'endpoints:deploy:hello'), true)
  assert.equal(scopeCovers('endpoints:deploy:hello', 'endpoints:deploy:hello2'), false)
  assert.equal(scopeCovers('endpoints:deploy:hello', 'endpoints:deploy:hell'), false)
  assert.equal(scopeCovers('endpoints:deploy', 'endpoints:deploy:hello'), false)
  assert.equal(scopeCovers('endpoints:*:hello', 'endpoints:deploy:hello'), false, 'a middle * is literal')
  assert.equal(scopeCovers('endpoints:*:hello', 'endpoints:*:hello'), true)
  // A required scope ending in * needs a held scope that covers it as a string.
  assert.equal(scopeCovers('endpoints:read:hello', 'endpoints:read:*'), false)
  assert.equal(scopeCovers('endpoints:read:*', 'endpoints:read:*'), true)
  assert.equal(hasScope([], 'a'), false)
  assert.equal(hasScope(['b', 'a*'], 'abc'), true)
})

test('AllOf needs every member, AnyOf one; nesting works; empty AllOf is anyone, empty AnyOf nobody', () => {
  const held = ['endpoints:deploy:hello', 'jobs:create:*']
  assert.equal(satisfies(held, { AllOf: ['endpoints:deploy:hello', 'jobs:create:emails'] }), true)
  assert.equal(satisfies(held, { AllOf: ['endpoints:deploy:hello', 'endpoints:deploy:other'] }), false)
  assert.equal(satisfies(held, { AnyOf: ['endpoints:deploy:other', 'jobs:create:x'] }), true)
  assert.equal(satisfies(held, { AnyOf: ['endpoints:deploy:other', 'queues:read'] }), false)
  assert.equal(
    satisfies(held, { AllOf: ['jobs:create:a', { AnyOf: ['nope', { AllOf: ['endpoints:deploy:hello'] }] }] }),
    true,
  )
  assert.equal(satisfies([], { AllOf: [] }), true)
  assert.equal(satisfies(['*'], { AnyOf: [] }), false)
})

test('unsatisfied names only what is missing', () => {
  const held = ['a', 'b:*']
  assert.equal(unsatisfied(held, { AllOf: ['a', 'b:x'] }), undefined)
  assert.equal(unsatisfied(held, { AllOf: ['a', 'c', 'b:x'] }), 'c')
  assert.deepEqual(unsatisfied(held, { AllOf: ['c', 'd', 'a'] }), { AllOf: ['c', 'd'] })
  assert.deepEqual(unsatisfied(held, { AnyOf: ['c', 'd'] }), { AnyOf: ['c', 'd'] })
  assert.equal(unsatisfied(held, 'z'), 'z')
  assert.equal(describeExpression({ AllOf: ['c', { AnyOf: ['d', 'e'] }] }), 'c and (d or e)')
})

test('templates are filled from params; a list becomes an AllOf; an absent param only a * above it covers', () => {
  assert.equal(fillTemplates('endpoints:deploy:<name>', { name: 'hello' }), 'endpoints:deploy:hello')
  assert.deepEqual(fillTemplates({ AnyOf: ['x:<a>:<b>', 'y'] }, { a: '1', b: '2' }), {
    AnyOf: ['x:1:2', 'y'],
  })
  assert.deepEqual(fillTemplates('jobs:create:<queue>', { queue: ['emails', 'sms', 'emails'] }), {
    AllOf: ['jobs:create:emails', 'jobs:create:sms'],
  })
  const unresolved = fillTemplates('endpoints:deploy:<name>', {})
  assert.equal(unresolved, 'endpoints:deploy:*')
  assert.equal(satisfies(['endpoints:deploy:hello'], unresolved), false)
  assert.equal(satisfies(['endpoints:deploy:'], unresolved), false)
  assert.equal(satisfies(['endpoints:deploy:h*'], unresolved), false)
  assert.equal(satisfies(['endpoints:deploy:*'], unresolved), true)
  assert.equal(satisfies(['*'], unresolved), true)
  assert.deepEqual(templateNames({ AllOf: ['a:<x>', { AnyOf: ['b:<y>:<x>'] }] }), ['x', 'y'])
})

test('scope strings, expressions, normalizing, intersecting', () => {
  assert.equal(isValidScope('endpoints:deploy:ci/hello'), true)
  assert.equal(isValidScope('has space'), false)
  assert.equal(isValidScope(''), false)
  assert.equal(isValidScope('x'.repeat(257)), false)
  assert.equal(isScopeExpression({ AllOf: ['a', { AnyOf: [] }] }), true)
  assert.equal(isScopeExpression({ AllOf: ['a'], AnyOf: [] }), false)
  assert.equal(isScopeExpression({ OneOf: ['a'] }), false)
  assert.deepEqual(normalizeScopes(['b', 'a:*', 'a:x', 'b']), ['a:*', 'b'])
  assert.deepEqual(scopesNotCovered(['jobs:*'], ['jobs:create:a', 'queues:read']), ['queues:read'])
  assert.deepEqual(intersectScopes(['jobs:create:a', 'queues:*'], ['jobs:*', 'queues:read', 'x']), [
    'jobs:create:a',
    'queues:read',
  ])
})
