import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { type TestContext, test } from 'node:test'
import { isHandlerError, isServiceError } from '@edgeforge/sdk'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { freshPostgresUrl } from '../../../test/support/postgres.ts'
import { freshMariaDb, testRuntime } from '../../../test/support/services.ts'
import { BoundServices } from '../clients.ts'
import type { ServiceRuntime } from '../runtime.ts'

/**
 * The three SQL kinds against their real servers. Every write is read back with an independent
 * client (node:sqlite, pg, mysql2 opened by the test), not through the service.
 */

interface Backend {
  type: 'sqlite' | 'postgres' | 'mysql'
  config: Record<string, unknown>
  secrets?: Record<string, unknown>
  /** Runs SQL on a connection of the test's own. */
  independent(sql: string): Promise<Record<string, unknown>[]>
  /** Ends the service's connections from the server side (what a restart does to a client). */
  killConnections?(): Promise<void>
  slowSql?: string
  badPassword?: Record<string, unknown>
  close(): Promise<void>
}

async function sqliteBackend(dataDir: string): Promise<Backend> {
  const file = join(dataDir, 'services', 'sqlite', 'shop.db')
  return {
    type: 'sqlite',
    config: { path: 'shop.db' },
    async independent(sql) {
      const db = new DatabaseSync(file)
      try {
        return db.prepare(sql).all() as Record<string, unknown>[]
      } finally {
        db.close()
      }
    },
    async close() {},
  }
}

async function postgresBackend(t: TestContext): Promise<Backend | undefined> {
  const url = await freshPostgresUrl(t)
  if (!url) return undefined
  const database = new URL(url).pathname.slice(1)
  const client = new pg.Client({ connectionString: url })
  // The database is dropped WITH (FORCE) after the test, which may end this client first.
  client.on('error', () => {})
  await client.connect()
  return {
    type: 'postgres',
    config: { host: '127.0.0.1', port: 5432, database, username: 'postgres' },
    independent: async (sql) => (await client.query(sql)).rows,
    killConnections: async () => {
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      )
    },
    slowSql: 'SELECT pg_sleep(0.3) AS slept',
    close: () => client.end().catch(() => {}),
  }
}

async function mysqlBackend(t: TestContext): Promise<Backend | undefined> {
  const database = await freshMariaDb(t)
  if (!database) return undefined
  const connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database })
  return {
    type: 'mysql',
    config: { host: '127.0.0.1', port: 3306, database, username: 'root' },
    independent: async (sql) => (await connection.query(sql))[0] as Record<string, unknown>[],
    killConnections: async () => {
      const [rows] = await connection.query(
        'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
        [database],
      )
      for (const row of rows as { id: number }[]) await connection.query(`KILL ${Number(row.id)}`)
    },
    slowSql: 'SELECT SLEEP(0.3) AS slept',
    close: () => connection.end(),
  }
}

const BACKENDS = {
  sqlite: async (_t: TestContext, dataDir: string) => sqliteBackend(dataDir),
  postgres: (t: TestContext, _dataDir: string) => postgresBackend(t),
  mysql: (t: TestContext, _dataDir: string) => mysqlBackend(t),
}

function setup(runtime: ServiceRuntime, backend: Backend, extra: Record<string, unknown> = {}) {
  runtime.activate({
    id: `svc-${backend.type}`,
    name: 'main-db',
    type: backend.type,
    config: { ...backend.config, ...extra },
    secrets: backend.secrets ?? {},
  })
  return new BoundServices(runtime, { db: 'main-db' }).database('db')
}

for (const [type, make] of Object.entries(BACKENDS)) {
  test(`${type}: execute, query with bound parameters, queryOne; read back independently`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await make(t, dataDir)
    if (!backend) return
    t.after(() => backend.close())
    const db = setup(runtime, backend)
    const autoId =
      type === 'postgres'
        ? 'SERIAL PRIMARY KEY'
        : type === 'mysql'
          ? 'INT AUTO_INCREMENT PRIMARY KEY'
          : 'INTEGER PRIMARY KEY'
    await db.execute(`CREATE TABLE items (id ${autoId}, name VARCHAR(200) NOT NULL, price INT NOT NULL)`)
    const hostile = "x'); DROP TABLE items; --"
    const first = await db.execute('INSERT INTO items (name, price) VALUES (?, ?)', ['lamp', 30])
    assert.equal(first.rowsAffected, 1)
    if (type === 'postgres') assert.equal(first.insertId, null)
    else assert.equal(Number(first.insertId), 1)
    await db.execute('INSERT INTO items (name, price) VALUES (?, ?)', [hostile, 5])
    const rows = await db.query('SELECT name, price FROM items WHERE price > ? ORDER BY id', [1])
    assert.deepEqual(
      rows.map((r) => [r.name, Number(r.price)]),
      [
        ['lamp', 30],
        [hostile, 5],
      ],
    )
    const one = await db.queryOne<{ name: string }>('SELECT name FROM items WHERE name = ?', [hostile])
    assert.equal(one?.name, hostile)
    assert.equal(await db.queryOne('SELECT name FROM items WHERE id = ?', [999]), null)
    const updated = await db.execute('UPDATE items SET price = price + 1 WHERE price < ?', [100])
    assert.equal(updated.rowsAffected, 2)
    const seen = await backend.independent('SELECT name, price FROM items ORDER BY id')
    assert.deepEqual(
      seen.map((r) => [r.name, Number(r.price)]),
      [
        ['lamp', 31],
        [hostile, 6],
      ],
    )
  })

  test(`${type}: a transaction commits as a unit, or rolls back as one when its function throws`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await make(t, dataDir)
    if (!backend) return
    t.after(() => backend.close())
    const db = setup(runtime, backend)
    await db.execute('CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL)')
    await db.execute('INSERT INTO accounts (id, balance) VALUES (1, 100), (2, 0)')
    const moved = await db.transaction(async (tx) => {
      await tx.execute('UPDATE accounts SET balance = balance - ? WHERE id = ?', [40, 1])
      await tx.execute('UPDATE accounts SET balance = balance + ? WHERE id = ?', [40, 2])
      return (await tx.queryOne<{ balance: number }>('SELECT balance FROM accounts WHERE id = ?', [2]))
        ?.balance
    })
    assert.equal(Number(moved), 40)
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.execute('UPDATE accounts SET balance = balance - ? WHERE id = ?', [1000, 1])
        throw new Error('insufficient funds')
      }),
      /insufficient funds/,
    )
    const seen = await backend.independent('SELECT id, balance FROM accounts ORDER BY id')
    assert.deepEqual(
      seen.map((r) => [Number(r.id), Number(r.balance)]),
      [
        [1, 60],
        [2, 40],
      ],
    )
  })

  test(`${type}: a bad query is a ServiceError with the backend's message, and the service keeps working`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await make(t, dataDir)
    if (!backend) return
    t.after(() => backend.close())
    const db = setup(runtime, backend)
    await assert.rejects(db.query('SELEC 1'), (e: unknown) => {
      assert.ok(isServiceError(e), String(e))
      assert.equal(e.code, 'operation_failed')
      assert.equal(e.service, 'main-db')
      assert.match(e.message, /syntax/i)
      assert.ok(!e.stack?.includes('node_modules/pg'), 'no driver frames')
      return true
    })
    await assert.rejects(db.query('SELECT * FROM no_such_table'), (e: unknown) => isServiceError(e))
    assert.equal(Number((await db.queryOne<{ one: number }>('SELECT 1 AS one'))?.one), 1)
  })
}

for (const type of ['postgres', 'mysql'] as const) {
  test(`${type}: connections the server ends are replaced; a wrong password and an unreachable host are 503s`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await BACKENDS[type](t, dataDir)
    if (!backend) return
    t.after(() => backend.close())
    const db = setup(runtime, backend, { pool_size: 2 })
    await Promise.all([db.query('SELECT 1 AS one'), db.query('SELECT 1 AS one')])
    await backend.killConnections?.()
    await new Promise((r) => setTimeout(r, 100))
    // Both pooled connections are dead; the first call may see that as 503, then it recovers.
    let ok = 0
    for (let i = 0; i < 5 && ok < 2; i++) {
      try {
        await db.query('SELECT 1 AS one')
        ok += 1
      } catch (error) {
        assert.ok(isHandlerError(error) && error.code === 'service_unavailable', String(error))
        await new Promise((r) => setTimeout(r, 150))
      }
    }
    assert.equal(ok, 2)
    assert.equal(runtime.status('main-db')?.connected, true)

    runtime.activate({
      id: 'bad',
      name: 'bad-db',
      type,
      config: { ...backend.config, username: 'edgeforge_no_such_user' },
      secrets: { password: 'wrong-password-42' },
    })
    const bad = new BoundServices(runtime, { db: 'bad-db' }).database('db')
    await assert.rejects(bad.query('SELECT 1'), (e: unknown) => {
      assert.ok(isHandlerError(e))
      assert.equal(e.status, 503)
      assert.equal(e.code, 'service_unavailable')
      assert.ok(!e.message.includes('wrong-password-42'))
      return true
    })
    assert.match(runtime.status('bad-db')?.lastError ?? '', /denied|authentication|password|does not exist/i)

    runtime.activate({
      id: 'off',
      name: 'off-db',
      type,
      config: { ...backend.config, host: '127.0.0.1', port: 1 },
      secrets: {},
    })
    const off = new BoundServices(runtime, { db: 'off-db' }).database('db')
    await assert.rejects(off.query('SELECT 1'), (e: unknown) => isHandlerError(e) && e.status === 503)
    assert.match(runtime.status('off-db')?.lastError ?? '', /ECONNREFUSED/)
  })

  test(`${type}: deactivate finishes the slow query in flight, then refuses new ones`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await BACKENDS[type](t, dataDir)
    if (!backend?.slowSql) return
    t.after(() => backend.close())
    const db = setup(runtime, backend)
    const slow = db.query(backend.slowSql)
    await new Promise((r) => setTimeout(r, 50))
    const closing = runtime.deactivate('main-db')
    await assert.rejects(
      db.query('SELECT 1'),
      (e: unknown) => isHandlerError(e) && e.code === 'service_unavailable',
    )
    assert.equal((await slow).length, 1)
    await closing
  })

  test(`${type}: a pool of 2, a slow query and 200 concurrent calls: 2 run, the queue holds its bound, the rest are service_busy`, async (t) => {
    const { runtime, dataDir } = testRuntime(t)
    const backend = await BACKENDS[type](t, dataDir)
    if (!backend?.slowSql) return
    t.after(() => backend.close())
    const db = setup(runtime, backend, { pool_size: 2, max_queue: 8 })
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        db.query(backend.slowSql as string).then(
          () => 'ok',
          (e: unknown) => (isHandlerError(e) ? e.code : String(e)),
        ),
      ),
    )
    assert.equal(results.filter((r) => r === 'ok').length, 10)
    assert.equal(results.filter((r) => r === 'service_busy').length, 190)
    assert.equal(runtime.status('main-db')?.connections, 2)
  })
}
