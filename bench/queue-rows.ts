// What one job writes on PostgreSQL: rows inserted, updated (HOT or not) and deleted per table,
// WAL bytes, and CPU (this process + the backends serving the database), for enqueue → claim →
// complete of `--jobs` jobs in batches, with the 7-day history and with retention 0, and with the
// engine's events on and off (--events both|on|off), so the cost of each part of a job is a
// difference of two runs on fresh databases.
//
// WAL is counted with pg_walinspect over the run's LSN range, only the records whose blocks are
// in this run's database (other databases on the same server — other benches — do not count);
// commit records carry no block and are counted apart, as transactions (pg_stat_database).
//
//   npm run bench:queue-rows -- --jobs 20000 --repeats 3
import { parseArgs } from 'node:util'
import pg from 'pg'
import { createQueueEngine } from '../packages/server/src/jobs/index.ts'
import { openStore } from '../packages/server/src/store/index.ts'
import { backendsUs, createDatabase } from './queue/postgres.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '3' },
    events: { type: 'string', default: 'both' },
    // An experiment: job_logs without its foreign key to jobs (no RI trigger per deleted job).
    'drop-log-fk': { type: 'boolean', default: false },
  },
})
const jobs = intFlag('bench:queue-rows', 'jobs', flags.jobs, 1000, 1_000_000)
const batch = intFlag('bench:queue-rows', 'batch', flags.batch, 1, 10_000)
const repeats = intFlag('bench:queue-rows', 'repeats', flags.repeats, 1, 20)
if (!['both', 'on', 'off'].includes(flags.events as string)) {
  console.error('bench:queue-rows: --events is both, on or off')
  process.exit(2)
}

interface TableCounts {
  ins: number
  upd: number
  hot: number
  del: number
}

interface Run {
  cpuUs: number
  nodeUs: number
  walBytes: number
  walRecords: number
  xacts: number
  tables: Map<string, TableCounts>
}

async function tableCounts(meter: pg.Client): Promise<Map<string, TableCounts>> {
  // A new snapshot each call (stats are cached per transaction otherwise).
  await meter.query('SELECT pg_stat_clear_snapshot()')
  const { rows } = await meter.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
    'SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del FROM pg_stat_user_tables',
  )
  return new Map(
    rows.map((r) => [
      r.relname,
      { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot), del: Number(r.del) },
    ]),
  )
}

async function xactCount(meter: pg.Client): Promise<number> {
  await meter.query('SELECT pg_stat_clear_snapshot()')
  const { rows } = await meter.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
  )
  return Number(rows[0].n)
}

/** Waits until the backends that served the run have gone (their statistics are flushed at exit). */
async function settle(meter: pg.Client): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 50) {
    const { rows } = await meter.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    )
    if (Number(rows[0].n) === 0) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await new Promise((resolve) => setTimeout(resolve, 1200))
}

async function oneRun(events: boolean, keepNothing: boolean): Promise<Run> {
  const database = await createDatabase()
  const meter = new pg.Client({ connectionString: database.url })
  await meter.connect()
  try {
    await meter.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect')
    const { rows: oidRows } = await meter.query<{ oid: string }>(
      'SELECT oid FROM pg_database WHERE datname = current_database()',
    )
    const dbOid = oidRows[0].oid
    const { db } = await openStore({ dataDir: '', databaseUrl: database.url })
    const engine = createQueueEngine(db, events ? {} : { events: false })
    if (flags['drop-log-fk'])
      await db.exec('ALTER TABLE job_logs DROP CONSTRAINT IF EXISTS job_logs_job_id_fkey')
    if (keepNothing) await engine.setQueueSettings('bench', { retentionSeconds: 0 })
    await engine.events?.flush()
    // Setup done (migrations, settings): counting starts here.
    const before = await tableCounts(meter)
    const xactsBefore = await xactCount(meter)
    const { rows: lsnRows } = await meter.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')
    const startLsn = lsnRows[0].lsn
    const serverBefore = await backendsUs(meter)
    const since = process.cpuUsage()
    for (let first = 0; first < jobs; first += 1000) {
      const size = Math.min(1000, jobs - first)
      await engine.enqueueBatch(
        Array.from({ length: size }, (_, i) => ({ queue: 'bench', payload: { n: first + i } })),
      )
    }
    for (let done = 0; done < jobs; done += batch) {
      const claimed = await engine.claim({ queues: ['bench'], owner: 'rows', limit: batch, leaseMs: 30_000 })
      await engine.completeMany(
        claimed.map((job) => ({
          id: job.id,
          owner: 'rows',
          attempt: job.attempts,
          queue: 'bench',
          result: null,
        })),
      )
    }
    await engine.events?.flush()
    const used = process.cpuUsage(since)
    const serverUs = (await backendsUs(meter)) - serverBefore
    const { rows: endRows } = await meter.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')
    const endLsn = endRows[0].lsn
    // Read at once, before a checkpoint recycles the segments (other databases write WAL too).
    const wal = await meter
      .query<{ bytes: string; records: string }>(
        `SELECT coalesce(sum(record_length), 0) AS bytes, count(*) AS records
         FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
         WHERE block_ref LIKE $3`,
        [startLsn, endLsn, `%rel 1663/${dbOid}/%`],
      )
      .then(
        ({ rows }) => ({ bytes: Number(rows[0].bytes), records: Number(rows[0].records) }),
        (error: Error) => {
          console.error(`bench:queue-rows: WAL not counted (${error.message})`)
          return { bytes: Number.NaN, records: Number.NaN }
        },
      )
    await engine.close()
    await db.close()
    await settle(meter)
    const after = await tableCounts(meter)
    // The meter's own statements commit too: counted before and after, so subtract the two between.
    const xacts = (await xactCount(meter)) - xactsBefore
    const tables = new Map<string, TableCounts>()
    for (const [name, counts] of after) {
      const was = before.get(name) ?? { ins: 0, upd: 0, hot: 0, del: 0 }
      const delta = {
        ins: counts.ins - was.ins,
        upd: counts.upd - was.upd,
        hot: counts.hot - was.hot,
        del: counts.del - was.del,
      }
      // Below one row in 1000 jobs: the setup's own rows, counted late.
      if (Math.max(delta.ins, delta.upd, delta.del) * 1000 >= jobs) tables.set(name, delta)
    }
    return {
      cpuUs: used.user + used.system + serverUs,
      nodeUs: used.user + used.system,
      walBytes: wal.bytes,
      walRecords: wal.records,
      xacts,
      tables,
    }
  } finally {
    await meter.end()
    await database.drop()
  }
}

const variants: Array<{ name: string; events: boolean; keepNothing: boolean }> = []
for (const keepNothing of [false, true])
  for (const events of flags.events === 'both' ? [true, false] : [flags.events === 'on'])
    variants.push({
      name: `${keepNothing ? 'retention 0  ' : '7-day history'} events ${events ? 'on ' : 'off'}`,
      events,
      keepNothing,
    })
const results = new Map<string, Run[]>(variants.map((v) => [v.name, []]))
// Interleaved: every variant once per round, so a change in the machine's load touches them all.
for (let round = 0; round < repeats; round += 1)
  for (const variant of variants)
    results.get(variant.name)?.push(await oneRun(variant.events, variant.keepNothing))

console.log(
  `bench:queue-rows — PostgreSQL, ${jobs.toLocaleString('en-US')} jobs (enqueue, claim and complete in batches of ${batch}), ${repeats} rounds; per job: CPU best of the rounds (this process + backends), WAL and rows of the last round`,
)
const per = (n: number) => (n / jobs).toFixed(2)
for (const variant of variants) {
  const runs = results.get(variant.name) as Run[]
  const last = runs[runs.length - 1]
  const cpu = Math.min(...runs.map((r) => r.cpuUs))
  console.log(
    `  ${variant.name}  CPU ${per(cpu)} µs (node ${per(Math.min(...runs.map((r) => r.nodeUs)))})   WAL ${per(last.walBytes)} B in ${per(last.walRecords)} records (+ ${per(last.xacts)} commits)`,
  )
  for (const [table, c] of [...last.tables].sort()) {
    console.log(
      `      ${table.padEnd(22)} ins ${per(c.ins)}  upd ${per(c.upd)} (HOT ${per(c.hot)})  del ${per(c.del)}`,
    )
  }
}
process.exit(0)
