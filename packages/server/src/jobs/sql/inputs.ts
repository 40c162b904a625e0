import { EventEmitter } from 'node:events'
import { type Db, ListenConnection } from '../../store/index.ts'
import { conflict, invalid, notFound } from '../errors.ts'
import type { EngineContext } from './context.ts'

/** The PostgreSQL channel a stored input message is announced on, with the job id as payload. */
export const INPUT_CHANNEL = 'edgeforge_job_input'

/** One message of a job's input, numbered 1, 2, … per job. */
export interface InputRow {
  seq: number
  message: unknown
}

/** The listener gets a job id, or `*` after missed notices (read every running job's input again). */
export type InputListener = (jobId: string) => void

// The next seq of the job, for a job that is running; nothing for any other. Two senders that
// read the same max(seq) at once (PostgreSQL, two processes) collide on the primary key: the one
// that loses stores nothing and tries again.
const INSERT = `INSERT INTO job_inputs (job_id, seq, message, created_at)
  SELECT id, coalesce((SELECT max(seq) FROM job_inputs WHERE job_id = CAST(? AS TEXT)), 0) + 1, CAST(? AS TEXT), CAST(? AS BIGINT)
  FROM jobs WHERE id = CAST(? AS TEXT) AND status = 'running'
    AND coalesce((SELECT max(seq) FROM job_inputs WHERE job_id = CAST(? AS TEXT)), 0) < CAST(? AS BIGINT)
  ON CONFLICT (job_id, seq) DO NOTHING
  RETURNING seq`

/**
 * The most input messages one job takes (its seqs run 1…this). Past it a send is a 409: the
 * messages are kept until the job goes, and an agent holds a run's unread ones in memory, so
 * neither may grow without bound.
 */
export const MAX_INPUTS_PER_JOB = 10_000

const MAX_TRIES = 20

/**
 * Stores `message` as the job's next input message and, on PostgreSQL, notifies every process in
 * the same transaction (the notice arrives once the row is visible). 404 for an unknown job, 409
 * for one that is not running.
 */
export async function insertInput(
  ctx: EngineContext,
  jobId: string,
  message: unknown,
  maxInputs = MAX_INPUTS_PER_JOB,
): Promise<number> {
  const text = JSON.stringify(message === undefined ? null : message)
  if (Buffer.byteLength(text) > ctx.maxPayloadBytes)
    throw invalid(`an input message is at most ${ctx.maxPayloadBytes} bytes of JSON`, 'body.message')
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const seq = await ctx.db.transaction(async (tx) => {
      const row = await tx.get<{ seq: number }>(INSERT, [jobId, text, ctx.now(), jobId, jobId, maxInputs])
      if (row && tx.dialect === 'postgres') await tx.run(`SELECT pg_notify('${INPUT_CHANNEL}', ?)`, [jobId])
      return row ? Number(row.seq) : undefined
    })
    if (seq !== undefined) return seq
    const job = await ctx.db.get<{ status: string }>('SELECT status FROM jobs WHERE id = ?', [jobId])
    if (!job) throw notFound(`no job with id ${jobId}`)
    if (job.status !== 'running')
      throw conflict(`job ${jobId} is ${job.status}; input goes to running jobs only`, { status: job.status })
    const last = await ctx.db.get<{ seq: number | null }>(
      'SELECT max(seq) AS seq FROM job_inputs WHERE job_id = ?',
      [jobId],
    )
    if (Number(last?.seq ?? 0) >= maxInputs)
      throw conflict(`job ${jobId} holds ${maxInputs} input messages, the most one job takes`, {
        limit: maxInputs,
      })
    // Running, and another sender took this seq: read max(seq) again.
  }
  throw conflict(`job ${jobId} got too many input messages at once; send again`)
}

/** Up to `limit` input messages of the job after `afterSeq`, in order. */
export async function readInputs(
  ctx: EngineContext,
  jobId: string,
  afterSeq: number,
  limit: number,
): Promise<InputRow[]> {
  const rows = await ctx.db.all<{ seq: number; message: string }>(
    'SELECT seq, message FROM job_inputs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    [jobId, afterSeq, limit],
  )
  return rows.map((row) => ({ seq: Number(row.seq), message: JSON.parse(row.message) }))
}

const SWEEP_BATCH = 500

/** Deletes the input of jobs that are gone (the retention sweep, a queue with retention 0); returns rows deleted. */
export async function sweepInputs(ctx: EngineContext): Promise<number> {
  let total = 0
  for (;;) {
    const orphans = await ctx.db.all<{ job_id: string }>(
      `SELECT DISTINCT i.job_id FROM job_inputs i WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.job_id) LIMIT ${SWEEP_BATCH}`,
    )
    if (orphans.length === 0) return total
    const ids = JSON.stringify(orphans.map((row) => row.job_id))
    const sql =
      ctx.db.dialect === 'postgres'
        ? 'DELETE FROM job_inputs WHERE job_id IN (SELECT json_array_elements_text(?::json))'
        : 'DELETE FROM job_inputs WHERE job_id IN (SELECT value FROM json_each(?))'
    total += (await ctx.db.run(sql, [ids])).changes
    if (orphans.length < SWEEP_BATCH) return total
  }
}

/** The input of one deleted job (DELETE /jobs/{id}). */
export async function deleteInputs(ctx: EngineContext, jobId: string): Promise<void> {
  await ctx.db.run('DELETE FROM job_inputs WHERE job_id = ?', [jobId])
}

/**
 * Where a run pushed to an agent starts, in one statement: its log offset (as `nextLogOffset`)
 * and the job's highest input seq (0: no input yet, so nothing to read before the first notice).
 */
export async function runStart(
  ctx: EngineContext,
  jobId: string,
): Promise<{ logOffset: number; inputSeq: number }> {
  const row = await ctx.db.get<{ next: number | null; input: number | null }>(
    'SELECT (SELECT max(seq) + 1 FROM job_logs WHERE job_id = ?) AS next, (SELECT max(seq) FROM job_inputs WHERE job_id = ?) AS input',
    [jobId, jobId],
  )
  return { logOffset: Number(row?.next ?? 0), inputSeq: Number(row?.input ?? 0) }
}

/**
 * "A job got input": this process's sends, plus (PostgreSQL) one LISTEN connection for the sends
 * of other processes, opened with the first subscriber. After a reconnect of that connection the
 * listeners get `*`: a notice may have been missed, so every run reads its input again.
 */
export class InputNotices {
  private readonly events = new EventEmitter()
  private readonly connection: ListenConnection | null

  constructor(db: Db) {
    this.events.setMaxListeners(0)
    const url = db.dialect === 'postgres' && 'url' in db && typeof db.url === 'string' ? db.url : null
    this.connection = url
      ? new ListenConnection(url, INPUT_CHANNEL, {
          onNotice: (jobId) => this.events.emit('input', jobId),
          onListening: () => this.events.emit('input', '*'),
        })
      : null
  }

  emit(jobId: string): void {
    this.events.emit('input', jobId)
  }

  subscribe(listener: InputListener): () => void {
    this.events.on('input', listener)
    this.connection?.open()
    return () => {
      this.events.off('input', listener)
    }
  }

  /** True once LISTEN is in place (always true off PostgreSQL). */
  get listening(): boolean {
    return this.connection ? this.connection.listening : true
  }

  async close(): Promise<void> {
    await this.connection?.close()
    this.events.removeAllListeners()
  }
}
