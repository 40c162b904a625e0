import { statSync } from 'node:fs'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import type { Db, Queryable, Row, SqlValue } from './db.ts'
import { storeError } from './errors.ts'

/**
 * SQLite through the built-in `node:sqlite`. One connection, WAL journal. The driver is
 * synchronous underneath; an async lock keeps a transaction's statements from interleaving with
 * other callers' statements across the awaits inside it.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const
  readonly path: string
  private readonly db: DatabaseSync
  private readonly statements = new Map<string, StatementSync>()
  /** The same SQL prepared to return each row as an array of its columns (see valuesSync). */
  private readonly arrayStatements = new Map<string, StatementSync>()
  private lock: Promise<void> = Promise.resolve()
  private locked = false
  private readonly direct: Queryable

  constructor(path: string) {
    this.path = path
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = NORMAL')
    this.db.exec('PRAGMA busy_timeout = 5000')
    this.db.exec('PRAGMA foreign_keys = ON')
    this.direct = {
      dialect: 'sqlite',
      all: async (sql, params) => this.allSync(sql, params),
      get: async (sql, params) => this.getSync(sql, params),
      run: async (sql, params) => this.runSync(sql, params),
    }
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  /**
   * Every row as an array of its values in column order: for hot paths that read many rows of a
   * known shape (a claim), where node:sqlite would otherwise build an object with a key per column
   * for each row (about 1 µs a row of 12 columns).
   */
  valuesSync(sql: string, params: readonly SqlValue[] = []): unknown[][] {
    try {
      let statement = this.arrayStatements.get(sql)
      if (!statement) {
        statement = this.db.prepare(sql)
        statement.setReturnArrays(true)
        this.arrayStatements.set(sql, statement)
      }
      return statement.all(...bind(params)) as unknown as unknown[][]
    } catch (error) {
      throw storeError(error)
    }
  }

  allSync<T = Row>(sql: string, params: readonly SqlValue[] = []): T[] {
    try {
      return this.statement(sql).all(...bind(params)) as T[]
    } catch (error) {
      throw storeError(error)
    }
  }

  getSync<T = Row>(sql: string, params: readonly SqlValue[] = []): T | undefined {
    try {
      return this.statement(sql).get(...bind(params)) as T | undefined
    } catch (error) {
      throw storeError(error)
    }
  }

  runSync(sql: string, params: readonly SqlValue[] = []): { changes: number } {
    try {
      const result = this.statement(sql).run(...bind(params))
      return { changes: Number(result.changes) }
    } catch (error) {
      throw storeError(error)
    }
  }

  /** Waits while another caller's transaction holds the connection. */
  private async idle(): Promise<void> {
    while (this.locked) await this.lock
  }

  /** valuesSync, once no other caller's transaction holds the connection. */
  async values(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    if (this.locked) await this.idle()
    return this.valuesSync(sql, params)
  }

  async all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    if (this.locked) await this.idle()
    return this.allSync<T>(sql, params)
  }

  async get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    if (this.locked) await this.idle()
    return this.getSync<T>(sql, params)
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    if (this.locked) await this.idle()
    return this.runSync(sql, params)
  }

  /**
   * Runs `fn` in one transaction without leaving this turn of the event loop: `fn` is
   * synchronous and uses the *Sync methods. For hot paths of many statements (a completion batch),
   * where the promise and the turn each awaited statement costs are a large part of the work.
   */
  async transactionSync<T>(fn: () => T): Promise<T> {
    // The check and the BEGIN in one synchronous stretch, as in transaction(); no lock is taken
    // since nothing else can run before the COMMIT.
    while (this.locked) await this.lock
    try {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        const result = fn()
        this.db.exec('COMMIT')
        return result
      } catch (error) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK')
        throw error
      }
    } catch (error) {
      throw storeError(error)
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // Check and take the lock in the same tick: awaiting even a free lock would let a second
    // transaction started in this tick pass the check too, and BEGIN inside the first.
    while (this.locked) await this.lock
    let release!: () => void
    this.lock = new Promise((resolve) => {
      release = resolve
    })
    this.locked = true
    try {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        const result = await fn(this.direct)
        this.db.exec('COMMIT')
        return result
      } catch (error) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK')
        throw error
      }
    } catch (error) {
      throw storeError(error)
    } finally {
      this.locked = false
      release()
    }
  }

  /** One process per data dir: the callers' own per-key queue is the whole lock. */
  withLock<T>(_key: string, fn: () => Promise<T>): Promise<T> {
    return fn()
  }

  async exec(sql: string): Promise<void> {
    await this.idle()
    try {
      this.db.exec(sql)
    } catch (error) {
      throw storeError(error)
    }
  }

  async describe() {
    let sizeBytes = 0
    for (const suffix of ['', '-wal']) {
      try {
        sizeBytes += statSync(this.path + suffix).size
      } catch {
        // the WAL file exists only while the database is open for writing
      }
    }
    return { backend: 'sqlite' as const, location: this.path, sizeBytes }
  }

  async close(): Promise<void> {
    await this.idle()
    this.statements.clear()
    this.arrayStatements.clear()
    if (this.db.isOpen) this.db.close()
  }
}

function toSqlite(value: SqlValue): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0
  return value
}

/** The parameters as node:sqlite takes them: booleans as 0/1, the array itself when it has none. */
function bind(params: readonly SqlValue[]): readonly SQLInputValue[] {
  for (const value of params) if (typeof value === 'boolean') return params.map(toSqlite)
  return params as readonly SQLInputValue[]
}
