import { v7 as uuidv7 } from 'uuid'
import type { Db, Queryable } from '../store/index.ts'

/** A service record as stored: config and secrets parsed, times in UTC ms. */
export interface ServiceRecord {
  id: string
  name: string
  type: string
  config: Record<string, unknown>
  secrets: Record<string, unknown>
  enabled: boolean
  createdAt: number
  updatedAt: number
}

interface ServiceRow {
  id: string
  name: string
  service_type: string
  config: string
  secrets: string
  enabled: number
  created_at: number | string
  updated_at: number | string
}

const SELECT = 'SELECT id, name, service_type, config, secrets, enabled, created_at, updated_at FROM services'

function toRecord(row: ServiceRow): ServiceRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.service_type,
    config: JSON.parse(row.config),
    secrets: JSON.parse(row.secrets),
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

/** The services and endpoint_services tables. */
export class ServiceStore {
  private readonly db: Db

  constructor(db: Db) {
    this.db = db
  }

  async list(): Promise<ServiceRecord[]> {
    return (await this.db.all<ServiceRow>(`${SELECT} ORDER BY id`)).map(toRecord)
  }

  async get(id: string): Promise<ServiceRecord | undefined> {
    const row = await this.db.get<ServiceRow>(`${SELECT} WHERE id = ?`, [id])
    return row && toRecord(row)
  }

  async byName(name: string): Promise<ServiceRecord | undefined> {
    const row = await this.db.get<ServiceRow>(`${SELECT} WHERE name = ?`, [name])
    return row && toRecord(row)
  }

  async insert(input: Omit<ServiceRecord, 'id' | 'createdAt' | 'updatedAt'>): Promise<ServiceRecord> {
    const now = Date.now()
    const record: ServiceRecord = { ...input, id: uuidv7(), createdAt: now, updatedAt: now }
    await this.db.run(
      'INSERT INTO services (id, name, service_type, config, secrets, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        record.id,
        record.name,
        record.type,
        JSON.stringify(record.config),
        JSON.stringify(record.secrets),
        record.enabled ? 1 : 0,
        now,
        now,
      ],
    )
    return record
  }

  async update(record: ServiceRecord, q: Queryable = this.db): Promise<ServiceRecord> {
    const updated = { ...record, updatedAt: Date.now() }
    await q.run(
      'UPDATE services SET name = ?, config = ?, secrets = ?, enabled = ?, updated_at = ? WHERE id = ?',
      [
        updated.name,
        JSON.stringify(updated.config),
        JSON.stringify(updated.secrets),
        updated.enabled ? 1 : 0,
        updated.updatedAt,
        updated.id,
      ],
    )
    return updated
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM services WHERE id = ?', [id])).changes > 0
  }

  /** Moves bindings along when a service is renamed, so endpoints keep reaching it. */
  async renameBindings(from: string, to: string, q: Queryable = this.db): Promise<void> {
    await q.run('UPDATE endpoint_services SET service_name = ? WHERE service_name = ?', [to, from])
  }

  async bindings(endpointId: string): Promise<Record<string, string>> {
    const rows = await this.db.all<{ binding: string; service_name: string }>(
      'SELECT binding, service_name FROM endpoint_services WHERE endpoint_id = ? ORDER BY binding',
      [endpointId],
    )
    return Object.fromEntries(rows.map((r) => [r.binding, r.service_name]))
  }

  async bind(endpointId: string, binding: string, serviceName: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM endpoint_services WHERE endpoint_id = ? AND binding = ?', [
        endpointId,
        binding,
      ])
      await tx.run('INSERT INTO endpoint_services (endpoint_id, binding, service_name) VALUES (?, ?, ?)', [
        endpointId,
        binding,
        serviceName,
      ])
    })
  }

  async unbind(endpointId: string, binding: string): Promise<boolean> {
    return (
      (
        await this.db.run('DELETE FROM endpoint_services WHERE endpoint_id = ? AND binding = ?', [
          endpointId,
          binding,
        ])
      ).changes > 0
    )
  }

  /** The endpoints that bind a service by name. */
  async endpointsUsing(serviceName: string): Promise<string[]> {
    const rows = await this.db.all<{ endpoint_id: string }>(
      'SELECT DISTINCT endpoint_id FROM endpoint_services WHERE service_name = ? ORDER BY endpoint_id',
      [serviceName],
    )
    return rows.map((r) => r.endpoint_id)
  }
}
