// What a job writes on PostgreSQL: row versions (inserted, updated, HOT-updated, deleted) and WAL
// bytes per job, for edgeforge's queue (with its default 7-day history and with retention 0) and for
// graphile-worker's batched configuration, drained end to end the way bench:queue drains them.
//
//   npm run bench:queue-tables                     # 10,000 jobs, 2 rounds
//   npm run bench:queue-tables -- --jobs 2000 --rounds 1
//
// Row versions and WAL come from pg_walinspect when the server has it (the records of the
// transactions that touched this database's relations; other databases' traffic left out), else
// from pg_stat_user_tables and pg_current_wal_lsn (the whole server's WAL over the span, marked
// "server-wide"). Needs the same PostgreSQL rights as bench:queue, and superuser for pg_walinspect.
import { parseArgs } from 'node:util'
import pg from 'pg'
import { PostgresScope, scopePostgres } from './queue/cpu.ts'
import { openEdgeforge } from './queue/edgeforge.ts'
import { printTable } from './queue/format.ts'
import { openGraphile } from './queue/graphile.ts'
import { measureEndToEnd } from './queue/phases.ts'
import { type BenchDatabase, createDatabase } from './queue/postgres.ts'
import type { QueueSystem } from './queue/system.ts'
import { intFlag } from './support/flags.ts'

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1000' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(
    'npm run bench:queue-tables -- [--jobs <n> (10000)] [--rounds <n> (2)] [--concurrency <n> (1000)]',
  )
  process.exit(0)
}
const jobs = intFlag('bench:queue-tables', 'jobs', flags.jobs, 100, 200_000)
const rounds = intFlag('bench:queue-tables', 'rounds', flags.rounds, 1, 10)
const concurrency = intFlag('bench:queue-tables', 'concurrency', flags.concurrency, 1, 10_000)

interface TableCounts {
  ins: number
  upd: number
  hot: number
  del: number
}

/** Row versions written to this database's tables so far, summed. */
async function tableCounts(client: pg.Client): Promise<TableCounts> {
  const { rows } = await client.query<{ ins: string; upd: string; hot: string; del: string }>(
    `SELECT coalesce(sum(n_tup_ins), 0) AS ins, coalesce(sum(n_tup_upd), 0) AS upd,
       coalesce(sum(n_tup_hot_upd), 0) AS hot, coalesce(sum(n_tup_del), 0) AS del
     FROM pg_stat_user_tables`,
  )
  const row = rows[0]
  return { ins: Number(row.ins), upd: Number(row.upd), hot: Number(row.hot), del: Number(row.del) }
}

interface WalUse {
  bytes: number
  fpiBytes: number
  /** Records per relation and type (`jobs_pkey Btree INSERT_LEAF`), of the first block each names. */
  records: Map<string, number>
  serverWide: boolean
}

async function walBetween(
  client: pg.Client,
  start: string,
  end: string,
  walinspect: boolean,
): Promise<WalUse> {
  if (!walinspect) {
    const { rows } = await client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($2, $1) AS bytes', [
      start,
      end,
    ])
    return { bytes: Number(rows[0].bytes), fpiBytes: 0, records: new Map(), serverWide: true }
  }
  // The records of every transaction that wrote a block of this database (its commit included).
  const { rows } = await client.query<{ what: string; n: string; bytes: string; fpi: string }>(
    `WITH r AS (SELECT *, substring(block_ref FROM 'rel [0-9]+/([0-9]+)/') AS db,
                  substring(block_ref FROM 'rel [0-9]+/[0-9]+/([0-9]+)') AS node
                FROM pg_get_wal_records_info($1, $2)),
          mine AS (SELECT DISTINCT xid FROM r
            WHERE xid <> 0 AND db = (SELECT oid::text FROM pg_database WHERE datname = current_database()))
     SELECT coalesce(pg_filenode_relation(0, node::oid)::regclass::text, node, '-') || ' ' || resource_manager
         || ' ' || split_part(record_type, ' ', 1) AS what,
       count(*) AS n, sum(record_length) AS bytes, sum(fpi_length) AS fpi
     FROM r WHERE xid IN (SELECT xid FROM mine) GROUP BY 1`,
    [start, end],
  )
  const records = new Map<string, number>()
  let bytes = 0
  let fpiBytes = 0
  for (const row of rows) {
    records.set(row.what, Number(row.n))
    bytes += Number(row.bytes)
    fpiBytes += Number(row.fpi)
  }
  return { bytes, fpiBytes, records, serverWide: false }
}

/** Heap records of `wal` by kind, summed over relations. */
function heapKinds(wal: WalUse): TableCounts {
  const counts = { ins: 0, upd: 0, hot: 0, del: 0 }
  for (const [what, n] of wal.records) {
    const [, manager, type] = what.split(' ')
    if (!manager.startsWith('Heap')) continue
    if (type === 'INSERT' || type === 'INSERT+INIT' || type === 'MULTI_INSERT') counts.ins += n
    else if (type === 'UPDATE') counts.upd += n
    else if (type === 'HOT_UPDATE') {
      counts.upd += n
      counts.hot += n
    } else if (type === 'DELETE') counts.del += n
  }
  return counts
}

function sumWhere(wal: WalUse, test: (what: string) => boolean): number {
  let sum = 0
  for (const [what, n] of wal.records) if (test(what)) sum += n
  return sum
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Idle backends flush their table statistics within 10 s (PostgreSQL 15). */
const STATS_SETTLE_MS = 11_000

let database: BenchDatabase | null = null
let scope: PostgresScope | null = null
const systems: QueueSystem[] = []
const client = { current: null as pg.Client | null }
try {
  database = await createDatabase()
  const stats = new pg.Client({ connectionString: database.url })
  client.current = stats
  await stats.connect()
  let walinspect = true
  try {
    await stats.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect')
    // A checkpoint may recycle the segments of a span before they are read (other databases on the
    // server write WAL too): a temporary slot of this session holds them until it ends.
    await stats.query('SELECT pg_create_physical_replication_slot($1, true, true)', [
      `bench_tables_${process.pid}`,
    ])
  } catch (error) {
    walinspect = false
    console.log(`pg_walinspect unavailable (${(error as Error).message}): WAL is the whole server's`)
  }
  scope = await PostgresScope.open(database.url)
  scopePostgres(scope)
  systems.push(
    await openEdgeforge({ name: 'edgeforge postgres', databaseUrl: database.url, queue: 'bench-history' }),
    await openEdgeforge({
      name: 'edgeforge postgres, retention 0',
      databaseUrl: database.url,
      keepNothing: true,
      queue: 'bench-nothing',
    }),
    await openGraphile({
      name: 'graphile-worker, batched',
      connectionString: database.url,
      localQueueSize: 1000,
    }),
  )
  console.log(
    `bench:queue-tables — ${new Date().toISOString()} — PostgreSQL ${database.serverVersion} — ${jobs.toLocaleString('en-US')} jobs per round, ${rounds} round(s), concurrency ${concurrency} (graphile-worker 32)`,
  )
  for (const system of systems) if (system.describe) console.log(`  ${system.name}: ${system.describe}`)
  for (const system of systems)
    await measureEndToEnd(system, 1000, system.name.startsWith('graphile') ? 32 : concurrency, 60_000)

  const cells: string[][] = []
  const detail: Array<{ system: string; round: number; wal: WalUse }> = []
  for (let round = 1; round <= rounds; round += 1) {
    for (const system of round % 2 === 1 ? systems : [...systems].reverse()) {
      await system.reset()
      if (!walinspect) await sleep(STATS_SETTLE_MS)
      const before = await tableCounts(stats)
      const lsn = (await stats.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn
      const result = await measureEndToEnd(
        system,
        jobs,
        system.name.startsWith('graphile') ? 32 : concurrency,
        120_000,
      )
      if (!walinspect) await sleep(STATS_SETTLE_MS)
      const end = (await stats.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn() AS lsn')).rows[0].lsn
      const wal = await walBetween(stats, lsn, end, walinspect)
      // Row versions: from the WAL's heap records when they were read (exact), else the statistics.
      const counted = walinspect ? heapKinds(wal) : null
      const statsAfter = counted ? null : await tableCounts(stats)
      const after = counted ?? statsAfter!
      if (counted) for (const key of ['ins', 'upd', 'hot', 'del'] as const) before[key] = 0
      detail.push({ system: system.name, round, wal })
      // The enqueue (measureEndToEnd's untimed first step) is inside the span: every system's
      // figure is enqueue + claim + completion of each job.
      const per = (n: number) => (n / jobs).toFixed(2)
      const cpu =
        result.cpu.postgresMs === null
          ? '-'
          : (((result.cpu.nodeMs + result.cpu.postgresMs) * 1000) / jobs).toFixed(0)
      cells.push([
        system.name,
        String(round),
        per(after.ins - before.ins),
        per(after.upd - before.upd),
        per(after.hot - before.hot),
        per(after.del - before.del),
        `${Math.round(wal.bytes / jobs)}${wal.serverWide ? ' (server-wide)' : ''}`,
        wal.serverWide ? '-' : String(Math.round(wal.fpiBytes / jobs)),
        wal.serverWide ? '-' : per(sumWhere(wal, (what) => what.includes(' Btree '))),
        cpu,
      ])
    }
  }
  console.log('\nper job, enqueue (batches of 1,000) + claim + completion; CPU of the drain only\n')
  printTable(
    [
      'system',
      'round',
      'rows ins',
      'rows upd',
      'of them HOT',
      'rows del',
      'WAL B',
      'of it FPI B',
      'index recs',
      'CPU µs',
    ],
    cells,
  )
  console.log('\nWAL records per job by relation and type, last round (≥ 0.01 per job)\n')
  const last = detail.filter((entry) => entry.round === rounds)
  const kinds = [...new Set(last.flatMap((entry) => [...entry.wal.records.keys()]))].sort()
  printTable(
    ['relation rmgr type', ...last.map((entry) => entry.system)],
    kinds
      .map((kind) => [kind, ...last.map((entry) => ((entry.wal.records.get(kind) ?? 0) / jobs).toFixed(2))])
      .filter((row) => row.slice(1).some((cell) => cell !== '0.00')),
  )
} finally {
  scopePostgres(null)
  await scope?.close().catch((error) => console.error(error))
  for (const system of systems) await system.close().catch((error) => console.error(error))
  await client.current?.end().catch(() => {})
  await database?.drop()
}
