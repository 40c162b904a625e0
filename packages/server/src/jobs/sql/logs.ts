import { notFound } from '../errors.ts'
import { LOG_LINE_MAX } from '../validate.ts'
import type { EngineContext } from './context.ts'

/** One stored line of a job's log; `offset` counts from 0 over the job's whole log. */
export interface LogLine {
  offset: number
  at: number
  line: string
}

export interface LogPage {
  lines: LogLine[]
  /** The offset after the last line stored: where a follower reads next. */
  end: number
}

// A chunk of lines goes in as one statement; lines whose offset is already stored (a chunk resent
// after a reconnect) are dropped by the unique index, so a resend never duplicates a line. The
// EXISTS guard makes a chunk for a deleted job store nothing. On PostgreSQL it also locks the job
// FOR KEY SHARE (job_logs has no foreign key there, migration 0032): a delete of the job waits for
// the chunk to commit and then deletes it with the job, or the chunk waits and finds no job.
const APPEND_SQLITE = `INSERT INTO job_logs (job_id, seq, at, line)
  SELECT ?, ? + CAST(j.key AS INTEGER), json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
  FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?)
  ON CONFLICT (job_id, seq) DO NOTHING`
const APPEND_PG = `INSERT INTO job_logs (job_id, seq, at, line)
  SELECT ?, ?::int + (t.ord::int - 1), (t.v->>0)::bigint, t.v->>1
  FROM json_array_elements(?::json) WITH ORDINALITY AS t(v, ord) WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? FOR KEY SHARE)
  ON CONFLICT (job_id, seq) DO NOTHING`

/** Lines `GET /jobs/{id}` shows: the end of the log, bounded however long the log grows. */
export const LOG_TAIL = 100

export function clipLine(line: string): string {
  return line.length > LOG_LINE_MAX ? `${line.slice(0, LOG_LINE_MAX)}…` : line
}

/** The offset the next line of a job's log gets: one past the highest stored. */
export async function nextLogOffset(ctx: EngineContext, jobId: string): Promise<number> {
  const row = await ctx.db.get<{ next: number | null }>(
    'SELECT max(seq) + 1 AS next FROM job_logs WHERE job_id = ?',
    [jobId],
  )
  return row?.next === null || row?.next === undefined ? 0 : Number(row.next)
}

/**
 * Stores `lines` at offsets `offset`, `offset + 1`, …; already stored offsets are kept as they
 * are. Returns false when the job does not exist (nothing stored).
 */
export async function appendLogLines(
  ctx: EngineContext,
  jobId: string,
  offset: number,
  lines: ReadonlyArray<readonly [at: number, line: string]>,
): Promise<boolean> {
  if (lines.length === 0) return true
  const json = JSON.stringify(lines.map(([at, line]) => [at, clipLine(String(line))]))
  const sql = ctx.db.dialect === 'postgres' ? APPEND_PG : APPEND_SQLITE
  const { changes } = await ctx.db.run(sql, [jobId, offset, json, jobId])
  if (changes > 0) return true
  return (await ctx.db.get('SELECT 1 AS found FROM jobs WHERE id = ?', [jobId])) !== undefined
}

/** Up to `limit` lines of a job's log from offset `start`; 404 for an unknown job. */
export async function readLog(
  ctx: EngineContext,
  jobId: string,
  start: number,
  limit: number,
): Promise<LogPage> {
  const rows = await ctx.db.all<{ seq: number; at: number; line: string }>(
    'SELECT seq, at, line FROM job_logs WHERE job_id = ? AND seq >= ? ORDER BY seq LIMIT ?',
    [jobId, start, limit],
  )
  if (rows.length === 0 && !(await ctx.db.get('SELECT 1 AS found FROM jobs WHERE id = ?', [jobId])))
    throw notFound(`no job with id ${jobId}`)
  const lines = rows.map((row) => ({ offset: Number(row.seq), at: Number(row.at), line: row.line }))
  const end = lines.length > 0 ? lines[lines.length - 1].offset + 1 : start
  return { lines, end }
}

/** The last `count` lines of a job's log and how many it holds: what `GET /jobs/{id}` shows. */
export async function logTail(
  ctx: EngineContext,
  jobId: string,
  count: number,
): Promise<{ lines: LogLine[]; total: number }> {
  const total = await nextLogOffset(ctx, jobId)
  const rows = await ctx.db.all<{ seq: number; at: number; line: string }>(
    'SELECT seq, at, line FROM job_logs WHERE job_id = ? AND seq >= ? ORDER BY seq',
    [jobId, Math.max(0, total - count)],
  )
  return {
    lines: rows.map((row) => ({ offset: Number(row.seq), at: Number(row.at), line: row.line })),
    total,
  }
}
