import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from './db.ts'

const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations')
// Any constant works; it only has to be the same in every edgeforge process.
const PG_MIGRATION_LOCK = 7_245_019_331

export interface Migration {
  version: number
  name: string
  sql: string
}

export function listMigrations(dialect: Db['dialect']): Migration[] {
  const dir = join(MIGRATIONS_DIR, dialect)
  const migrations = readdirSync(dir)
    .filter((file) => /^\d{4}_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(join(dir, file), 'utf8'),
    }))
  // Two branches that each add "the next" migration land with one number twice; the second would
  // be skipped on a database that has the first, so refuse to run at all.
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) {
      throw new Error(
        `two ${dialect} migrations share version ${migrations[i].version}: ${migrations[i - 1].name}, ${migrations[i].name}`,
      )
    }
  }
  return migrations
}

/**
 * Applies every migration newer than the database's schema version, each in its own
 * transaction, and returns the version the schema is at. On PostgreSQL an advisory lock makes
 * processes that boot together take turns.
 */
export async function migrate(db: Db): Promise<number> {
  if (db.dialect === 'postgres') await db.exec(`SELECT pg_advisory_lock(${PG_MIGRATION_LOCK})`)
  try {
    await db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    )
    const applied = new Set(
      (await db.all<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => row.version),
    )
    let current = Math.max(0, ...applied)
    for (const migration of listMigrations(db.dialect)) {
      if (applied.has(migration.version)) continue
      await db.transaction(async (tx) => {
        for (const statement of splitStatements(migration.sql)) await tx.run(statement)
        await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
          migration.version,
          migration.name,
          Date.now(),
        ])
      })
      current = Math.max(current, migration.version)
    }
    return current
  } finally {
    if (db.dialect === 'postgres') await db.exec(`SELECT pg_advisory_unlock(${PG_MIGRATION_LOCK})`)
  }
}

/** Splits a migration file on `;` at line ends; migrations keep one statement per `;`. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean)
}
