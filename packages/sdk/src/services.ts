/**
 * What handlers see of the services their endpoint binds: a database, a cache, object storage, a
 * file server, an email sender. The gateway owns the connections; these are thin clients whose
 * every call is one operation on the service's actor (its pool, its bounded queue, its timeout).
 *
 * Failures come in two kinds:
 * - the service could not do it at all — `HandlerError` 503 `service_unavailable` (down, not
 *   active), 503 `service_busy` (pool and queue full) or 504 `service_timeout`; left uncaught,
 *   the client gets that status;
 * - the backend refused the operation (a bad query, a missing object) — `ServiceError`, with the
 *   backend's message; left uncaught it is a 500 whose message stays in the log.
 */

const SERVICE_ERROR_BRAND = Symbol.for('edgeforge.ServiceError')

/**
 * The backend refused an operation: a bad SQL statement, a missing file, a rejected recipient.
 * `message` is the backend's own; `code` is stable (`query_failed`, `not_found`, `operation_failed`).
 *
 * @example
 * try { await ctx.database('db').execute('INSERT INTO users (email) VALUES (?)', [email]) }
 * catch (err) { if (isServiceError(err)) throw HandlerError.conflict('email taken', { cause: err }); throw err }
 */
export class ServiceError extends Error {
  /** A stable code: `query_failed`, `not_found` or `operation_failed`. @example err.code // 'query_failed' */
  readonly code: string
  /** The binding name the handler used. @example err.service // 'db' */
  readonly service: string

  /**
   * Made by the gateway; handlers catch it.
   *
   * @example
   * new ServiceError('db', 'query_failed', 'relation "users" does not exist')
   */
  constructor(service: string, code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ServiceError'
    this.code = code
    this.service = service
  }
}
Object.defineProperty(ServiceError.prototype, SERVICE_ERROR_BRAND, { value: true })

/**
 * Whether `value` is a ServiceError, also one from another copy of the SDK.
 *
 * @example
 * if (isServiceError(err) && err.code === 'not_found') return Response.notFound()
 */
export function isServiceError(value: unknown): value is ServiceError {
  if (value instanceof ServiceError) return true
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [SERVICE_ERROR_BRAND]?: unknown })[SERVICE_ERROR_BRAND] === true
  )
}

/** A row as the driver returns it: column name → value. @example row.id */
export type Row = Record<string, unknown>

/** A bound parameter. @example [42, 'ann', null] */
export type SqlParam = string | number | bigint | boolean | null | Uint8Array | Date

/**
 * What `execute` returns.
 *
 * @example
 * const { rowsAffected, insertId } = await db.execute('INSERT INTO t (name) VALUES (?)', ['x'])
 */
export interface ExecuteResult {
  /** Rows inserted, updated or deleted. @example result.rowsAffected // 1 */
  rowsAffected: number
  /** The new row's id where the database reports one (SQLite, MySQL); null on PostgreSQL (use RETURNING). @example result.insertId // 7 */
  insertId: number | string | null
}

/** The statements a database and a transaction both run. */
export interface SqlRunner {
  /**
   * Runs a query; parameters are always bound, never interpolated. Placeholders: `?` on SQLite
   * and MySQL, `$1…` on PostgreSQL (`?` is accepted there too).
   *
   * @example
   * const rows = await db.query('SELECT id, name FROM users WHERE active = ?', [true])
   */
  query<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]>
  /**
   * The first row, or null.
   *
   * @example
   * const user = await db.queryOne('SELECT * FROM users WHERE id = ?', [id])
   */
  queryOne<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T | null>
  /**
   * Runs a statement that changes data.
   *
   * @example
   * await db.execute('DELETE FROM sessions WHERE expires_at < ?', [Date.now()])
   */
  execute(sql: string, params?: readonly SqlParam[]): Promise<ExecuteResult>
}

/**
 * A SQL database (sqlite, postgres, mysql).
 *
 * @example
 * const item = await ctx.database('db').queryOne('SELECT * FROM items WHERE id = ?', [id])
 */
export interface DatabaseClient extends SqlRunner {
  /**
   * Runs `fn` in a transaction on one connection: committed when it resolves, rolled back when
   * it throws (and the error re-thrown).
   *
   * @example
   * await db.transaction(async (tx) => {
   *   await tx.execute('UPDATE accounts SET balance = balance - ? WHERE id = ?', [10, a])
   *   await tx.execute('UPDATE accounts SET balance = balance + ? WHERE id = ?', [10, b])
   * })
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>
}

/**
 * A key-value cache (memory, redis, memcached). Values are strings.
 *
 * @example
 * await ctx.cache('cache').set('greeting', 'hi', { ttlSeconds: 60 })
 */
export interface CacheClient {
  /** The value, or null. @example const v = await cache.get('user:1') */
  get(key: string): Promise<string | null>
  /** Stores a value, optionally expiring. @example await cache.set('k', 'v', { ttlSeconds: 300 }) */
  set(key: string, value: string, options?: { ttlSeconds?: number }): Promise<void>
  /** Removes a key; true when it existed. @example await cache.delete('k') */
  delete(key: string): Promise<boolean>
  /** Whether the key is there. @example if (await cache.exists('lock')) … */
  exists(key: string): Promise<boolean>
  /** Adds `by` (1) to an integer value (missing counts as 0) and returns the result. @example await cache.incr('hits') */
  incr(key: string, by?: number): Promise<number>
  /** Subtracts `by` (1). On memcached a value never drops below 0. @example await cache.decr('stock', 2) */
  decr(key: string, by?: number): Promise<number>
  /** Sets a key's time to live; false when the key does not exist. @example await cache.expire('k', 60) */
  expire(key: string, ttlSeconds: number): Promise<boolean>
  /**
   * Seconds left: -1 when the key has no expiry, -2 when it does not exist. memcached cannot tell
   * (it reports -1 for any key that exists).
   *
   * @example
   * const left = await cache.ttl('session:abc')
   */
  ttl(key: string): Promise<number>
}

/** One object in a listing. @example { key: 'a.txt', size: 3, lastModified: '2026-01-01T00:00:00.000Z' } */
export interface ObjectInfo {
  key: string
  size: number
  /** ISO-8601, or null where the backend does not say. */
  lastModified: string | null
}

/** An object read back. @example const { body, contentType } = await storage.get('a.png') */
export interface StoredObject {
  body: Uint8Array
  contentType: string
  size: number
}

/**
 * Object storage (filesystem, s3).
 *
 * @example
 * await ctx.storage('uploads').put('avatars/1.png', bytes, { contentType: 'image/png' })
 */
/** An object read as a stream: `getStream`. */
export interface StreamedObject {
  body: AsyncIterable<Uint8Array>
  contentType: string
  size: number
}

export interface StorageClient {
  /**
   * Stores bytes under `key`. A stream (an async iterable of byte chunks) is sent a chunk at a
   * time as the service takes it, so an object larger than memory can be stored.
   *
   * @example
   * await storage.put('reports/jan.csv', 'a,b\n1,2\n', { contentType: 'text/csv' })
   */
  put(
    key: string,
    body: Uint8Array | string | AsyncIterable<Uint8Array>,
    options?: { contentType?: string },
  ): Promise<void>
  /** The object, or null when it does not exist. @example const obj = await storage.get('a.txt') */
  get(key: string): Promise<StoredObject | null>
  /**
   * The object as a stream of chunks (at most 1 MiB each), or null when it does not exist: for
   * objects too large to hold whole. Read it to the end or stop early (break): either way the
   * service's connection is given back; one left unread longer than the service's operation
   * timeout is closed.
   *
   * @example
   * const obj = await storage.getStream('videos/big.mp4')
   * if (obj) for await (const chunk of obj.body) hash.update(chunk)
   */
  getStream(key: string): Promise<StreamedObject | null>
  /** Size and type without the body, or null. @example const meta = await storage.head('a.txt') */
  head(key: string): Promise<Omit<StoredObject, 'body'> | null>
  /**
   * Keys under a prefix, in key order, a page at a time; pass the returned `continuationToken`
   * for the next page (null when there is none).
   *
   * @example
   * const { objects, continuationToken } = await storage.list('uploads/', { limit: 100 })
   */
  list(
    prefix?: string,
    options?: { limit?: number; continuationToken?: string },
  ): Promise<{ objects: ObjectInfo[]; continuationToken: string | null }>
  /** Deletes an object; true when it existed (s3 always says true). @example await storage.delete('a.txt') */
  delete(key: string): Promise<boolean>
  /** A URL that reads the object without credentials for `seconds`. @example const url = await storage.presignedUrl('a.txt', 3600) */
  presignedUrl(key: string, seconds: number): Promise<string>
}

/** One entry of a remote folder. @example { name: 'a.csv', size: 10, isDirectory: false } */
export interface FileEntry {
  name: string
  size: number
  isDirectory: boolean
}

/**
 * A file server (ftp, ftps, sftp). Paths are relative to the service's `base_path`.
 *
 * @example
 * await ctx.files('partner').put('reports/daily.csv', csv)
 */
export interface FilesClient {
  /** Uploads bytes to `path`. @example await files.put('in/a.txt', 'hello') */
  put(path: string, body: Uint8Array | string): Promise<void>
  /** Downloads a file; ServiceError `not_found` when it is not there. @example const bytes = await files.get('in/a.txt') */
  get(path: string): Promise<Uint8Array>
  /** Lists a folder. @example const entries = await files.list('in') */
  list(path?: string): Promise<FileEntry[]>
  /** Deletes a file; false when it was not there. @example await files.delete('in/a.txt') */
  delete(path: string): Promise<boolean>
  /** Creates a folder and its parents. @example await files.mkdir('in/2026') */
  mkdir(path: string): Promise<void>
}

/** A file attached to an email. @example { filename: 'r.csv', content: 'a,b', contentType: 'text/csv' } */
export interface EmailAttachment {
  filename: string
  content: Uint8Array | string
  contentType?: string
}

/** One message. @example { to: 'ann@example.com', subject: 'Hi', text: 'Hello' } */
export interface EmailMessage {
  to: string | string[]
  subject: string
  text?: string
  html?: string
  /** Overrides the service's `from_address`. */
  from?: string
  /** Overrides the service's `from_name`. */
  fromName?: string
  cc?: string | string[]
  replyTo?: string
  attachments?: EmailAttachment[]
}

/**
 * Sends email (smtp).
 *
 * @example
 * const { messageId } = await ctx.email('mail').send({ to, subject: 'Welcome', text: 'Hi!' })
 */
export interface EmailClient {
  /** Sends one message; resolves once the server accepted it. @example await mail.send({ to, subject, html }) */
  send(message: EmailMessage): Promise<{ messageId: string; accepted: string[]; rejected: string[] }>
}

/** A stored record: a JSON object with its `id`. @example { id: 'rex', name: 'Rex', status: 'available' } */
export type StoredRecord = Record<string, unknown> & { id: string }

/**
 * The Storage abstraction: JSON records in a collection, the same calls whether the bound service
 * is a database (a table named after the collection: `id`, `status`, `data`), object storage
 * (`<collection>/<id>.json`) or a file server (`<collection>/<id>.json` under its base path).
 * Ids are 1–128 letters, digits, `_`, `-` or `.`.
 *
 * @example
 * const pets = ctx.records('store', 'pets')
 * await pets.create('rex', { name: 'Rex', status: 'available' })
 */
export interface RecordsClient {
  /** The record, or null. @example const pet = await pets.get('rex') */
  get(id: string): Promise<StoredRecord | null>
  /**
   * Every record in id order; with a filter, those whose `status` field equals it.
   *
   * @example
   * const available = await pets.list('available')
   */
  list(filter?: string): Promise<StoredRecord[]>
  /** Stores a new record; ServiceError `conflict` when the id is taken. @example await pets.create('rex', { name: 'Rex' }) */
  create(id: string, record: Record<string, unknown>): Promise<StoredRecord>
  /** Replaces a record; false when there is none with that id. @example await pets.update('rex', { name: 'Rex', status: 'sold' }) */
  update(id: string, record: Record<string, unknown>): Promise<boolean>
  /** Deletes a record; false when there was none. @example await pets.delete('rex') */
  delete(id: string): Promise<boolean>
}

/**
 * The services of an endpoint, by the names its bindings give them. Asking for a name that is
 * not bound throws an error that lists the bindings there are.
 *
 * @example
 * const db = ctx.database('db')
 */
export interface ServiceAccess {
  /** A bound database. @example await ctx.database('db').query('SELECT 1 AS one') */
  database(name: string): DatabaseClient
  /** A bound cache. @example await ctx.cache('cache').get('k') */
  cache(name: string): CacheClient
  /** A bound object store. @example await ctx.storage('uploads').get('a.png') */
  storage(name: string): StorageClient
  /** A bound file server. @example await ctx.files('sftp').list('/') */
  files(name: string): FilesClient
  /** A bound email sender. @example await ctx.email('mail').send({ to, subject, text }) */
  email(name: string): EmailClient
  /**
   * JSON records in `collection` on a bound database, object store or file server: the same
   * handler code on any of them, chosen by the binding.
   *
   * @example
   * const pet = await ctx.records('store', 'pets').get(id)
   */
  records(name: string, collection: string): RecordsClient
}
