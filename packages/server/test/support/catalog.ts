import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { ApiError, type ErrorCode } from '@edgeforge/protocol'
import { Catalog } from '../../src/catalog/catalog.ts'
import { type CatalogHooks, type Route, sameRoute } from '../../src/catalog/records.ts'
import type { Db } from '../../src/store/index.ts'

/** A catalog over a fresh database with recording hooks; undefined when the backend is skipped. */
export async function openCatalog(open: (t: TestContext) => Promise<Db | undefined>, t: TestContext) {
  const db = await open(t)
  if (!db) return undefined
  const hooks = new RecordingHooks()
  const catalog = new Catalog(db, hooks, { timeoutMs: 5000 })
  return { db, hooks, catalog }
}

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
