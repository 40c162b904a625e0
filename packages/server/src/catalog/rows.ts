import type { EndpointKind, EndpointStatus, HttpMethod } from '@edgeforge/protocol'
import { decodeToken, type Page, toPage } from '../http/paging.ts'
import type { Queryable, SqlValue } from '../store/index.ts'
import { joinPath } from './path-template.ts'
import type {
  CollectionRecord,
  DomainRecord,
  EndpointRecord,
  EndpointSummary,
  PageRequest,
} from './records.ts'

/*
 * Rows as the store returns them, their mapping to records, and the SELECTs both dialects share.
 * Flags are 0/1 integers in both dialects; times are integer milliseconds.
 */

export interface DomainRow {
  id: string
  name: string
  host: string
  description: string | null
  enabled: number
  created_at: number
  updated_at: number
}

export interface CollectionRow {
  id: string
  domain_id: string
  name: string
  description: string | null
  base_path: string
  enabled: number
  created_at: number
  updated_at: number
}

interface EndpointRow {
  id: string
  name: string
  kind: string
  queue: string | null
  path: string | null
  method: string | null
  domain: string
  collection_id: string | null
  description: string | null
  code?: string
  dependencies: string
  enabled: number
  status: string
  running_version: number | null
  compiled_version: number | null
  last_error: string | null
  resume_on_enable: number
  timeout_ms: number
  body_limit_bytes: number
  drain_timeout_ms: number
  auth_scopes: string | null
  env: string
  created_at: number
  updated_at: number
  collection_base_path: string | null
  collection_enabled: number | null
  collection_domain_enabled: number | null
  domain_enabled: number | null
}

export const DOMAIN_SELECT =
  'SELECT id, name, host, description, enabled, created_at, updated_at FROM domains'
export const COLLECTION_SELECT =
  'SELECT id, domain_id, name, description, base_path, enabled, created_at, updated_at FROM collections'

const ENDPOINT_COLUMNS = [
  'e.id, e.name, e.kind, e.queue, e.path, e.method, e.domain, e.collection_id, e.description, e.dependencies',
  'e.enabled, e.status, e.running_version, e.compiled_version, e.last_error, e.resume_on_enable',
  'e.timeout_ms, e.body_limit_bytes, e.drain_timeout_ms, e.auth_scopes, e.env, e.created_at, e.updated_at',
  // What routeOf needs: the collection's base path and whether the parents are enabled. The domain
  // is joined both through the collection and by host, so a loose endpoint on a host obeys it too.
  'c.base_path AS collection_base_path, c.enabled AS collection_enabled',
  'cd.enabled AS collection_domain_enabled, d.enabled AS domain_enabled',
].join(', ')
const ENDPOINT_FROM =
  'FROM endpoints e LEFT JOIN collections c ON c.id = e.collection_id ' +
  'LEFT JOIN domains cd ON cd.id = c.domain_id LEFT JOIN domains d ON d.host = e.domain'

/** SELECT … FROM endpoints e (with its parents joined); `e.code` only when asked for. */
export function endpointSelect(withCode: boolean): string {
  return `SELECT ${ENDPOINT_COLUMNS}${withCode ? ', e.code' : ''} ${ENDPOINT_FROM}`
}

export function toDomain(row: DomainRow): DomainRecord {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    description: row.description,
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toCollection(row: CollectionRow): CollectionRecord {
  return {
    id: row.id,
    domainId: row.domain_id,
    name: row.name,
    description: row.description,
    basePath: row.base_path,
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function toSummary(row: EndpointRow): EndpointSummary {
  const parentsEnabled = [row.collection_enabled, row.collection_domain_enabled, row.domain_enabled].every(
    (flag) => flag === null || flag === 1,
  )
  const summary: EndpointSummary = {
    id: row.id,
    name: row.name,
    kind: row.kind as EndpointKind,
    queue: row.queue,
    path: row.path,
    method: row.method as HttpMethod | null,
    domain: row.domain,
    collectionId: row.collection_id,
    description: row.description,
    dependencies: JSON.parse(row.dependencies) as Record<string, string>,
    enabled: row.enabled === 1,
    status: row.status as EndpointStatus,
    runningVersion: row.running_version,
    compiledVersion: row.compiled_version,
    lastError: row.last_error,
    resumeOnEnable: row.resume_on_enable === 1,
    timeoutMs: row.timeout_ms,
    bodyLimitBytes: row.body_limit_bytes,
    drainTimeoutMs: row.drain_timeout_ms,
    authScopes: row.auth_scopes === null ? null : (JSON.parse(row.auth_scopes) as string[]),
    // The values stay in the row: records carry names only, so no record can print a secret.
    envNames: Object.keys(JSON.parse(row.env) as Record<string, string>).sort(),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    fullPath: row.path === null ? null : joinPath(row.collection_base_path ?? '', row.path),
    parentsEnabled,
  }
  if (row.code !== undefined) summary.code = row.code
  return summary
}

export function toEndpoint(row: EndpointRow): EndpointRecord {
  return { ...toSummary(row), code: row.code ?? '' }
}

/** One endpoint with its code, or undefined. */
export async function selectEndpoint(q: Queryable, id: string): Promise<EndpointRecord | undefined> {
  const row = await q.get<EndpointRow>(`${endpointSelect(true)} WHERE e.id = ?`, [id])
  return row && toEndpoint(row)
}

/** Endpoints by id without their code, for comparing routes before and after a change. */
export async function selectEndpointSummaries(
  q: Queryable,
  ids: readonly string[],
): Promise<EndpointSummary[]> {
  const out: EndpointSummary[] = []
  // Well below both dialects' limits on bound parameters per statement.
  for (let start = 0; start < ids.length; start += 500) {
    const chunk = ids.slice(start, start + 500)
    const marks = chunk.map(() => '?').join(', ')
    const rows = await q.all<EndpointRow>(
      `${endpointSelect(false)} WHERE e.id IN (${marks}) ORDER BY e.id`,
      chunk,
    )
    out.push(...rows.map(toSummary))
  }
  return out
}

/** Every endpoint matching `where`, ordered by id, with code. */
export async function selectEndpoints(
  q: Queryable,
  where: string,
  params: SqlValue[],
): Promise<EndpointRecord[]> {
  const rows = await q.all<EndpointRow>(`${endpointSelect(true)} WHERE ${where} ORDER BY e.id`, params)
  return rows.map(toEndpoint)
}

export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

/**
 * One page of `select` (which has no WHERE yet) ordered by `idColumn`: the conditions are ANDed,
 * the continuation token resumes after the last id of the previous page.
 */
export async function selectPage<R, T>(
  q: Queryable,
  select: string,
  idColumn: string,
  conditions: Array<[string, SqlValue]>,
  page: PageRequest,
  map: (row: R) => T & { id: string },
): Promise<Page<T & { id: string }>> {
  const limit = Math.min(Math.max(Math.trunc(page.limit ?? DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE)
  const after = decodeToken(page.continuationToken)
  const where = conditions.map(([sql]) => sql)
  const params = conditions.map(([, value]) => value)
  if (after !== undefined) {
    where.push(`${idColumn} > ?`)
    params.push(after)
  }
  const sql = `${select}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${idColumn} LIMIT ?`
  const rows = await q.all<R>(sql, [...params, limit + 1])
  return toPage(rows.map(map), limit, (item) => item.id)
}

export function endpointListMapper(withCode: boolean): (row: EndpointRow) => EndpointSummary {
  return withCode ? toEndpoint : toSummary
}

/** Whether a driver error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const err = error as { code?: unknown; errcode?: unknown; message?: unknown }
  if (err.code === '23505') return true
  if (err.errcode === 2067 || err.errcode === 1555) return true
  return typeof err.message === 'string' && err.message.startsWith('UNIQUE constraint failed')
}
