import type { Db, Queryable, SqlValue } from '../../store/index.ts'
import { SqliteDb } from '../../store/sqlite.ts'

/** The PostgreSQL channel an event write notifies (payload: the highest id written). */
export const EVENTS_CHANNEL = 'edgeforge_events'

// One constant key: every event write of every process takes it for the length of its
// transaction, so ids (taken from the sequence after the lock) commit in id order. Without it two
// writers could commit 11 before 10, and a reader that saw 11 would skip 10 for ever.
const WRITE_LOCK = 0x65766e74 // 'evnt'

/** An event as the engine records it, before the store gives it its id. */
export interface NewEvent {
  at: number
  type: string
  queue: string | null
  jobId: string | null
  data: Record<string, unknown>
}

/** A stored event: `id` is its cursor. */
export interface EventRow extends NewEvent {
  id: number
}

interface RawRow {
  id: number | string
  /** Events in the row (1 for a row of one event, what SQLite and old PostgreSQL rows are). */
  n: number | string
  at: number | string
  type: string
  queue: string | null
  job_id: string | null
  data: string | null
  /** PostgreSQL: the row's events as [at, type, queue, job_id, data] when it holds them packed. */
  packed: string | null
}

type PackedEvent = [
  at: number,
  type: string,
  queue: string | null,
  jobId: string | null,
  data: Record<string, unknown> | null,
]

function toEvent(row: RawRow): EventRow {
  return {
    id: Number(row.id),
    at: Number(row.at),
    type: row.type,
    queue: row.queue,
    jobId: row.job_id,
    data: row.data ? JSON.parse(row.data) : {},
  }
}

// PostgreSQL packs the events of a write batch into rows of up to PACK_EVENTS events (and about
// PACK_CHARS characters, so a row stays in its heap page: lz4-compressed, migration 0034, or where
// the server has no lz4, uncompressed, 0031): a heap tuple, a primary-key entry and their WAL per
// row instead of per event. A row with id i and n events carries the cursors i .. i + n - 1, reserved from the
// sequence in one step. Readers never assume a row holds at most PACK_EVENTS: they find the row
// that holds a cursor by its id (the highest id at or below it), so a later writer may pack more.
const PACK_EVENTS = 50
const PACK_CHARS = 6000

// A batch goes in as one statement, a VALUES row per packed row with its events as a text
// parameter (no escaping on either side, and nothing for the server to parse but the text it
// stores): one round trip and its own transaction. The InitPlan takes the write lock before the
// range is reserved (nextval, then setval to its end: the next writer's nextval starts after it),
// the lock is held until the statement commits, and the notice (the new head) is delivered on that
// commit. Processes of the version before packing take the same lock and draw their ids from the
// same sequence, one a row, so ranges never overlap. Statements are kept per row count; a batch of
// more than PG_ROWS rows goes in as several statements, in order.
const PG_ROWS = 200
const insertPgSql = new Map<number, string>()
function insertPg(rows: number): string {
  let sql = insertPgSql.get(rows)
  if (sql === undefined) {
    const values = Array.from({ length: rows }, () => '(?::bigint, ?::int, ?::bigint, ?, ?, ?)').join(', ')
    sql = `WITH base AS MATERIALIZED (
    SELECT setval('events_id_seq', nextval('events_id_seq') + ?::bigint - 1) - ?::bigint AS b
    WHERE (SELECT pg_advisory_xact_lock(${WRITE_LOCK})::text) IS NOT NULL),
  ins AS (INSERT INTO events (id, n, at, type, queue, job_id, packed)
    SELECT base.b + v.o, v.n, v.at, 'packed', v.q, v.j, v.p
    FROM base, (VALUES ${values}) AS v(o, n, at, q, j, p))
  SELECT b + ?::bigint AS head, pg_notify('${EVENTS_CHANNEL}', (b + ?::bigint)::text) AS notified FROM base`
    insertPgSql.set(rows, sql)
  }
  return sql
}

/** Up to PG_ROWS packed rows from `events[from]` on, as insertPg's parameters; `end` is where they stop. */
function packRows(
  events: readonly NewEvent[],
  from: number,
): { params: SqlValue[]; rows: number; end: number } {
  const params: SqlValue[] = [0, 0]
  let rows = 0
  let start = from
  while (start < events.length && rows < PG_ROWS) {
    const first = events[start]
    let queue = first.queue
    let jobId = first.jobId
    let at = first.at
    let body = '['
    let end = start
    while (end < events.length && end - start < PACK_EVENTS && body.length < PACK_CHARS) {
      const event = events[end]
      let data: Record<string, unknown> | null = null
      for (const _ in event.data) {
        data = event.data
        break
      }
      if (end > start) body += ','
      body += JSON.stringify([event.at, event.type, event.queue, event.jobId, data])
      if (event.queue !== queue) queue = null
      if (event.jobId !== jobId) jobId = null
      if (event.at > at) at = event.at
      end += 1
    }
    params.push(start - from + 1, end - start, at, queue, jobId, `${body}]`)
    rows += 1
    start = end
  }
  const total = start - from
  params[0] = total
  params[1] = total
  params.push(total, total)
  return { params, rows, end: start }
}

const INSERT_SQLITE = `INSERT INTO events (at, type, queue, job_id, data)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
  FROM json_each(?) ORDER BY key`

// SQLite: multi-row VALUES statements, prepared once per row count, in one synchronous transaction.
// Binding the columns directly costs about half of encoding the batch as JSON for json_each to
// parse (1.6 against 3.4 µs an event, bench in docs/performance.md, "Issue 14, SQLite and the
// runner"). A batch goes in as rows of 64, then 16, 4 and 1, so four statements serve every size.
const SQLITE_CHUNKS = [64, 16, 4, 1]
const insertValuesSql = new Map<number, string>(
  SQLITE_CHUNKS.map((rows) => [
    rows,
    `INSERT INTO events (at, type, queue, job_id, data) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ')}`,
  ]),
)

function insertSqlite(db: SqliteDb, events: readonly NewEvent[]): Promise<number> {
  return db.transactionSync(() => {
    let next = 0
    for (const rows of SQLITE_CHUNKS) {
      const sql = insertValuesSql.get(rows) as string
      const params: SqlValue[] = new Array(rows * 5)
      while (events.length - next >= rows) {
        for (let row = 0; row < rows; row += 1) {
          const event = events[next + row]
          const at = row * 5
          params[at] = event.at
          params[at + 1] = event.type
          params[at + 2] = event.queue
          params[at + 3] = event.jobId
          params[at + 4] = encodeData(event.data)
        }
        db.runSync(sql, params)
        next += rows
      }
    }
    return Number(db.getSync<{ id: number }>('SELECT last_insert_rowid() AS id')?.id ?? 0)
  })
}

/**
 * Writes `events` in order, in one transaction (on PostgreSQL one a PG_ROWS packed rows); returns
 * the highest id (cursor) written.
 */
export async function insertEvents(db: Db, events: readonly NewEvent[]): Promise<number> {
  if (events.length === 0) return 0
  if (db instanceof SqliteDb) return insertSqlite(db, events)
  if (db.dialect === 'postgres') {
    let head = 0
    for (let from = 0; from < events.length; ) {
      const { params, rows, end } = packRows(events, from)
      const row = await db.get<{ head: string | number | null }>(insertPg(rows), params)
      head = Number(row?.head ?? 0)
      from = end
    }
    return head
  }
  const json = JSON.stringify(
    events.map((event) => [event.at, event.type, event.queue, event.jobId, encodeData(event.data)]),
  )
  return db.transaction(async (tx) => {
    await tx.run(INSERT_SQLITE, [json])
    const row = await tx.get<{ id: number }>('SELECT last_insert_rowid() AS id')
    return Number(row?.id ?? 0)
  })
}

/** Most events carry nothing beyond their type, queue and job: those store NULL. */
function encodeData(data: Record<string, unknown>): string | null {
  for (const _ in data) return JSON.stringify(data)
  return null
}

/** Filters a read applies in SQL; an event matches when every given field matches. */
export interface EventFilter {
  queue?: string
  jobId?: string
}

/** What a read returns: the matching events after its cursor, in cursor order. */
export interface EventPage {
  events: EventRow[]
  /**
   * Every matching event up to here is in `events` (the cursor to read on from). When `complete`,
   * the read reached the end of the table: nothing else was committed when it ran.
   */
  through: number
  complete: boolean
}

/**
 * Up to `limit` events after the cursor `after` that match `filter`, in cursor order. A packed row
 * is expanded here: its events get the cursors id, id + 1, …, and those at or before `after` or
 * outside the filter are dropped. On PostgreSQL the filter is also applied to the rows in SQL:
 * exactly on a row whose events share the field, and as a substring test of the row's JSON (the
 * quoted value) on one whose events differ, exact again after expansion.
 */
export async function readEventPage(
  q: Queryable,
  after: number,
  limit: number,
  filter: EventFilter = {},
): Promise<EventPage> {
  const postgres = q.dialect === 'postgres'
  const filtered = filter.queue !== undefined || filter.jobId !== undefined
  const where: string[] = []
  const params: Array<string | number> = []
  if (postgres) {
    // The row that holds `after` (the highest id at or below it) and every row after it.
    where.push('id >= coalesce((SELECT max(id) FROM events WHERE id <= ?), 0)', 'id + n - 1 > ?')
    params.push(after, after)
  } else {
    where.push('id > ?')
    params.push(after)
  }
  for (const [column, value] of [
    ['queue', filter.queue],
    ['job_id', filter.jobId],
  ] as const) {
    if (value === undefined) continue
    if (postgres) {
      where.push(`(${column} = ? OR (${column} IS NULL AND packed IS NOT NULL AND strpos(packed, ?) > 0))`)
      params.push(value, JSON.stringify(value))
    } else {
      where.push(`${column} = ?`)
      params.push(value)
    }
  }
  // A packed row holds up to PACK_EVENTS events: an unfiltered page needs few of them, a filtered
  // one more (only the rows that may match come back, but a row that does may hold many).
  const rowLimit = postgres ? Math.ceil(limit / (filtered ? 4 : 32)) : limit
  params.push(rowLimit)
  const columns = postgres
    ? 'id, n, at, type, queue, job_id, data, packed'
    : 'id, 1 AS n, at, type, queue, job_id, data, NULL AS packed'
  const rows = await q.all<RawRow>(
    `SELECT ${columns} FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
    params,
  )
  const events: EventRow[] = []
  for (const row of rows) {
    if (row.packed === null) {
      const event = toEvent(row)
      if (event.id > after && matches(event, filter)) events.push(event)
    } else {
      const id = Number(row.id)
      const packed = JSON.parse(row.packed) as PackedEvent[]
      for (let index = 0; index < packed.length; index += 1) {
        if (id + index <= after) continue
        const [at, type, queue, jobId, data] = packed[index]
        const event: EventRow = { id: id + index, at, type, queue, jobId, data: data ?? {} }
        if (matches(event, filter)) events.push(event)
      }
    }
    if (events.length >= limit) {
      events.length = limit
      return { events, through: events[limit - 1].id, complete: false }
    }
  }
  const last = rows[rows.length - 1]
  return {
    events,
    through: last ? Number(last.id) + Number(last.n) - 1 : after,
    complete: rows.length < rowLimit,
  }
}

/** Up to `limit` events after `after`, in id order (readEventPage's events). */
export async function readEvents(
  q: Queryable,
  after: number,
  limit: number,
  filter: EventFilter = {},
): Promise<EventRow[]> {
  const events: EventRow[] = []
  let cursor = after
  while (events.length < limit) {
    const page = await readEventPage(q, cursor, limit - events.length, filter)
    events.push(...page.events)
    if (page.complete) break
    cursor = page.through
  }
  return events
}

/** True when `event` has every field `filter` gives. */
export function matches(event: NewEvent, filter: EventFilter): boolean {
  return (
    (filter.queue === undefined || event.queue === filter.queue) &&
    (filter.jobId === undefined || event.jobId === filter.jobId)
  )
}

/** The newest id written (0 when none) and the highest id swept (0 when none). */
export async function eventBounds(q: Queryable): Promise<{ head: number; sweptThrough: number }> {
  const newest =
    q.dialect === 'postgres'
      ? '(SELECT id + n - 1 FROM events ORDER BY id DESC LIMIT 1)'
      : '(SELECT max(id) FROM events)'
  const row = await q.get<{ head: number | string | null; swept: number | string }>(
    `SELECT ${newest} AS head, swept_through AS swept FROM event_horizon WHERE one = 1`,
  )
  const swept = Number(row?.swept ?? 0)
  // After a sweep of every row the table is empty: the head is where the sweep stopped.
  return { head: Math.max(Number(row?.head ?? 0), swept), sweptThrough: swept }
}

/**
 * Deletes events written before `before` (UTC ms), oldest first, and moves the horizon up to the
 * highest cursor deleted; returns how many events went. Ids grow with time, so the old rows are a
 * prefix of the id order. A packed row goes when its newest event is old (its `at`).
 */
export async function sweepEvents(db: Db, before: number, batch = 5000): Promise<number> {
  const n = db.dialect === 'postgres' ? 'n' : '1'
  let total = 0
  for (;;) {
    const deleted = await db.transaction(async (tx) => {
      const old = await tx.get<{
        id: number | string | null
        last: number | string
        events: number | string
      }>(
        `SELECT max(id) AS id, max(id + ${n} - 1) AS last, sum(${n}) AS events
         FROM (SELECT id, ${n} AS n FROM events WHERE at < ? ORDER BY id LIMIT ${batch}) AS old`,
        [before],
      )
      if (old?.id === null || old?.id === undefined) return { rows: 0, events: 0 }
      const through = Number(old.last)
      const { changes } = await tx.run('DELETE FROM events WHERE id <= ?', [Number(old.id)])
      await tx.run('UPDATE event_horizon SET swept_through = ? WHERE one = 1 AND swept_through < ?', [
        through,
        through,
      ])
      return { rows: changes, events: Number(old.events) }
    })
    total += deleted.events
    if (deleted.rows < batch) return total
  }
}
