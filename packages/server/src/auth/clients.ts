import { ApiError } from '@edgeforge/protocol'
import type { Db, SqlValue } from '../store/index.ts'
import { hashAccessToken, newAccessToken, publicKeyOf } from './keys.ts'
import { isValidScope, normalizeScopes } from './scopes.ts'

/** A client as the store knows it: never the access token, only what verifies it. */
export interface ClientRecord {
  clientId: string
  description: string
  scopes: string[]
  /** UTC ms; null never expires. */
  expiresAt: number | null
  disabled: boolean
  createdAt: number
  updatedAt: number
  tokenResetAt: number
  publicKey: string
}

export interface ClientInput {
  description?: string
  scopes: string[]
  expiresAt?: number | null
}

export interface ClientPatch {
  description?: string
  scopes?: string[]
  expiresAt?: number | null
}

/** Same rules as Taskcluster's client ids: slashes allowed, so teams can use prefixes (`ci/hello`). */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9!@/:.+|_-]{1,128}$'
const CLIENT_ID_RE = new RegExp(CLIENT_ID_PATTERN)
/** The id of the configured admin token's client; it lives in the configuration, not the store. */
export const ROOT_CLIENT_ID = 'root'

interface ClientRow {
  client_id: string
  description: string
  scopes: string
  public_key: string
  expires_at: number | null
  disabled: number
  created_at: number
  updated_at: number
  token_reset_at: number
}

const COLUMNS =
  'client_id, description, scopes, public_key, expires_at, disabled, created_at, updated_at, token_reset_at'

function toRecord(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    description: row.description,
    scopes: JSON.parse(row.scopes) as string[],
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    disabled: Number(row.disabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    tokenResetAt: Number(row.token_reset_at),
    publicKey: row.public_key,
  }
}

/** The auth_clients table. Every write says what changed so caches can drop it (onChange). */
export class ClientStore {
  private readonly db: Db
  private readonly onChange: (clientId: string) => void | Promise<void>

  constructor(db: Db, onChange: (clientId: string) => void | Promise<void> = () => {}) {
    this.db = db
    this.onChange = onChange
  }

  /** Creates a client and returns it with its access token, which is shown this once. */
  async create(clientId: string, input: ClientInput): Promise<{ client: ClientRecord; accessToken: string }> {
    checkClientId(clientId)
    const scopes = checkScopes(input.scopes)
    const accessToken = newAccessToken()
    const now = Date.now()
    try {
      await this.db.run(
        `INSERT INTO auth_clients (client_id, description, scopes, token_hash, public_key, expires_at, disabled,
           created_at, updated_at, token_reset_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
        [
          clientId,
          input.description ?? '',
          JSON.stringify(scopes),
          hashAccessToken(accessToken),
          publicKeyOf(accessToken),
          input.expiresAt ?? null,
          now,
          now,
          now,
        ],
      )
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ApiError('conflict', `a client with id ${clientId} already exists; client ids are unique`, {
          client_id: clientId,
        })
      throw error
    }
    await this.onChange(clientId)
    return { client: await this.get(clientId), accessToken }
  }

  async find(clientId: string): Promise<ClientRecord | undefined> {
    const row = await this.db.get<ClientRow>(`SELECT ${COLUMNS} FROM auth_clients WHERE client_id = ?`, [
      clientId,
    ])
    return row ? toRecord(row) : undefined
  }

  async get(clientId: string): Promise<ClientRecord> {
    const found = await this.find(clientId)
    if (!found) throw notFound(clientId)
    return found
  }

  async findByToken(accessToken: string): Promise<ClientRecord | undefined> {
    const row = await this.db.get<ClientRow>(`SELECT ${COLUMNS} FROM auth_clients WHERE token_hash = ?`, [
      hashAccessToken(accessToken),
    ])
    return row ? toRecord(row) : undefined
  }

  /** A page of clients ordered by id, optionally only those whose id starts with `prefix`. */
  async list(options: { limit: number; after?: string; prefix?: string }): Promise<ClientRecord[]> {
    const where: string[] = []
    const params: SqlValue[] = []
    if (options.after !== undefined) {
      where.push('client_id > ?')
      params.push(options.after)
    }
    if (options.prefix) {
      // Range instead of LIKE: client ids may contain `_`, and the range uses the primary key.
      where.push('client_id >= ? AND client_id < ?')
      params.push(options.prefix, `${options.prefix}\u{10ffff}`)
    }
    params.push(options.limit)
    const rows = await this.db.all<ClientRow>(
      `SELECT ${COLUMNS} FROM auth_clients ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY client_id LIMIT ?`,
      params,
    )
    return rows.map(toRecord)
  }

  async update(clientId: string, patch: ClientPatch): Promise<ClientRecord> {
    const sets: string[] = []
    const params: SqlValue[] = []
    if (patch.description !== undefined) {
      sets.push('description = ?')
      params.push(patch.description)
    }
    if (patch.scopes !== undefined) {
      sets.push('scopes = ?')
      params.push(JSON.stringify(checkScopes(patch.scopes)))
    }
    if (patch.expiresAt !== undefined) {
      sets.push('expires_at = ?')
      params.push(patch.expiresAt)
    }
    sets.push('updated_at = ?')
    params.push(Date.now(), clientId)
    const { changes } = await this.db.run(
      `UPDATE auth_clients SET ${sets.join(', ')} WHERE client_id = ?`,
      params,
    )
    if (changes === 0) throw notFound(clientId)
    await this.onChange(clientId)
    return this.get(clientId)
  }

  async setDisabled(clientId: string, disabled: boolean): Promise<ClientRecord> {
    const { changes } = await this.db.run(
      'UPDATE auth_clients SET disabled = ?, updated_at = ? WHERE client_id = ?',
      [disabled ? 1 : 0, Date.now(), clientId],
    )
    if (changes === 0) throw notFound(clientId)
    await this.onChange(clientId)
    return this.get(clientId)
  }

  /** A new access token; the old one, and everything signed with it, stops working at once. */
  async resetToken(clientId: string): Promise<{ client: ClientRecord; accessToken: string }> {
    const accessToken = newAccessToken()
    const now = Date.now()
    const { changes } = await this.db.run(
      'UPDATE auth_clients SET token_hash = ?, public_key = ?, updated_at = ?, token_reset_at = ? WHERE client_id = ?',
      [hashAccessToken(accessToken), publicKeyOf(accessToken), now, now, clientId],
    )
    if (changes === 0) throw notFound(clientId)
    await this.onChange(clientId)
    return { client: await this.get(clientId), accessToken }
  }

  async delete(clientId: string): Promise<void> {
    const { changes } = await this.db.run('DELETE FROM auth_clients WHERE client_id = ?', [clientId])
    if (changes === 0) throw notFound(clientId)
    await this.onChange(clientId)
  }
}

export function checkClientId(clientId: string): void {
  if (!CLIENT_ID_RE.test(clientId))
    throw new ApiError(
      'validation_failed',
      'client id must be 1-128 characters of letters, digits and !@/:.+|_-',
      { field: 'params.clientId' },
    )
  if (clientId === ROOT_CLIENT_ID)
    throw new ApiError(
      'conflict',
      `client id ${ROOT_CLIENT_ID} is the configured admin token's; pick another`,
      {
        client_id: clientId,
      },
    )
}

function checkScopes(scopes: readonly string[]): string[] {
  const bad = scopes.find((scope) => !isValidScope(scope))
  if (bad !== undefined)
    throw new ApiError(
      'validation_failed',
      `scope ${JSON.stringify(bad)} is not 1-256 printable characters without spaces`,
      {
        field: 'body.scopes',
      },
    )
  return normalizeScopes(scopes)
}

function notFound(clientId: string): ApiError {
  return new ApiError('not_found', `no client with id ${clientId}`, { client_id: clientId })
}

function isUniqueViolation(error: unknown): boolean {
  const err = error as { code?: unknown; errcode?: unknown; message?: unknown } | null
  if (!err || typeof err !== 'object') return false
  if (err.code === '23505' || err.errcode === 2067 || err.errcode === 1555) return true
  return typeof err.message === 'string' && err.message.startsWith('UNIQUE constraint failed')
}
