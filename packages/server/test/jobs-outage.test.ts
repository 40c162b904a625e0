// The job machinery keeps running through a database outage (cron ticks, runner polls, the
// reaper), and says so the way every line of the server is written: one JSON object per line in
// the server's log, nothing printed around it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import pino from 'pino'
import { freshPostgresUrl, POSTGRES_ADMIN_URL } from './support/postgres.ts'
import { startTestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

/** Refuses new connections to the database and cuts the open ones, until the returned call. */
async function cutDatabase(url: string): Promise<() => Promise<void>> {
  const name = new URL(url).pathname.slice(1)
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name])
  return async () => {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
    await admin.end()
  }
}

test('job errors during a database outage are single-line JSON log entries, not console dumps', async (t) => {
  const url = await freshPostgresUrl(t)
  if (!url) return
  const lines: string[] = []
  const logger = pino({ level: 'error', base: undefined }, { write: (line: string) => lines.push(line) })
  const printed: string[] = []
  const consoleError = console.error
  console.error = (...args: unknown[]) => {
    printed.push(args.map(String).join(' '))
  }
  t.after(() => {
    console.error = consoleError
  })
  const srv = await startTestServer(t, { 'database-url': url }, { logger })

  const restore = await cutDatabase(url)
  try {
    // The cron scheduler ticks every second; the first tick after the cut fails.
    await waitFor('a cron error in the log', () => lines.find((line) => /cron/.test(line)), 10_000)
  } finally {
    await restore()
  }
  await srv.stop()
  assert.deepEqual(printed, [], 'nothing is printed outside the log')
  for (const line of lines) {
    assert.equal(line.trimEnd().includes('\n'), false, `one line per entry: ${line}`)
    const entry = JSON.parse(line)
    assert.equal(entry.level, 50)
    assert.equal(typeof entry.msg, 'string')
  }
})
