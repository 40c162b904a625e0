import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import {
  ERROR_STATUS,
  errorsOf,
  isErrorCode,
  OPERATIONS,
  pathParams,
  type ScopeExpression,
} from '@edgeforge/protocol'
import { generatedApiFiles } from '../../../scripts/api-docs.ts'
import { startTestServer } from './support/server.ts'

// Issue 11, "one declaration per route": the server registers exactly the declared routes, every
// declared code is in the registry, and the generated documents match the declarations.

test('the routes the control plane registers are exactly the declared operations', async (t) => {
  const srv = await startTestServer(t)
  const registered = srv.server.controlRoutes
    .filter((route) => route.method !== 'HEAD')
    .map((route) => `${route.method} ${route.url}`)
    .sort()
  const declared = OPERATIONS.map(
    (operation) => `${operation.method} ${operation.path.replaceAll(/\{(\w+)\}/g, ':$1')}`,
  ).sort()
  assert.deepEqual(registered, declared)
  for (const route of srv.server.controlRoutes.filter((one) => one.method !== 'HEAD')) {
    assert.ok(route.operation, `${route.method} ${route.url} is bound to a declaration`)
  }
  // What the server serves is the committed document.
  const served = await (await fetch(`${srv.controlUrl}/api/openapi.json`)).json()
  const committed = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'openapi.json'), 'utf8'),
  )
  assert.deepEqual(served, committed)
})

test('declarations are well formed: unique names, codes from the registry, params that match the path', () => {
  const names = new Set<string>()
  const routes = new Set<string>()
  const clientNames = new Set<string>()
  for (const operation of OPERATIONS) {
    // One client name per operation, and no two operations with the same one.
    const clientName = `${operation.client.group}.${operation.client.method}`
    assert.match(operation.client.method, /^[a-z][A-Za-z]+$/, `${operation.name}: camelCase client method`)
    assert.ok(!clientNames.has(clientName), `${clientName} names one operation`)
    clientNames.add(clientName)
    // A list of another resource under this one names it: list<Other>.
    if (operation.client.method.startsWith('list') && operation.client.method !== 'list')
      assert.match(operation.client.method, /^list[A-Z]/, `${operation.name}: list<Other>`)
    assert.match(operation.name, /^[a-z][A-Za-z]+$/, 'camelCase operation names')
    assert.ok(!names.has(operation.name), `${operation.name} is declared once`)
    names.add(operation.name)
    const route = `${operation.method} ${operation.path}`
    assert.ok(!routes.has(route), `${route} is declared once`)
    routes.add(route)
    for (const code of errorsOf(operation))
      assert.ok(isErrorCode(code), `${operation.name}: ${code} is in the registry`)
    for (const status of Object.keys(operation.responses)) {
      assert.ok(
        Number(status) >= 200 && Number(status) < 300,
        `${operation.name}: responses are the successes`,
      )
    }
    const declaredParams = Object.keys(
      (operation.params as { properties?: Record<string, unknown> } | undefined)?.properties ?? {},
    )
    assert.deepEqual(declaredParams.sort(), pathParams(operation.path).sort(), `${operation.name}: params`)
    assert.ok(operation.summary.length > 0 && operation.scopes, `${operation.name}: summary and scopes`)
  }
  assert.ok(Object.keys(ERROR_STATUS).length > 0)
})

const RESOURCES = new Set([
  'domains',
  'collections',
  'endpoints',
  'jobs',
  'queues',
  'cron',
  'workers',
  'services',
  'storage',
  'system',
  'clients',
  'artifacts',
  'events',
])
const VERBS = new Set([
  'read',
  'create',
  'update',
  'delete',
  'deploy',
  'stop',
  'logs',
  'retry',
  'cancel',
  'configure',
  'trigger',
  'drain',
  'disconnect',
  'activate',
  'deactivate',
  'test',
  'upload',
  'reset',
  'enable',
  'disable',
  'input',
  'work',
])

function scopesOf(expression: ScopeExpression): string[] {
  if (typeof expression === 'string') return [expression]
  return ('AllOf' in expression ? expression.AllOf : expression.AnyOf).flatMap(scopesOf)
}

test('every declared scope is <resource>:<verb>:<target> (docs/api.md, "Scopes")', () => {
  for (const operation of OPERATIONS) {
    const scopes = scopesOf(operation.scopes)
    if (scopes.length === 0) {
      assert.ok(
        ['health', 'openApi', 'currentScopes'].includes(operation.name),
        `${operation.name} needs a scope`,
      )
      continue
    }
    for (const scope of scopes) {
      const [resource, verb, target, ...rest] = scope.split(':')
      assert.ok(RESOURCES.has(resource), `${operation.name}: ${scope}: resource ${resource}`)
      assert.ok(VERBS.has(verb), `${operation.name}: ${scope}: verb ${verb}`)
      assert.ok(target && rest.length === 0, `${operation.name}: ${scope} has three parts`)
      if (operation.method === 'GET')
        assert.ok(verb === 'read' || verb === 'logs' || verb === 'work', `${operation.name}: a GET reads`)
      // An endpoint is named by its name, never its id.
      if (resource === 'endpoints') assert.notEqual(target, '<id>', `${operation.name}: ${scope}`)
    }
    if (operation.client.method === 'list' && typeof operation.scopes === 'string')
      assert.ok(/:(\*|<\w+>\*?)$/.test(operation.scopes), `${operation.name}: a list needs * or its filter`)
  }
})

test('docs/openapi.json and the route table in docs/api.md are what npm run gen:api generates', () => {
  for (const file of generatedApiFiles()) {
    const committed = readFileSync(file.path, 'utf8')
    assert.ok(
      committed === file.text,
      `${relative(process.cwd(), file.path)} differs from the route declarations: run npm run gen:api and commit it`,
    )
  }
})
