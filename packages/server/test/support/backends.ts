import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { type Db, openStore } from '../../src/store/index.ts'
import { freshPostgresUrl } from './postgres.ts'

/**
 * The two stores a suite runs on: each opens a fresh, migrated database per test and closes it
 * when the test ends. PostgreSQL returns undefined when it is skipped (see freshPostgresUrl).
 */
export const backends: Array<[string, (t: TestContext) => Promise<Db | undefined>]> = [
  [
    'sqlite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'edgeforge-store-'))
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
