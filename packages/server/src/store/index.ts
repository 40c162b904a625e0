import { chmodSync, closeSync, mkdirSync, openSync, type Stats, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from './db.ts'
import { StoreOpenError } from './errors.ts'
import { migrate } from './migrate.ts'
import { PostgresDb } from './postgres.ts'
import { SqliteDb } from './sqlite.ts'

export type { Db, Dialect, Queryable, Row, SqlValue } from './db.ts'
export { STORE_RETRY_AFTER_SECONDS, StoreOpenError, StoreUnavailableError, storeError } from './errors.ts'
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
    // The data dir still holds compiled dependencies; callers with no local files pass ''.
    if (options.dataDir) prepareDataDir(options.dataDir)
    db = new PostgresDb(options.databaseUrl)
  } else {
    prepareDataDir(options.dataDir)
    const path = join(options.dataDir, 'edgeforge.db')
    try {
      ownerOnlyFile(path)
      db = new SqliteDb(path)
    } catch (error) {
      throw new StoreOpenError(`cannot open the SQLite database ${path}: ${osMessage(error)}`, error)
    }
  }
  try {
    const schemaVersion = await migrate(db)
    return { db, schemaVersion }
  } catch (error) {
    await db.close()
    throw error
  }
}

/**
 * The data dir holds the database, compiled handlers and the dependency cache: the server user's
 * alone (0700), whatever the umask. One that exists with wider bits is narrowed; if we may not
 * (not our directory), the files inside are still 0600.
 */
function prepareDataDir(dataDir: string): void {
  let existing: Stats | undefined
  try {
    existing = statSync(dataDir, { throwIfNoEntry: false })
  } catch (error) {
    throw new StoreOpenError(`cannot use the data dir ${dataDir}: ${osMessage(error)}`, error)
  }
  // A sticky, shared directory (/tmp, /var/tmp, /dev/shm) is everyone's: narrowing it to 0700
  // would lock every other user and service out of it.
  if (existing?.isDirectory() && (existing.mode & 0o1000) !== 0)
    throw new StoreOpenError(
      `the data dir ${dataDir} is a shared directory (sticky bit set, like /tmp); give edgeforge one of its own, such as ${join(dataDir, 'edgeforge')}`,
      undefined,
    )
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    chmodSync(dataDir, 0o700)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return
    throw new StoreOpenError(`cannot use the data dir ${dataDir}: ${osMessage(error)}`, error)
  }
}

/** `ENOTDIR: not a directory, mkdir '/x'` for an OS error; SQLite's own text for its errors. */
function osMessage(error: unknown): string {
  const { errstr, message } = error as { errstr?: unknown; message?: unknown }
  if (typeof errstr === 'string' && typeof message === 'string' && message !== errstr)
    return `${message} (${errstr})`
  return String(message ?? error)
}

/**
 * Creates the database file 0600 before SQLite opens it, and narrows one an older server left
 * readable: SQLite gives its -wal and -shm files the main file's mode, so they follow.
 */
function ownerOnlyFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600))
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}
