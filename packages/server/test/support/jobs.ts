import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { createQueueEngine, type QueueEngine, type QueueEngineOptions } from '../../src/jobs/engine/engine.ts'
import { type Db, openStore } from '../../src/store/index.ts'
import { freshPostgresUrl } from './postgres.ts'

type Cleanup = () => unknown

/**
 * One database per test. `connect()` is what a second process would use: another pool on
 * PostgreSQL; on SQLite the same handle, since edgeforge runs SQLite in one process with one
 * connection (a second connection in the same event loop would deadlock on the write lock).
 * `reopen()` closes the handle and opens the database again, as a restart does. Cleanups
 * run last-in first-out, and the database is removed only after all of them, so runners and
 * listeners stop before their database goes away.
 */
export interface TestStore {
  db: Db
  connect(): Promise<Db>
  reopen(): Promise<Db>
  defer(cleanup: Cleanup): void
}

export type Backend = [name: string, open: (t: TestContext) => Promise<TestStore | undefined>]

function cleanupStack(t: TestContext) {
  const stack: Cleanup[] = []
  t.after(async () => {
    for (const cleanup of stack.reverse()) await cleanup()
  })
  return (cleanup: Cleanup) => {
    stack.push(cleanup)
  }
}

async function storeWith(
  t: TestContext,
  options: { dataDir: string; databaseUrl?: string },
  last: Cleanup,
): Promise<TestStore> {
  const defer = cleanupStack(t)
  defer(last)
  const openOne = async () => {
    const { db } = await openStore(options)
    defer(() => db.close().catch(() => {}))
    return db
  }
  const store: TestStore = {
    db: await openOne(),
    connect: async () => (options.databaseUrl ? openOne() : store.db),
    async reopen() {
      await store.db.close()
      store.db = await openOne()
      return store.db
    },
    defer,
  }
  return store
}

export const backends: Backend[] = [
  [
    'sqlite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'edgeforge-jobs-'))
      return storeWith(t, { dataDir: dir }, () => rmSync(dir, { recursive: true, force: true }))
    },
  ],
  [
    'postgres',
    async (t) => {
      let drop: Cleanup = () => {}
      // Take the helper's drop hook so it runs after our own cleanups, not before them.
      const hooks = {
        skip: (message?: string) => t.skip(message),
        after: (fn: Cleanup) => {
          drop = fn
        },
      } as unknown as TestContext
      const url = await freshPostgresUrl(hooks)
      if (!url) return undefined
      return storeWith(t, { dataDir: '', databaseUrl: url }, () => drop())
    },
  ],
]

/** A clock the test moves by hand, so run_at arithmetic is checked without waiting. */
export function manualClock(start = Date.UTC(2030, 0, 1)) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

export function engineFor(
  store: TestStore,
  db: Db = store.db,
  options: QueueEngineOptions = {},
): QueueEngine {
  const engine = createQueueEngine(db, options)
  store.defer(() => engine.close())
  return engine
}
