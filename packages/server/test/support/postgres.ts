import type { TestContext } from 'node:test'
import pg from 'pg'

/** Where the test suites find a PostgreSQL server they may create databases on. */
export const POSTGRES_ADMIN_URL =
  process.env.EDGEFORGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Creates an empty database for one test and drops it afterwards. Without a reachable server the
 * test is skipped on a developer's machine and fails in CI (CI=true), where the server must run.
 */
export async function freshPostgresUrl(t: TestContext): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch (error) {
    const hint = `PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL} (${(error as Error).message}); start it or set EDGEFORGE_TEST_POSTGRES_URL`
    if (process.env.CI) throw new Error(hint)
    t.skip(hint)
    return undefined
  }
  const name = `edgeforge_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.after(async () => {
    const dropper = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await dropper.end()
  })
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}
