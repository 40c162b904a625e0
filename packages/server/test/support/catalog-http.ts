import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import pino from 'pino'
import { Catalog } from '../../src/catalog/catalog.ts'
import { catalogRoutes } from '../../src/catalog/routes.ts'
import { createControlApp } from '../../src/http/app.ts'
import { openStore } from '../../src/store/index.ts'
import { RecordingHooks } from './catalog.ts'
import type { ApiReply } from './server.ts'

/* The control-plane shell with the catalog routes on a temp SQLite database, for route tests. */

export async function serve(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-catalog-routes-'))
  const { db } = await openStore({ dataDir: dir })
  const hooks = new RecordingHooks()
  const catalog = new Catalog(db, hooks)
  const app = await createControlApp({ logger: pino({ level: 'silent' }), adminToken: '', version: 'test' })
  catalogRoutes(app, catalog)
  await app.ready()
  t.after(async () => {
    await app.close()
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const call = async (method: string, url: string, payload?: unknown, raw?: string): Promise<ApiReply> => {
    const response = await app.inject({
      method: method as 'GET',
      url,
      ...(raw !== undefined
        ? { payload: raw, headers: { 'content-type': 'application/json' } }
        : payload !== undefined
          ? { payload: payload as object }
          : {}),
    })
    const headers = new Headers()
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value))
    }
    return { status: response.statusCode, body: response.json(), headers }
  }
  return { call, catalog, hooks }
}

/** Asserts a failure reply: status, stable code and (when given) the field it names. */
export function assertError(reply: ApiReply, status: number, code: string, field?: string): string {
  assert.equal(reply.status, status, JSON.stringify(reply.body))
  assert.equal(reply.body.ok, false)
  assert.equal(reply.body.error?.code, code, reply.body.error?.message)
  if (field !== undefined) {
    const details = reply.body.error?.details as { field?: string } | undefined
    assert.equal(details?.field, field, reply.body.error?.message)
  }
  return reply.body.error?.message ?? ''
}

export function data<T = Record<string, unknown>>(reply: ApiReply): T {
  assert.equal(reply.body.ok, true, JSON.stringify(reply.body))
  return reply.body.data as T
}

export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
