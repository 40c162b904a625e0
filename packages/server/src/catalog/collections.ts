import { ApiError, type CollectionCreate, type CollectionUpdate } from '@edgeforge/protocol'
import { v7 as uuidv7 } from 'uuid'
import type { Page } from '../http/paging.ts'
import type { Queryable, SqlValue } from '../store/index.ts'
import { report, trackRouting } from './changes.ts'
import type { CatalogContext, CollectionRecord, PageRequest } from './records.ts'
import { COLLECTION_SELECT, type CollectionRow, selectPage, toCollection } from './rows.ts'
import { checkBasePath, checkJoined, invalid } from './validate.ts'

export async function loadCollection(q: Queryable, id: string): Promise<CollectionRecord> {
  const row = await q.get<CollectionRow>(`${COLLECTION_SELECT} WHERE id = ?`, [id])
  if (!row) throw new ApiError('not_found', `no collection with id ${id}`)
  return toCollection(row)
}

/** A collection with the host of its domain: what an endpoint in it is served on. */
export async function collectionWithHost(
  q: Queryable,
  id: string,
): Promise<(CollectionRecord & { host: string }) | undefined> {
  const row = await q.get<CollectionRow & { host: string }>(
    'SELECT c.id, c.domain_id, c.name, c.description, c.base_path, c.enabled, c.created_at, c.updated_at, d.host ' +
      'FROM collections c JOIN domains d ON d.id = c.domain_id WHERE c.id = ?',
    [id],
  )
  return row && { ...toCollection(row), host: row.host }
}

export async function createCollection(
  ctx: CatalogContext,
  input: CollectionCreate,
): Promise<CollectionRecord> {
  const basePath = checkBasePath('body.base_path', input.base_path ?? '')
  const id = uuidv7()
  const now = Date.now()
  await ctx.db.transaction(async (tx) => {
    const domain = await tx.get<{ id: string }>('SELECT id FROM domains WHERE id = ?', [input.domain_id])
    if (!domain)
      throw invalid('body.domain_id', `names no domain: there is no domain with id ${input.domain_id}`)
    await tx.run(
      'INSERT INTO collections (id, domain_id, name, description, base_path, enabled, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        id,
        input.domain_id,
        input.name,
        input.description ?? null,
        basePath,
        input.enabled === false ? 0 : 1,
        now,
        now,
      ],
    )
  })
  return loadCollection(ctx.db, id)
}

export async function listCollections(
  ctx: CatalogContext,
  filter: { domainId?: string },
  page: PageRequest,
): Promise<Page<CollectionRecord>> {
  const conditions: Array<[string, SqlValue]> = []
  if (filter.domainId !== undefined) conditions.push(['domain_id = ?', filter.domainId])
  return selectPage(ctx.db, COLLECTION_SELECT, 'id', conditions, page, toCollection)
}

export async function updateCollection(
  ctx: CatalogContext,
  id: string,
  patch: CollectionUpdate,
): Promise<CollectionRecord> {
  const newBasePath =
    patch.base_path === undefined ? undefined : checkBasePath('body.base_path', patch.base_path)
  const { changed } = await ctx.db.transaction(async (tx) => {
    const current = await loadCollection(tx, id)
    const basePath = newBasePath ?? current.basePath
    const members = await tx.all<{ id: string; name: string; path: string | null }>(
      'SELECT id, name, path FROM endpoints WHERE collection_id = ? ORDER BY id',
      [id],
    )
    if (basePath !== current.basePath) {
      for (const member of members) {
        if (member.path !== null) {
          checkJoined(
            'body.base_path',
            basePath,
            member.path,
            `with endpoint ${member.name}'s path "${member.path}"`,
          )
        }
      }
    }
    return trackRouting(
      tx,
      ctx.hooks,
      members.map((member) => member.id),
      () =>
        tx.run(
          'UPDATE collections SET name = ?, description = ?, base_path = ?, enabled = ?, updated_at = ? WHERE id = ?',
          [
            patch.name ?? current.name,
            patch.description === undefined ? current.description : patch.description,
            basePath,
            (patch.enabled ?? current.enabled) ? 1 : 0,
            Object.keys(patch).length ? Date.now() : current.updatedAt,
            id,
          ],
        ),
    )
  })
  await report(ctx.hooks, changed, [])
  return loadCollection(ctx.db, id)
}

/** Deletes the collection and its endpoints. */
export async function deleteCollection(ctx: CatalogContext, id: string): Promise<void> {
  const removed = await ctx.db.transaction(async (tx) => {
    await loadCollection(tx, id)
    const rows = await tx.all<{ id: string }>(
      'SELECT id FROM endpoints WHERE collection_id = ? ORDER BY id',
      [id],
    )
    await tx.run('DELETE FROM endpoints WHERE collection_id = ?', [id])
    await tx.run('DELETE FROM collections WHERE id = ?', [id])
    return rows.map((row) => row.id)
  })
  await report(ctx.hooks, [], removed)
}
