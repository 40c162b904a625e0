// A PostgreSQL database of its own for one benchmark run, dropped at the end.
import pg from 'pg'
import { processRunMs } from '../support/cpu.ts'

export const POSTGRES_ADMIN_URL =
  process.env.EDGEFORGE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface BenchDatabase {
  url: string
  serverVersion: string
  drop(): Promise<void>
}

export async function createDatabase(): Promise<BenchDatabase> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 })
  await admin.connect()
  const name = `edgeforge_bench_${process.pid}`
  let serverVersion: string
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${name}`)
    serverVersion = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
      .rows[0].v
  } finally {
    await admin.end()
  }
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  let dropped = false
  return {
    url: url.toString(),
    serverVersion,
    async drop() {
      if (dropped) return
      dropped = true
      const dropper = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 })
      await dropper.connect()
      try {
        // A pool's end() resolves before its connections are gone on the server: give them a moment
        // to go, so FORCE has no one to terminate (which the pools would report as errors).
        for (let waited = 0; waited < 3000; waited += 50) {
          const { rows } = await dropper.query<{ n: string }>(
            'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1',
            [name],
          )
          if (Number(rows[0].n) === 0) break
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await dropper.end()
      }
    },
  }
}

/** CPU (µs) so far of the PostgreSQL backends serving the meter's database, apart from the meter's own. */
export async function backendsUs(meter: pg.Client): Promise<number> {
  const { rows } = await meter.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  )
  let us = 0
  for (const { pid } of rows) us += (processRunMs(pid) ?? 0) * 1000
  return us
}
