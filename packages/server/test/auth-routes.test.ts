import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ROUTE_SCOPES } from '../src/auth/index.ts'
import { isScopeExpression, templateNames } from '../src/auth/scopes.ts'
import { startTestServer } from './support/server.ts'

test('every control-plane route has a scope expression, and every listed one is a route', async (t) => {
  const srv = await startTestServer(t)
  const document = (await (await fetch(`${srv.controlUrl}/api/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>
  }
  const registered = new Set<string>(['GET /api/openapi.json'])
  for (const [path, operations] of Object.entries(document.paths))
    for (const method of Object.keys(operations)) {
      if (method === 'head') continue
      registered.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)
    }
  const listed = new Set(Object.keys(ROUTE_SCOPES))
  assert.deepEqual(
    [...registered].filter((route) => !listed.has(route)),
    [],
    'routes without an entry in auth/route-scopes.ts (they require *)',
  )
  assert.deepEqual(
    [...listed].filter((route) => !registered.has(route)),
    [],
    'entries for routes that do not exist',
  )

  for (const [route, { scopes, lookup }] of Object.entries(ROUTE_SCOPES)) {
    assert.ok(isScopeExpression(scopes), route)
    // A template must have a source: a path or query parameter, or the route's lookup.
    const fromPath = [...route.matchAll(/:(\w+)/g)].map((match) => match[1])
    const fromLookup =
      lookup === 'job' || lookup === 'enqueue' || lookup === 'cron-update'
        ? ['queue']
        : lookup === 'body'
          ? ['name', 'queue']
          : lookup
            ? ['name']
            : []
    const fromQuery =
      { 'GET /api/endpoints': ['name'], 'GET /jobs': ['queue'], 'GET /api/clients': ['prefix'] }[route] ?? []
    for (const name of templateNames(scopes))
      assert.ok(
        [...fromPath, ...fromLookup, ...fromQuery].includes(name),
        `${route}: <${name}> has no source`,
      )
  }
})
