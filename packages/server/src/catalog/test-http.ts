import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import pino from 'pino'
import { createControlApp } from '../http/app.ts'
import { openStore } from '../store/index.ts'
import { Catalog } from './catalog.ts'
import { catalogRoutes } from './routes.ts'
import { RecordingHooks } from './test-support.ts'

/* The control-plane shell with the catalog routes on a temp SQLite database, for route tests. */

export interface Reply {
  status: number
  body: {
    ok: boolean
    data?: unknown
    continuation_token?: string | null
    error?: { code: string; message: string; details?: { field?: string } }
  }
}

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
  const call = async (method: string, url: string, payload?: unknown, raw?: string): Promise<Reply> => {
    const response = await app.inject({
      method: method as 'GET',
      url,
      ...(raw !== undefined
        ? { payload: raw, headers: { 'content-type': 'application/json' } }
        : payload !== undefined
          ? { payload: payload as object }
          : {}),
    })
    return { status: response.statusCode, body: response.json() }
  }
  return { call, catalog, hooks }
}

/** Asserts a failure reply: status, stable code and (when given) the field it names. */
export function assertError(reply: Reply, status: number, code: string, field?: string): string {
  assert.equal(reply.status, status, JSON.stringify(reply.body))
  assert.equal(reply.body.ok, false)
  assert.equal(reply.body.error?.code, code, reply.body.error?.message)
  if (field !== undefined) assert.equal(reply.body.error?.details?.field, field, reply.body.error?.message)
  return reply.body.error?.message ?? ''
}

export function data<T = Record<string, unknown>>(reply: Reply): T {
  assert.equal(reply.body.ok, true, JSON.stringify(reply.body))
  return reply.body.data as T
}

export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
