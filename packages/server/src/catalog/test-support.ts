import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { ApiError, type ErrorCode } from '@edgeforge/protocol'
import { freshPostgresUrl } from '../../test/support/postgres.ts'
import { type Db, openStore } from '../store/index.ts'
import { type CatalogHooks, type Route, sameRoute } from './records.ts'

/** Opens a fresh database per test; PostgreSQL returns undefined when skipped. */
export const backends: Array<[string, (t: TestContext) => Promise<Db | undefined>]> = [
  [
    'sqlite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'edgeforge-catalog-'))
      const { db } = await openStore({ dataDir: dir })
      t.after(async () => {
        await db.close()
        rmSync(dir, { recursive: true, force: true })
      })
      return db
    },
  ],
  [
    'postgres',
    async (t) => {
      const url = await freshPostgresUrl(t)
      if (!url) return undefined
      const { db } = await openStore({ dataDir: '', databaseUrl: url })
      t.after(() => db.close())
      return db
    },
  ],
]

/**
 * Hooks that record what the catalog reports and refuse the routes listed in `busy`, as the
 * gateway would when another running endpoint serves them.
 */
export class RecordingHooks implements CatalogHooks {
  readonly changes: Array<{ updated: string[]; removed: string[] }> = []
  readonly asked: Array<{ endpointId: string; route: Route }> = []
  busy: Route[] = []

  assertRouteFree(endpointId: string, route: Route): void {
    this.asked.push({ endpointId, route })
    if (this.busy.some((taken) => sameRoute(taken, route))) {
      throw new ApiError(
        'conflict',
        `${route.method} ${route.host}${route.path} is served by another running endpoint`,
      )
    }
  }

  async endpointsChanged(change: { updated: string[]; removed: string[] }): Promise<void> {
    this.changes.push({ updated: [...change.updated].sort(), removed: [...change.removed].sort() })
  }
}

/** Asserts that `promise` rejects with an ApiError of `code` (and, when given, `details.field`). */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  field?: string,
): Promise<ApiError> {
  let caught: unknown
  try {
    await promise
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  if (field !== undefined)
    assert.equal((caught.details as { field?: string } | undefined)?.field, field, caught.message)
  return caught
}
