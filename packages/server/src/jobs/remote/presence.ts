import type { WorkerInfo } from '@edgeforge/protocol'
import type { Db } from '../../store/index.ts'
import type { WorkerSession } from './session.ts'

/** The PostgreSQL channel a process asks the agent's owning process to drain or disconnect it on. */
export const WORKER_CONTROL_CHANNEL = 'edgeforge_workers'

export interface WorkerControl {
  action: 'drain' | 'disconnect'
  id: string
}

export function workerDto(session: WorkerSession): WorkerInfo {
  return {
    id: session.id,
    group: session.group,
    queues: session.queues,
    concurrency: session.concurrency,
    running_job_ids: [...session.running.keys()],
    draining: session.draining,
    agent_version: session.agentVersion,
    protocol: session.protocol,
    connected_since: new Date(session.connectedAt).toISOString(),
    last_seen: new Date(session.lastSeenAt).toISOString(),
    remote_address: session.remoteAddress,
  }
}

/**
 * The agents of every gateway process on the store: the process holding an agent's socket
 * rewrites its row each lease heartbeat (so `running_job_ids` and `last_seen` are at most one
 * heartbeat old when read from another process) and deletes it on close. Answers the drain or
 * disconnect another process left in the row; a new session (`fresh`) starts with none.
 */
export async function announceAgent(
  db: Db,
  session: WorkerSession,
  ttlMs: number,
  fresh = false,
): Promise<WorkerControl['action'] | undefined> {
  const row = await db.get<{ control: string | null }>(
    `INSERT INTO worker_agents (id, info, expires_at, control) VALUES (?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE SET info = excluded.info, expires_at = excluded.expires_at${fresh ? ', control = NULL' : ''} RETURNING control`,
    [session.id, JSON.stringify(workerDto(session)), Date.now() + ttlMs],
  )
  const control = row?.control
  return control === 'drain' || control === 'disconnect' ? control : undefined
}

export async function retireAgent(db: Db, id: string): Promise<void> {
  await db.run('DELETE FROM worker_agents WHERE id = ?', [id])
}

/** Every agent whose row has not expired, by id. */
export async function liveAgents(db: Db): Promise<WorkerInfo[]> {
  const rows = await db.all<{ info: string }>(
    'SELECT info FROM worker_agents WHERE expires_at > ? ORDER BY id',
    [Date.now()],
  )
  return rows.map((row) => JSON.parse(row.info) as WorkerInfo)
}

export async function liveAgent(db: Db, id: string): Promise<WorkerInfo | undefined> {
  const row = await db.get<{ info: string }>(
    'SELECT info FROM worker_agents WHERE id = ? AND expires_at > ?',
    [id, Date.now()],
  )
  return row ? (JSON.parse(row.info) as WorkerInfo) : undefined
}

/**
 * Asks the process that holds the agent (PostgreSQL only; on SQLite every agent is local): left in
 * its row, read back at the holder's next heartbeat, and notified so it acts at once.
 */
export async function sendControl(db: Db, control: WorkerControl): Promise<void> {
  await db.run('UPDATE worker_agents SET control = ? WHERE id = ?', [control.action, control.id])
  await db.run('SELECT pg_notify(?, ?)', [WORKER_CONTROL_CHANNEL, JSON.stringify(control)])
}

export async function sweepAgents(db: Db): Promise<number> {
  return (await db.run('DELETE FROM worker_agents WHERE expires_at <= ?', [Date.now()])).changes
}

/** A notice on WORKER_CONTROL_CHANNEL, or undefined when it is not one. */
export function parseWorkerControl(payload: string): WorkerControl | undefined {
  try {
    const value = JSON.parse(payload) as Partial<WorkerControl>
    if ((value.action === 'drain' || value.action === 'disconnect') && typeof value.id === 'string')
      return { action: value.action, id: value.id }
  } catch {}
  return undefined
}
