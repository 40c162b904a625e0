import {
  ApiError,
  ENDPOINT_STATUSES,
  type EndpointCreate,
  type EndpointStatus,
  type EndpointUpdate,
  type HttpMethod,
} from '@edgeforge/protocol'
import { v7 as uuidv7 } from 'uuid'
import type { Page } from '../http/paging.ts'
import type { Queryable, SqlValue } from '../store/index.ts'
import { report, trackRouting } from './changes.ts'
import { collectionWithHost } from './collections.ts'
import type {
  CatalogContext,
  EndpointFilter,
  EndpointRecord,
  EndpointStatePatch,
  EndpointSummary,
  PageRequest,
} from './records.ts'
import {
  endpointListMapper,
  endpointSelect,
  isUniqueViolation,
  selectEndpoint,
  selectEndpoints,
  selectPage,
} from './rows.ts'
import {
  checkDependencies,
  checkEndpointDomain,
  checkEndpointName,
  checkJoined,
  checkMethod,
  checkPath,
  checkQueue,
  invalid,
  mergeEnv,
  rejectForKind,
  requireForKind,
} from './validate.ts'

export async function loadEndpoint(q: Queryable, id: string): Promise<EndpointRecord> {
  const endpoint = await selectEndpoint(q, id)
  if (!endpoint) throw new ApiError('not_found', `no endpoint with id ${id}`)
  return endpoint
}

function nameTaken(name: string, existingId?: string): ApiError {
  const which = existingId ? ` (${existingId})` : ''
  return new ApiError('conflict', `an endpoint named ${name} already exists${which}; names are unique`, {
    field: 'body.name',
    ...(existingId ? { existing_id: existingId } : {}),
  })
}

async function assertNameFree(q: Queryable, name: string, exceptId?: string): Promise<void> {
  const taken = await q.get<{ id: string }>('SELECT id FROM endpoints WHERE name = ?', [name])
  if (taken && taken.id !== exceptId) throw nameTaken(name, taken.id)
}

/** Two callers racing for one name: the loser's write fails on the unique index; say so plainly. */
async function guardName<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(name)
    throw error
  }
}

/**
 * The host an endpoint is served on. In a collection it is the collection's domain host (a
 * different explicit `domain` is a mistake worth a 400); elsewhere the requested one or `fallback`.
 */
async function placement(
  q: Queryable,
  collectionId: string | null,
  requested: string | undefined,
  fallback: string,
  path: string | null,
): Promise<string> {
  if (collectionId === null) return requested ?? fallback
  const collection = await collectionWithHost(q, collectionId)
  if (!collection) {
    throw invalid('body.collection_id', `names no collection: there is no collection with id ${collectionId}`)
  }
  if (requested !== undefined && requested !== collection.host) {
    throw invalid(
      'body.domain',
      `"${requested}" differs from the host of the collection's domain (${collection.host}); omit it to use that host`,
    )
  }
  if (path !== null && collection.basePath !== '') {
    checkJoined(
      'body.path',
      collection.basePath,
      path,
      `with the collection's base_path "${collection.basePath}"`,
    )
  }
  return collection.host
}

export async function createEndpoint(ctx: CatalogContext, input: EndpointCreate): Promise<EndpointRecord> {
  const name = checkEndpointName('body.name', input.name)
  const kind = input.kind ?? 'http'
  let path: string | null = null
  let method: HttpMethod | null = null
  let queue: string | null = null
  if (kind === 'http') {
    rejectForKind('body.queue', input.queue, kind, 'job')
    path = checkPath('body.path', requireForKind('body.path', input.path, kind))
    method = checkMethod('body.method', requireForKind('body.method', input.method, kind))
  } else {
    rejectForKind('body.path', input.path, kind, 'http')
    rejectForKind('body.method', input.method, kind, 'http')
    queue = checkQueue('body.queue', requireForKind('body.queue', input.queue, kind))
  }
  const dependencies = checkDependencies('body.dependencies', input.dependencies ?? {})
  const requested = input.domain === undefined ? undefined : checkEndpointDomain('body.domain', input.domain)
  const env = mergeEnv('body.env', {}, input.env ?? {})
  const id = uuidv7()
  const now = Date.now()
  await guardName(name, () =>
    ctx.db.transaction(async (tx) => {
      const domain = await placement(tx, input.collection_id ?? null, requested, '*', path)
      await assertNameFree(tx, name)
      await tx.run(
        'INSERT INTO endpoints (id, name, kind, queue, path, method, domain, collection_id, description, code, ' +
          'dependencies, enabled, timeout_ms, body_limit_bytes, drain_timeout_ms, auth_scopes, env, created_at, updated_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          id,
          name,
          kind,
          queue,
          path,
          method,
          domain,
          input.collection_id ?? null,
          input.description ?? null,
          input.code ?? '',
          JSON.stringify(dependencies),
          input.enabled === false ? 0 : 1,
          input.timeout_ms ?? ctx.defaults.timeoutMs,
          input.body_limit_bytes ?? ctx.defaults.bodyLimitBytes,
          input.drain_timeout_ms ?? ctx.defaults.drainTimeoutMs,
          authColumn(input.auth ?? null),
          JSON.stringify(env),
          now,
          now,
        ],
      )
    }),
  )
  // A new endpoint is not running, so there is no route to announce yet.
  return loadEndpoint(ctx.db, id)
}

export async function updateEndpoint(
  ctx: CatalogContext,
  id: string,
  patch: EndpointUpdate,
): Promise<EndpointRecord> {
  const name = patch.name === undefined ? undefined : checkEndpointName('body.name', patch.name)
  const requested = patch.domain === undefined ? undefined : checkEndpointDomain('body.domain', patch.domain)
  const dependencies =
    patch.dependencies === undefined ? undefined : checkDependencies('body.dependencies', patch.dependencies)
  const { changed } = await guardName(name ?? '', () =>
    ctx.db.transaction(async (tx) => {
      const current = await loadEndpoint(tx, id)
      if (patch.kind !== undefined && patch.kind !== current.kind) {
        throw invalid(
          'body.kind',
          `cannot change from ${current.kind} to ${patch.kind}: create a new endpoint of kind ${patch.kind} instead`,
        )
      }
      let { path, method, queue } = current
      if (current.kind === 'http') {
        rejectForKind('body.queue', patch.queue, current.kind, 'job')
        if (patch.path !== undefined) path = checkPath('body.path', patch.path)
        if (patch.method !== undefined) method = checkMethod('body.method', patch.method)
      } else {
        rejectForKind('body.path', patch.path, current.kind, 'http')
        rejectForKind('body.method', patch.method, current.kind, 'http')
        if (patch.queue !== undefined) queue = checkQueue('body.queue', patch.queue)
      }
      const collectionId = patch.collection_id === undefined ? current.collectionId : patch.collection_id
      const domain = await placement(tx, collectionId, requested, current.domain, path)
      if (name !== undefined && name !== current.name) await assertNameFree(tx, name, id)
      const env =
        patch.env === undefined ? undefined : mergeEnv('body.env', await endpointEnv(tx, id), patch.env)
      if (env !== undefined)
        await tx.run('UPDATE endpoints SET env = ? WHERE id = ?', [JSON.stringify(env), id])
      return trackRouting(tx, ctx.hooks, [id], () =>
        tx.run(
          'UPDATE endpoints SET name = ?, queue = ?, path = ?, method = ?, domain = ?, collection_id = ?, ' +
            'description = ?, code = ?, dependencies = ?, enabled = ?, timeout_ms = ?, body_limit_bytes = ?, ' +
            'drain_timeout_ms = ?, auth_scopes = ?, updated_at = ? WHERE id = ?',
          [
            name ?? current.name,
            queue,
            path,
            method,
            domain,
            collectionId,
            patch.description === undefined ? current.description : patch.description,
            patch.code ?? current.code,
            JSON.stringify(dependencies ?? current.dependencies),
            (patch.enabled ?? current.enabled) ? 1 : 0,
            patch.timeout_ms ?? current.timeoutMs,
            patch.body_limit_bytes ?? current.bodyLimitBytes,
            patch.drain_timeout_ms ?? current.drainTimeoutMs,
            patch.auth === undefined
              ? authColumn(current.authScopes && { scopes: current.authScopes })
              : authColumn(patch.auth),
            Object.keys(patch).length ? Date.now() : current.updatedAt,
            id,
          ],
        ),
      )
    }),
  )
  await report(ctx.hooks, changed, [])
  return loadEndpoint(ctx.db, id)
}

export async function deleteEndpoint(ctx: CatalogContext, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ id: string }>('SELECT id FROM endpoints WHERE id = ?', [id])
    if (!row) throw new ApiError('not_found', `no endpoint with id ${id}`)
    await tx.run('DELETE FROM endpoints WHERE id = ?', [id])
  })
  await report(ctx.hooks, [], [id])
}

/**
 * The endpoint's environment variables with their values: what its handler gets as `ctx.env`. The
 * deploy lifecycle is its only reader; no record or answer carries the values.
 */
export async function endpointEnv(q: Queryable, id: string): Promise<Record<string, string>> {
  const row = await q.get<{ env: string }>('SELECT env FROM endpoints WHERE id = ?', [id])
  if (!row) throw new ApiError('not_found', `no endpoint with id ${id}`)
  return JSON.parse(row.env) as Record<string, string>
}

export async function findEndpointByName(
  ctx: CatalogContext,
  name: string,
): Promise<EndpointRecord | undefined> {
  const [endpoint] = await selectEndpoints(ctx.db, 'e.name = ?', [name])
  return endpoint
}

export function listEndpoints(
  ctx: CatalogContext,
  filter: EndpointFilter,
  page: PageRequest,
): Promise<Page<EndpointSummary>> {
  const conditions: Array<[string, SqlValue]> = []
  if (filter.domain !== undefined) conditions.push(['e.domain = ?', filter.domain.toLowerCase()])
  if (filter.name !== undefined) conditions.push(['e.name = ?', filter.name])
  if (filter.collectionId !== undefined) conditions.push(['e.collection_id = ?', filter.collectionId])
  if (filter.enabled !== undefined) conditions.push(['e.enabled = ?', filter.enabled ? 1 : 0])
  if (filter.kind !== undefined) conditions.push(['e.kind = ?', filter.kind])
  if (filter.status !== undefined) conditions.push(['e.status = ?', filter.status])
  const withCode = filter.includeCode === true
  return selectPage(ctx.db, endpointSelect(withCode), 'e.id', conditions, page, endpointListMapper(withCode))
}

export async function countEndpoints(
  ctx: CatalogContext,
): Promise<{ total: number; running: { http: number; job: number } }> {
  type Count = number | string | null
  const row = await ctx.db.get<{ total: Count; http: Count; job: Count }>(
    'SELECT COUNT(*) AS total, ' +
      "SUM(CASE WHEN status = 'running' AND kind = 'http' THEN 1 ELSE 0 END) AS http, " +
      "SUM(CASE WHEN status = 'running' AND kind = 'job' THEN 1 ELSE 0 END) AS job FROM endpoints",
  )
  // PostgreSQL returns COUNT and SUM as int8/numeric, which arrive as strings or numbers.
  return {
    total: Number(row?.total ?? 0),
    running: { http: Number(row?.http ?? 0), job: Number(row?.job ?? 0) },
  }
}

export function listEndpointsByStatus(
  ctx: CatalogContext,
  status: EndpointStatus,
): Promise<EndpointRecord[]> {
  return selectEndpoints(ctx.db, 'e.status = ?', [status])
}

export async function setEndpointState(
  ctx: CatalogContext,
  id: string,
  patch: EndpointStatePatch,
): Promise<EndpointRecord> {
  const sets: string[] = []
  const params: SqlValue[] = []
  if (patch.status !== undefined) {
    if (!ENDPOINT_STATUSES.includes(patch.status))
      throw new TypeError(`unknown endpoint status ${patch.status}`)
    sets.push('status = ?')
    params.push(patch.status)
  }
  if (patch.runningVersion !== undefined) {
    sets.push('running_version = ?')
    params.push(patch.runningVersion)
  }
  if (patch.compiledVersion !== undefined) {
    sets.push('compiled_version = ?')
    params.push(patch.compiledVersion)
  }
  if (patch.lastError !== undefined) {
    sets.push('last_error = ?')
    params.push(patch.lastError)
  }
  if (patch.resumeOnEnable !== undefined) {
    sets.push('resume_on_enable = ?')
    params.push(patch.resumeOnEnable ? 1 : 0)
  }
  if (sets.length) {
    const { changes } = await ctx.db.run(`UPDATE endpoints SET ${sets.join(', ')} WHERE id = ?`, [
      ...params,
      id,
    ])
    if (changes === 0) throw new ApiError('not_found', `no endpoint with id ${id}`)
  }
  return loadEndpoint(ctx.db, id)
}

/** The auth_scopes column: the endpoint's required scopes as JSON, or NULL when it is public. */
function authColumn(auth: { scopes: string[] } | null): string | null {
  return auth === null ? null : JSON.stringify([...new Set(auth.scopes)].sort())
}
