import { ApiError } from '@edgeforge/protocol'
import pg from 'pg'
import { redactLocation } from '../observability/redact.ts'
import type { Db, Queryable, Row, SqlValue } from './db.ts'
import { StoreUnavailableError, storeError } from './errors.ts'

// int8 columns hold UTC milliseconds and counts: well inside 2^53, so read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

/** Rewrites `?` placeholders to `$1, $2, …`, leaving quoted strings alone. */
export function toPositional(sql: string): string {
  let index = 0
  let out = ''
  let quote: string | null = null
  for (const char of sql) {
    if (quote) {
      if (char === quote) quote = null
      out += char
    } else if (char === "'" || char === '"') {
      quote = char
      out += char
    } else if (char === '?') {
      index += 1
      out += `$${index}`
    } else {
      out += char
    }
  }
  return out
}

// Named statements are planned with their values each time (plan_cache_mode), never with a generic
// plan. A generic plan is made once per connection from the table as it was then: made while the
// jobs table was small (a fresh database), the claim's update by ctid became a sequential scan and
// the completion a hash join over every running job, plans PostgreSQL kept as the table grew,
// until the next ANALYZE: on a new database the queue slowed from 15,500 to 6,400 jobs/s over
// 60,000 jobs, against 28–31k planned with values (bench:queue-fresh; docs/performance.md, "Issue
// 14, plans that outlive the table"). Planning costs the claim about 0.2 ms and the completion
// about 0.13 ms of server CPU here: about 1 µs a job at a busy queue's batches of hundreds. PGOPTIONS
// comes after, so it can still set anything (bench:queue-fresh sets plan_cache_mode back to auto).
function sessionOptions(): string {
  return `-c plan_cache_mode=force_custom_plan ${process.env.PGOPTIONS ?? ''}`.trim()
}

const positional = new Map<string, string>()
function adapt(sql: string): string {
  let text = positional.get(sql)
  if (text === undefined) {
    text = toPositional(sql)
    if (positional.size < 5000) positional.set(sql, text)
  }
  return text
}

// Statements marked hot (`prepared`) go to the server as named statements: each connection parses
// them once, and later runs send only the parameters (and are planned with them, as above). The
// name stands for the text, so one text has one name per process.
const names = new Map<string, string>()

/**
 * Marks `sql` (with `?` placeholders, as the Db methods take it) as a hot statement that PostgreSQL
 * should keep prepared on each connection; returns it unchanged. For statements run thousands of
 * times a second (the claim, the completion batch).
 */
export function prepared(sql: string): string {
  if (!names.has(sql)) names.set(sql, `edgeforge_${names.size}`)
  return sql
}

interface PgClientLike {
  query(config: {
    name?: string
    text: string
    values: unknown[]
    rowMode?: 'array'
  }): Promise<pg.QueryResult>
}

/** A PostgreSQL Queryable that can also return rows as arrays. */
export interface PgQueryable extends Queryable {
  /** Rows as arrays of values in column order (pg's `rowMode: 'array'`): no object per row. */
  values(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]>
}

/** `q` as a PgQueryable when it is one (a PostgresDb, or a transaction of one). */
export function pgValues(q: Queryable): PgQueryable | null {
  return q.dialect === 'postgres' && typeof (q as Partial<PgQueryable>).values === 'function'
    ? (q as PgQueryable)
    : null
}

function queryable(client: PgClientLike): PgQueryable {
  const query = async (sql: string, params: readonly SqlValue[], rowMode?: 'array') => {
    try {
      const name = names.get(sql)
      const config: { name?: string; text: string; values: unknown[]; rowMode?: 'array' } = {
        text: adapt(sql),
        values: [...params],
      }
      if (name !== undefined) config.name = name
      if (rowMode) config.rowMode = rowMode
      return await client.query(config)
    } catch (error) {
      throw storeError(error)
    }
  }
  return {
    dialect: 'postgres',
    async all<T = Row>(sql: string, params: readonly SqlValue[] = []) {
      return (await query(sql, params)).rows as T[]
    },
    async get<T = Row>(sql: string, params: readonly SqlValue[] = []) {
      return (await query(sql, params)).rows[0] as T | undefined
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return { changes: (await query(sql, params)).rowCount ?? 0 }
    },
    async values(sql: string, params: readonly SqlValue[] = []) {
      return (await query(sql, params, 'array')).rows as unknown[][]
    },
  }
}

const ignore = () => {}

// First key of `withLock`'s two-key advisory locks; it only has to differ from the other users'.
const NAMED_LOCK_SPACE = 40_119
const LOCK_WAIT_MS = 60_000

/** PostgreSQL through a `pg` pool. */
export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const
  readonly pool: pg.Pool
  readonly url: string
  private readonly base: PgQueryable
  /**
   * Connections that hold `withLock` locks, apart from the pool: a lock is held for a whole
   * compile, and holders must not take the connections their own queries need.
   */
  private lockPool: pg.Pool | undefined

  constructor(url: string, poolSize = 10) {
    this.url = url
    // A checkout that waits this long means the pool is exhausted: fail (409, retryable) instead of hanging.
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: 10_000,
      options: sessionOptions(),
    })
    // An idle client that loses its connection must not crash the process.
    this.pool.on('error', () => {})
    this.base = queryable(this.pool)
  }

  all<T = Row>(sql: string, params?: readonly SqlValue[]) {
    return this.base.all<T>(sql, params)
  }
  get<T = Row>(sql: string, params?: readonly SqlValue[]) {
    return this.base.get<T>(sql, params)
  }
  run(sql: string, params?: readonly SqlValue[]) {
    return this.base.run(sql, params)
  }
  values(sql: string, params?: readonly SqlValue[]) {
    return this.base.values(sql, params)
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw storeError(error)
    })
    // pg emits 'error' on a checked-out client whose connection dies (besides failing its query);
    // unheard, that event would crash the process.
    client.on('error', ignore)
    let broken = false
    try {
      await client.query('BEGIN')
      const result = await fn(queryable(client))
      await client.query('COMMIT')
      return result
    } catch (error) {
      const mapped = storeError(error)
      broken = mapped instanceof StoreUnavailableError
      if (!broken) await client.query('ROLLBACK').catch(() => {})
      throw mapped
    } finally {
      client.off('error', ignore)
      // A client whose connection failed is discarded, not handed to the next caller.
      client.release(broken || undefined)
    }
  }

  async withLock<T>(key: string, fn: () => Promise<T>, waitMs = LOCK_WAIT_MS): Promise<T> {
    if (!this.lockPool) {
      this.lockPool = new pg.Pool({ connectionString: this.url, max: 10, connectionTimeoutMillis: waitMs })
      this.lockPool.on('error', () => {})
    }
    const client = await this.lockPool.connect().catch((error: unknown) => {
      throw storeError(error)
    })
    client.on('error', ignore)
    try {
      // Waiting in PostgreSQL's lock queue (not polling) serves waiters first come, first served.
      await client.query(`SET lock_timeout = ${Math.max(1, Math.round(waitMs))}`)
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [NAMED_LOCK_SPACE, key])
    } catch (error) {
      client.off('error', ignore)
      client.release(true)
      if ((error as { code?: unknown }).code === '55P03')
        throw new ApiError(
          'conflict',
          `another process has been changing ${key} for ${Math.round(waitMs / 1000)} s; retry when it is done`,
          { retryable: true },
        )
      throw storeError(error)
    }
    try {
      return await fn()
    } finally {
      // If the unlock fails the connection is dropped, and PostgreSQL releases its locks with it.
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [NAMED_LOCK_SPACE, key]).then(
        () => {
          client.off('error', ignore)
          client.release()
        },
        () => {
          client.off('error', ignore)
          client.release(true)
        },
      )
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql).catch((error: unknown) => {
      throw storeError(error)
    })
  }

  async describe() {
    const row = await this.get<{ server_version: string; size: number }>(
      "SELECT current_setting('server_version') AS server_version, pg_database_size(current_database())::int8 AS size",
    )
    return {
      backend: 'postgres' as const,
      location: redactLocation(this.url),
      serverVersion: row?.server_version,
      sizeBytes: row?.size,
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.lockPool?.end()])
  }
}
