import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ApiError } from '@edgeforge/protocol'
import { backends } from '../../test/support/backends.ts'
import { listMigrations } from './migrate.ts'
import { toPositional } from './postgres.ts'

test('each dialect numbers its migrations once: versions strictly increase', () => {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const versions = listMigrations(dialect).map((m) => m.version)
    assert.deepEqual(
      versions,
      [...new Set(versions)].sort((a, b) => a - b),
      dialect,
    )
  }
})

for (const [name, open] of backends) {
  describe(`store on ${name}`, () => {
    test('applies every migration once and reports the schema version', async (t) => {
      const db = await open(t)
      if (!db) return
      const rows = await db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
      assert.deepEqual(
        rows.map((row) => row.version),
        listMigrations(db.dialect).map((m) => m.version),
      )
    })

    test('a transaction that throws leaves nothing behind; one that resolves commits', async (t) => {
      const db = await open(t)
      if (!db) return
      const now = Date.now()
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run(
            'INSERT INTO domains (id, name, host, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
            ['d1', 'one', 'one.test', now, now],
          )
          throw new Error('abort')
        }),
        /abort/,
      )
      assert.equal(await db.get('SELECT id FROM domains WHERE id = ?', ['d1']), undefined)
      await db.transaction((tx) =>
        tx.run('INSERT INTO domains (id, name, host, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
          'd2',
          'two',
          'two.test',
          now,
          now,
        ]),
      )
      const row = await db.get<{ host: string; created_at: number }>(
        'SELECT host, created_at FROM domains WHERE id = ?',
        ['d2'],
      )
      assert.deepEqual({ ...row }, { host: 'two.test', created_at: now })
    })

    test('transactions started in the same tick take turns', async (t) => {
      const db = await open(t)
      if (!db) return
      const now = Date.now()
      await Promise.all(
        ['x', 'y', 'z'].map((id) =>
          db.transaction(async (tx) => {
            await tx.run(
              'INSERT INTO domains (id, name, host, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
              [id, id, `${id}.test`, now, now],
            )
            await new Promise((resolve) => setTimeout(resolve, 5))
          }),
        ),
      )
      const ids = (await db.all<{ id: string }>('SELECT id FROM domains ORDER BY id')).map((r) => r.id)
      assert.deepEqual(ids, ['x', 'y', 'z'])
    })

    test('statements outside a transaction wait for it instead of joining it', async (t) => {
      const db = await open(t)
      if (!db) return
      const now = Date.now()
      let outsideDone = false
      const inside = db.transaction(async (tx) => {
        await tx.run('INSERT INTO domains (id, name, host, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
          'a',
          'a',
          'a.test',
          now,
          now,
        ])
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('roll back')
      })
      const outside = db
        .run('INSERT INTO domains (id, name, host, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
          'b',
          'b',
          'b.test',
          now,
          now,
        ])
        .then(() => {
          outsideDone = true
        })
      await assert.rejects(inside)
      await outside
      assert.ok(outsideDone)
      const ids = (await db.all<{ id: string }>('SELECT id FROM domains ORDER BY id')).map((r) => r.id)
      assert.deepEqual(ids, ['b'])
    })
  })
}

test('toPositional numbers placeholders and leaves quoted question marks alone', () => {
  assert.equal(toPositional('SELECT ? , \'?\' , "?" , ?'), 'SELECT $1 , \'?\' , "?" , $2')
})

test('withLock on PostgreSQL: a second holder of the same key waits its turn; one that waits too long gets a 409', async (t) => {
  const open = backends.find(([name]) => name === 'postgres')?.[1]
  const db = open && (await open(t))
  if (!db) return
  const order: string[] = []
  let releaseFirst!: () => void
  const firstHolds = new Promise<void>((resolve) => {
    releaseFirst = resolve
  })
  let firstEntered!: () => void
  const entered = new Promise<void>((resolve) => {
    firstEntered = resolve
  })
  const first = db.withLock('endpoint e1', async () => {
    order.push('first in')
    firstEntered()
    await firstHolds
    order.push('first out')
  })
  await entered
  await assert.rejects(
    db.withLock('endpoint e1', async () => order.push('impatient in'), 150),
    (error: unknown) =>
      error instanceof ApiError && error.code === 'conflict' && /endpoint e1/.test(error.message),
  )
  const other = await db.withLock('endpoint e2', async () => 'another key is not held up')
  assert.equal(other, 'another key is not held up')
  const second = db.withLock('endpoint e1', async () => order.push('second in'))
  await new Promise((resolve) => setTimeout(resolve, 100))
  releaseFirst()
  await Promise.all([first, second])
  assert.deepEqual(order, ['first in', 'first out', 'second in'])
})

test('PostgreSQL: every connection plans its statements with their values, never with a plan made for an emptier table', async (t) => {
  const open = backends.find(([name]) => name === 'postgres')?.[1]
  const db = open && (await open(t))
  if (!db) return
  // A generic plan made while the jobs table was empty turned the claim into a sequential scan
  // and kept it as the table grew (bench:queue-fresh); see sessionOptions in postgres.ts.
  const outside = await db.get<{ plan_cache_mode: string }>('SHOW plan_cache_mode')
  const inside = await db.transaction((tx) => tx.get<{ plan_cache_mode: string }>('SHOW plan_cache_mode'))
  assert.equal(outside?.plan_cache_mode, 'force_custom_plan')
  assert.equal(inside?.plan_cache_mode, 'force_custom_plan')
})

test('SQLite: a full disk is a 503 store_unavailable that says so, without the driver text; the data stays', async (t) => {
  const open = backends.find(([name]) => name === 'sqlite')?.[1]
  const db = open && (await open(t))
  if (!db) return
  const insert = (id: string, description: string) =>
    db.run(
      'INSERT INTO domains (id, name, host, description, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0)',
      [id, id, `${id}.test`, description],
    )
  await insert('kept', 'small')
  // The page limit is SQLite's own "disk full": writes past it fail with SQLITE_FULL.
  const pages = (await db.get<{ page_count: number }>('PRAGMA page_count'))?.page_count ?? 0
  await db.exec(`PRAGMA max_page_count = ${pages + 1}`)
  for (const attempt of [
    () => insert('big', 'x'.repeat(200_000)),
    () =>
      db.transaction((tx) =>
        tx.run("UPDATE domains SET description = ? WHERE id = 'kept'", ['y'.repeat(200_000)]),
      ),
  ]) {
    await assert.rejects(attempt(), (error: unknown) => {
      assert.ok(error instanceof ApiError, String(error))
      assert.equal(error.code, 'store_unavailable')
      assert.equal(error.status, 503)
      assert.match(error.message, /the disk holding the data dir is full.*retry in 5 s/)
      assert.doesNotMatch(error.message, /SQLITE|database or disk/i)
      assert.deepEqual(error.details, { retry_after_seconds: 5 })
      return true
    })
  }
  const rows = await db.all<{ id: string; description: string }>('SELECT id, description FROM domains')
  assert.deepEqual(
    rows.map((row) => ({ ...row })),
    [{ id: 'kept', description: 'small' }],
  )
})

test('driver errors that are not about availability pass through unchanged', async (t) => {
  const open = backends.find(([name]) => name === 'sqlite')?.[1]
  const db = open && (await open(t))
  if (!db) return
  await assert.rejects(
    db.run('INSERT INTO nowhere VALUES (1)'),
    (error: unknown) => !(error instanceof ApiError),
  )
})
