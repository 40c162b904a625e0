import { ApiError, type DomainCreate, type DomainUpdate } from '@edgeforge/protocol'
import { v7 as uuidv7 } from 'uuid'
import type { Page } from '../http/paging.ts'
import type { Queryable } from '../store/index.ts'
import { report, trackRouting } from './changes.ts'
import type { CatalogContext, DomainRecord, PageRequest } from './records.ts'
import { DOMAIN_SELECT, type DomainRow, isUniqueViolation, selectPage, toDomain } from './rows.ts'
import { checkHost } from './validate.ts'

export async function loadDomain(q: Queryable, id: string): Promise<DomainRecord> {
  const row = await q.get<DomainRow>(`${DOMAIN_SELECT} WHERE id = ?`, [id])
  if (!row) throw new ApiError('not_found', `no domain with id ${id}`)
  return toDomain(row)
}

async function assertHostFree(q: Queryable, host: string, exceptId?: string): Promise<void> {
  const taken = await q.get<{ id: string }>('SELECT id FROM domains WHERE host = ?', [host])
  if (taken && taken.id !== exceptId) throw hostTaken(host, taken.id)
}

function hostTaken(host: string, existingId?: string): ApiError {
  const which = existingId ? ` (${existingId})` : ''
  return new ApiError('conflict', `host ${host} already belongs to another domain${which}`, {
    field: 'body.host',
    ...(existingId ? { existing_id: existingId } : {}),
  })
}

/** Endpoints a change to this domain can re-route: those in its collections and those on its hosts. */
async function endpointsOf(q: Queryable, domainId: string, hosts: string[]): Promise<string[]> {
  const marks = hosts.map(() => '?').join(', ')
  const rows = await q.all<{ id: string }>(
    `SELECT id FROM endpoints WHERE domain IN (${marks}) OR collection_id IN (SELECT id FROM collections WHERE domain_id = ?) ORDER BY id`,
    [...hosts, domainId],
  )
  return rows.map((row) => row.id)
}

export async function createDomain(ctx: CatalogContext, input: DomainCreate): Promise<DomainRecord> {
  const host = checkHost('body.host', input.host)
  const id = uuidv7()
  const now = Date.now()
  const { changed } = await guardUnique(host, () =>
    ctx.db.transaction(async (tx) => {
      await assertHostFree(tx, host)
      // Endpoints already on this host (without a domain record) now obey its enabled flag.
      const adopted = await endpointsOf(tx, id, [host])
      return trackRouting(tx, ctx.hooks, adopted, () =>
        tx.run(
          'INSERT INTO domains (id, name, host, description, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [id, input.name, host, input.description ?? null, input.enabled === false ? 0 : 1, now, now],
        ),
      )
    }),
  )
  await report(ctx.hooks, changed, [])
  return loadDomain(ctx.db, id)
}

export function listDomains(ctx: CatalogContext, page: PageRequest): Promise<Page<DomainRecord>> {
  return selectPage(ctx.db, DOMAIN_SELECT, 'id', [], page, toDomain)
}

export async function updateDomain(
  ctx: CatalogContext,
  id: string,
  patch: DomainUpdate,
): Promise<DomainRecord> {
  const newHost = patch.host === undefined ? undefined : checkHost('body.host', patch.host)
  const { changed } = await guardUnique(newHost ?? '', () =>
    ctx.db.transaction(async (tx) => {
      const current = await loadDomain(tx, id)
      const host = newHost ?? current.host
      if (host !== current.host) await assertHostFree(tx, host, id)
      const affected = await endpointsOf(tx, id, [...new Set([current.host, host])])
      return trackRouting(tx, ctx.hooks, affected, async () => {
        await tx.run(
          'UPDATE domains SET name = ?, host = ?, description = ?, enabled = ?, updated_at = ? WHERE id = ?',
          [
            patch.name ?? current.name,
            host,
            patch.description === undefined ? current.description : patch.description,
            (patch.enabled ?? current.enabled) ? 1 : 0,
            Object.keys(patch).length ? Date.now() : current.updatedAt,
            id,
          ],
        )
        // The endpoints that were served on the old host move with the domain.
        if (host !== current.host)
          await tx.run('UPDATE endpoints SET domain = ? WHERE domain = ?', [host, current.host])
      })
    }),
  )
  await report(ctx.hooks, changed, [])
  return loadDomain(ctx.db, id)
}

/** Deletes the domain, its collections, their endpoints and the endpoints served on its host. */
export async function deleteDomain(ctx: CatalogContext, id: string): Promise<void> {
  const removed = await ctx.db.transaction(async (tx) => {
    const domain = await loadDomain(tx, id)
    const ids = await endpointsOf(tx, id, [domain.host])
    await tx.run(
      'DELETE FROM endpoints WHERE domain = ? OR collection_id IN (SELECT id FROM collections WHERE domain_id = ?)',
      [domain.host, id],
    )
    await tx.run('DELETE FROM collections WHERE domain_id = ?', [id])
    await tx.run('DELETE FROM domains WHERE id = ?', [id])
    return ids
  })
  await report(ctx.hooks, [], removed)
}

/** Two callers racing for one host: the loser's insert fails on the unique index; say so plainly. */
async function guardUnique<T>(host: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (isUniqueViolation(error)) throw hostTaken(host)
    throw error
  }
}
