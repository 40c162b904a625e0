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
  at: number | string
  type: string
  queue: string | null
  job_id: string | null
  data: string | null
}

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

// Rows go in as a JSON array of [at, type, queue, job_id, data] arrays (smaller to encode than
// objects), and only the highest id comes back (not a row per event to parse).
// One statement, so one round trip and its own transaction: the InitPlan takes the write lock
// before the first row draws its id, the lock is held until the statement commits, and the notice
// (the new head) is delivered on that commit.
const INSERT_PG = `WITH ins AS (INSERT INTO events (at, type, queue, job_id, data)
  SELECT (t.v->>0)::bigint, t.v->>1, t.v->>2, t.v->>3, t.v->>4
  FROM json_array_elements(?::json) WITH ORDINALITY AS t(v, ord)
  WHERE (SELECT pg_advisory_xact_lock(${WRITE_LOCK})::text) IS NOT NULL
  ORDER BY t.ord
  RETURNING id)
  SELECT max(id) AS head, pg_notify('${EVENTS_CHANNEL}', max(id)::text) AS notified FROM ins`
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

/** Writes `events` in order in one transaction; returns the highest id written. */
export async function insertEvents(db: Db, events: readonly NewEvent[]): Promise<number> {
  if (db instanceof SqliteDb) return events.length === 0 ? 0 : insertSqlite(db, events)
  const json = JSON.stringify(
    events.map((event) => [event.at, event.type, event.queue, event.jobId, encodeData(event.data)]),
  )
  if (db.dialect === 'postgres') {
    const row = await db.get<{ head: string | null }>(INSERT_PG, [json])
    return Number(row?.head ?? 0)
  }
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

/** Up to `limit` events after `after`, in id order. */
export async function readEvents(
  q: Queryable,
  after: number,
  limit: number,
  filter: EventFilter = {},
): Promise<EventRow[]> {
  const where = ['id > ?']
  const params: Array<string | number> = [after]
  if (filter.queue !== undefined) {
    where.push('queue = ?')
    params.push(filter.queue)
  }
  if (filter.jobId !== undefined) {
    where.push('job_id = ?')
    params.push(filter.jobId)
  }
  params.push(limit)
  const rows = await q.all<RawRow>(
    `SELECT id, at, type, queue, job_id, data FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
    params,
  )
  return rows.map(toEvent)
}

/** The newest id written (0 when none) and the highest id swept (0 when none). */
export async function eventBounds(q: Queryable): Promise<{ head: number; sweptThrough: number }> {
  const row = await q.get<{ head: number | string | null; swept: number | string }>(
    'SELECT (SELECT max(id) FROM events) AS head, swept_through AS swept FROM event_horizon WHERE one = 1',
  )
  const swept = Number(row?.swept ?? 0)
  // After a sweep of every row the table is empty: the head is where the sweep stopped.
  return { head: Math.max(Number(row?.head ?? 0), swept), sweptThrough: swept }
}

/**
 * Deletes events written before `before` (UTC ms), oldest first, and moves the horizon up to the
 * highest id deleted. Ids grow with time, so the old rows are a prefix of the id order.
 */
export async function sweepEvents(db: Db, before: number, batch = 5000): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await db.transaction(async (tx) => {
      const last = await tx.get<{ id: number | string | null }>(
        `SELECT max(id) AS id FROM (SELECT id FROM events WHERE at < ? ORDER BY id LIMIT ${batch}) AS old`,
        [before],
      )
      if (last?.id === null || last?.id === undefined) return 0
      const through = Number(last.id)
      const { changes } = await tx.run('DELETE FROM events WHERE id <= ?', [through])
      await tx.run('UPDATE event_horizon SET swept_through = ? WHERE one = 1 AND swept_through < ?', [
        through,
        through,
      ])
      return changes
    })
    total += deleted
    if (deleted < batch) return total
  }
}
