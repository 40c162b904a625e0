/**
 * The seam between the contexts and the database. SQL is written with `?` placeholders; each
 * driver adapts them to its dialect. Timestamps are UTC milliseconds in integer columns and flags
 * are 0/1 integers in both dialects, so one query text serves both unless a feature differs.
 */
export type Dialect = 'sqlite' | 'postgres'

export type SqlValue = string | number | bigint | boolean | null | Uint8Array

export type Row = Record<string, unknown>

export interface Queryable {
  readonly dialect: Dialect
  /** Every row the statement returns. */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>
  /** The first row, or undefined. */
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>
  /** Runs a statement that returns no rows; `changes` is the number of rows it touched. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>
}

export interface Db extends Queryable {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /**
   * Runs `fn` while holding the store-wide lock named `key`, so processes sharing the database
   * take turns (PostgreSQL: a session advisory lock on a connection of its own). A caller that
   * waits longer than `waitMs` gets a 409 `conflict` to retry. SQLite serves one process, whose
   * callers serialise themselves, so there it just runs `fn`.
   */
  withLock<T>(key: string, fn: () => Promise<T>, waitMs?: number): Promise<T>
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>
  /** What the storage info route reports: file size or server version. */
  describe(): Promise<{ backend: Dialect; location: string; sizeBytes?: number; serverVersion?: string }>
  close(): Promise<void>
}
