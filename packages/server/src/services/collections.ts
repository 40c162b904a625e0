import { ServiceError, type StoredRecord } from '@edgeforge/sdk'
import type { ActiveService } from './service.ts'

/*
 * The Storage abstraction (`ctx.records(service, collection)`): JSON records on whatever the
 * service is, built from the service's own operations, so they run through its actor (pool,
 * queue, timeouts) like any other call.
 *
 * - database: a table named after the collection, created on first use, with `id` (primary key),
 *   `status` (the record's `status` field, for `list(filter)`) and `data` (the JSON text);
 * - storage: objects `<collection>/<id>.json`;
 * - files: files `<collection>/<id>.json` under the service's base path.
 *
 * `list(filter)` keeps the records whose `status` equals the filter, on every backend.
 */

const COLLECTION = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const ID = /^[A-Za-z0-9_.-]{1,128}$/

export async function recordsOp(
  service: ActiveService,
  op: string,
  args: readonly unknown[],
): Promise<unknown> {
  const [collection, ...rest] = args
  if (typeof collection !== 'string' || !COLLECTION.test(collection))
    throw new TypeError('a collection name is a letter or _ then up to 62 letters, digits or _')
  const backend = backendFor(service, collection)
  switch (op) {
    case 'get':
      return backend.get(recordId(rest[0]))
    case 'list': {
      const filter = rest[0]
      if (filter !== undefined && filter !== null && typeof filter !== 'string')
        throw new TypeError('a list filter is a string')
      const all = await backend.list()
      return filter ? all.filter((r) => r.status === filter) : all
    }
    case 'create': {
      const id = recordId(rest[0])
      const record = { ...document(rest[1]), id }
      if (!(await backend.insert(id, record)))
        throw new ServiceError(
          service.name,
          'conflict',
          `a record with id "${id}" already exists in ${collection}`,
        )
      return record
    }
    case 'update': {
      const id = recordId(rest[0])
      return backend.replace(id, { ...document(rest[1]), id })
    }
    case 'delete':
      return backend.remove(recordId(rest[0]))
  }
  throw new TypeError(`records have no operation "${op}"`)
}

interface Backend {
  get(id: string): Promise<StoredRecord | null>
  list(): Promise<StoredRecord[]>
  /** false when the id is taken. */
  insert(id: string, record: StoredRecord): Promise<boolean>
  /** false when there is no such record. */
  replace(id: string, record: StoredRecord): Promise<boolean>
  remove(id: string): Promise<boolean>
}

function backendFor(service: ActiveService, collection: string): Backend {
  switch (service.kind.family) {
    case 'database':
      return tableBackend(service, collection)
    case 'storage':
      return objectBackend(service, collection)
    case 'files':
      return fileBackend(service, collection)
    default:
      throw new TypeError(
        `ctx.records() needs a database, storage or files service; "${service.name}" is ${service.kind.type}`,
      )
  }
}

function tableBackend(service: ActiveService, table: string): Backend {
  const sql = (text: string, params: unknown[] = []) =>
    service.invoke('query', [text, params]) as Promise<Record<string, unknown>[]>
  const run = (text: string, params: unknown[]) =>
    service.invoke('execute', [text, params]) as Promise<{ rowsAffected: number }>
  const idType = service.kind.type === 'mysql' ? 'VARCHAR(128)' : 'TEXT'
  const statusType = service.kind.type === 'mysql' ? 'VARCHAR(255)' : 'TEXT'
  let ready: Promise<unknown> | undefined
  const ensure = () => {
    ready ??= run(
      `CREATE TABLE IF NOT EXISTS ${table} (id ${idType} PRIMARY KEY, status ${statusType}, data TEXT NOT NULL)`,
      [],
    )
    return ready
  }
  const parse = (row: Record<string, unknown>) => JSON.parse(String(row.data)) as StoredRecord
  const status = (record: StoredRecord) => (typeof record.status === 'string' ? record.status : null)
  return {
    async get(id) {
      await ensure()
      const [row] = await sql(`SELECT data FROM ${table} WHERE id = ?`, [id])
      return row ? parse(row) : null
    },
    async list() {
      await ensure()
      return (await sql(`SELECT data FROM ${table} ORDER BY id`)).map(parse)
    },
    async insert(id, record) {
      await ensure()
      if ((await sql(`SELECT id FROM ${table} WHERE id = ?`, [id])).length > 0) return false
      await run(`INSERT INTO ${table} (id, status, data) VALUES (?, ?, ?)`, [
        id,
        status(record),
        JSON.stringify(record),
      ])
      return true
    },
    async replace(id, record) {
      await ensure()
      const { rowsAffected } = await run(`UPDATE ${table} SET status = ?, data = ? WHERE id = ?`, [
        status(record),
        JSON.stringify(record),
        id,
      ])
      return rowsAffected > 0
    },
    async remove(id) {
      await ensure()
      return (await run(`DELETE FROM ${table} WHERE id = ?`, [id])).rowsAffected > 0
    },
  }
}

function objectBackend(service: ActiveService, collection: string): Backend {
  const key = (id: string) => `${collection}/${id}.json`
  const read = async (k: string) => {
    const object = (await service.invoke('get', [k])) as { body: Uint8Array } | null
    return object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as StoredRecord) : null
  }
  const write = (k: string, record: StoredRecord) =>
    service.invoke('put', [k, Buffer.from(JSON.stringify(record)), 'application/json'])
  return {
    get: (id) => read(key(id)),
    async list() {
      const keys: string[] = []
      let token: string | null = null
      do {
        const page = (await service.invoke('list', [`${collection}/`, 1000, token])) as {
          objects: { key: string }[]
          continuationToken: string | null
        }
        for (const o of page.objects)
          if (o.key.endsWith('.json') && !o.key.slice(collection.length + 1).includes('/')) keys.push(o.key)
        token = page.continuationToken
      } while (token)
      const records = await Promise.all(keys.sort().map(read))
      return records.filter((r): r is StoredRecord => r !== null)
    },
    async insert(id, record) {
      if (await service.invoke('head', [key(id)])) return false
      await write(key(id), record)
      return true
    },
    async replace(id, record) {
      if (!(await service.invoke('head', [key(id)]))) return false
      await write(key(id), record)
      return true
    },
    async remove(id) {
      if (!(await service.invoke('head', [key(id)]))) return false
      await service.invoke('delete', [key(id)])
      return true
    },
  }
}

function fileBackend(service: ActiveService, collection: string): Backend {
  const path = (id: string) => `${collection}/${id}.json`
  const read = async (p: string) => {
    try {
      return JSON.parse(
        Buffer.from((await service.invoke('get', [p])) as Uint8Array).toString('utf8'),
      ) as StoredRecord
    } catch (error) {
      if ((error as { code?: string }).code === 'not_found') return null
      throw error
    }
  }
  let ready: Promise<unknown> | undefined
  const ensure = () => {
    ready ??= service.invoke('mkdir', [collection])
    return ready
  }
  const exists = async (id: string) => {
    const entries = (await service.invoke('list', [collection])) as { name: string }[]
    return entries.some((e) => e.name === `${id}.json`)
  }
  return {
    async get(id) {
      await ensure()
      return read(path(id))
    },
    async list() {
      await ensure()
      const entries = (await service.invoke('list', [collection])) as { name: string; isDirectory: boolean }[]
      const names = entries
        .filter((e) => !e.isDirectory && e.name.endsWith('.json'))
        .map((e) => e.name)
        .sort()
      const records = await Promise.all(names.map((n) => read(`${collection}/${n}`)))
      return records.filter((r): r is StoredRecord => r !== null)
    },
    async insert(id, record) {
      await ensure()
      if (await exists(id)) return false
      await service.invoke('put', [path(id), Buffer.from(JSON.stringify(record))])
      return true
    },
    async replace(id, record) {
      await ensure()
      if (!(await exists(id))) return false
      await service.invoke('put', [path(id), Buffer.from(JSON.stringify(record))])
      return true
    },
    async remove(id) {
      await ensure()
      return (await service.invoke('delete', [path(id)])) as boolean
    },
  }
}

function recordId(id: unknown): string {
  if (typeof id !== 'string' || !ID.test(id) || id === '.' || id === '..')
    throw new TypeError('a record id is 1 to 128 letters, digits, _, - or .')
  return id
}

function document(record: unknown): Record<string, unknown> {
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new TypeError('a record is a JSON object')
  return JSON.parse(JSON.stringify(record)) as Record<string, unknown>
}
