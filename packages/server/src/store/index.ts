import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from './db.ts'
import { migrate } from './migrate.ts'
import { PostgresDb } from './postgres.ts'
import { SqliteDb } from './sqlite.ts'

export type { Db, Dialect, Queryable, Row, SqlValue } from './db.ts'
export { ListenConnection, type ListenOptions } from './listen.ts'
export { migrate } from './migrate.ts'

export interface StoreOptions {
  /** `postgres://…` selects PostgreSQL; empty selects SQLite in `dataDir`. */
  databaseUrl?: string
  dataDir: string
}

export interface Store {
  db: Db
  schemaVersion: number
}

/** Opens the configured database and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  let db: Db
  if (options.databaseUrl) {
    // config.ts refuses other schemes with a message for the operator; this guards other callers.
    if (!/^postgres(ql)?:\/\//.test(options.databaseUrl))
      throw new Error('openStore: databaseUrl must be postgres:// or postgresql://, or empty for SQLite')
    db = new PostgresDb(options.databaseUrl)
  } else {
    mkdirSync(options.dataDir, { recursive: true })
    db = new SqliteDb(join(options.dataDir, 'edgeforge.db'))
  }
  try {
    const schemaVersion = await migrate(db)
    return { db, schemaVersion }
  } catch (error) {
    await db.close()
    throw error
  }
}
