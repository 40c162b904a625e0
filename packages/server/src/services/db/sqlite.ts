import { existsSync, mkdirSync } from 'node:fs'
import { dirname, isAbsolute, join, normalize, sep } from 'node:path'
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { ACTOR_FIELDS, bool, type ServiceKind, str } from '../kind.ts'
import { sqlOperations } from './params.ts'

/**
 * `sqlite`: a database file under `<data dir>/services/sqlite/`. node:sqlite is synchronous and
 * SQLite has one writer, so the pool is one connection: operations queue in the actor instead of
 * fighting over the file lock.
 */
export const sqliteKind: ServiceKind<DatabaseSync> = {
  type: 'sqlite',
  family: 'database',
  defaultPoolSize: 1,
  maxPoolSize: 1,
  fields: [
    {
      name: 'path',
      type: 'string',
      required: true,
      help: 'File name under <data dir>/services/sqlite/ (relative, no "..")',
    },
    {
      name: 'create_if_missing',
      type: 'boolean',
      default: true,
      help: 'Create the file when it does not exist',
    },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config, env) {
    const file = sqlitePath(env.dataDir, str(config, 'path'))
    const create = bool(config, 'create_if_missing')
    return {
      async connect() {
        if (create) mkdirSync(dirname(file), { recursive: true })
        else if (!existsSync(file)) throw new Error(`no database file ${file} (create_if_missing is false)`)
        const db = new DatabaseSync(file)
        db.exec('PRAGMA busy_timeout = 5000')
        return db
      },
      async close(db) {
        if (db.isOpen) db.close()
      },
      isConnectionError: () => false,
    }
  },
  operations: sqlOperations<DatabaseSync>({
    async query(db, sql, params) {
      return db.prepare(sql).all(...params.map(toSqlite)) as Record<string, unknown>[]
    },
    async execute(db, sql, params) {
      const result = db.prepare(sql).run(...params.map(toSqlite))
      return { rowsAffected: Number(result.changes), insertId: Number(result.lastInsertRowid) }
    },
  }),
  async ping(db) {
    db.prepare('SELECT 1').get()
  },
  transactions: {
    async begin(db) {
      db.exec('BEGIN IMMEDIATE')
    },
    async commit(db) {
      db.exec('COMMIT')
    },
    async rollback(db) {
      if (db.isTransaction) db.exec('ROLLBACK')
    },
  },
}

/** Where a sqlite service's file lives; refuses paths that leave the folder. */
export function sqlitePath(dataDir: string, path: string): string {
  const clean = normalize(path)
  if (path === '' || isAbsolute(path) || clean.startsWith('..') || clean.split(sep).includes('..'))
    throw new RangeError('path must be a relative file name without ".."')
  return join(dataDir, 'services', 'sqlite', clean)
}

function toSqlite(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.toISOString()
  if (value === undefined) return null
  return value as SQLInputValue
}
