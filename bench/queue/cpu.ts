// Where the CPU went during a measurement, from /proc: this process (the queue under test and its
// driver), the PostgreSQL server processes working for it, and everything else on the machine. A
// queue's work is split between Node and PostgreSQL, so CPU per job counts both; "other" says
// whether something else on the machine disturbed the run. Linux only: elsewhere every reading is null.
//
// On a machine where other programs use the same PostgreSQL server (test suites of other
// checkouts), counting every postgres process would charge their queries to the queue under test.
// With `database` given, the backends serving other databases (read from pg_stat_activity at the
// start and the end of the span) are left out; the server's shared processes (WAL writer,
// checkpointer, autovacuum launcher) and the backends of the bench's own database count.
import { readdirSync } from 'node:fs'
import pg from 'pg'
import { machineBusyMs as busyMs, ownCpuMs, processRunMs, processStat } from '../support/cpu.ts'

/** CPU (ms) used so far by each PostgreSQL server process, by pid, leaving out `skip`. */
function postgresCpu(skip: ReadonlySet<string>): Map<string, number> {
  const byPid = new Map<string, number>()
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return byPid
  }
  for (const pid of pids) {
    if (skip.has(pid) || processStat(pid)?.comm !== 'postgres') continue
    const ms = processRunMs(pid)
    if (ms !== null) byPid.set(pid, ms)
  }
  return byPid
}

/** Machine busy time without interrupts: see machineBusyMs in ../support/cpu.ts. */
const machineBusyMs = () => busyMs({ interrupts: false })

export interface CpuUse {
  wallMs: number
  /** This process. */
  nodeMs: number
  /**
   * PostgreSQL's processes: all of them, or with a database given, all but the backends of other
   * databases (a test suite using the server at the same time then does not count here).
   */
  postgresMs: number | null
  /** Everything else on the machine. */
  otherMs: number | null
}

/** Backends serving other databases than `database` right now. */
async function otherBackends(client: pg.Client, database: string): Promise<Set<string>> {
  const { rows } = await client.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname IS NOT NULL AND datname <> $1',
    [database],
  )
  return new Set(rows.map((row) => String(row.pid)))
}

/**
 * The PostgreSQL side of the meter for a bench whose systems use `database` only: a connection of
 * its own (to that database) that reads which backends serve other databases.
 */
export class PostgresScope {
  private readonly client: pg.Client
  readonly database: string

  private constructor(client: pg.Client, database: string) {
    this.client = client
    this.database = database
  }

  static async open(url: string): Promise<PostgresScope> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
    await client.connect()
    client.on('error', () => {})
    return new PostgresScope(client, decodeURIComponent(new URL(url).pathname.slice(1)))
  }

  others(): Promise<Set<string>> {
    return otherBackends(this.client, this.database)
  }

  close(): Promise<void> {
    return this.client.end()
  }
}

let scope: PostgresScope | null = null
/** From now on, meters leave out the backends of databases other than `scope`'s. */
export function scopePostgres(next: PostgresScope | null): void {
  scope = next
}

/** Starts a CPU reading; call the returned function at the end of the measured span. */
export async function cpuMeter(): Promise<() => Promise<CpuUse>> {
  const current = scope
  const skip = current ? await current.others() : new Set<string>()
  const started = performance.now()
  const node = ownCpuMs()
  const machine = machineBusyMs()
  const postgres = postgresCpu(skip)
  return async () => {
    const nodeMs = ownCpuMs() - node
    const machineAfter = machineBusyMs()
    const wallMs = performance.now() - started
    if (current) for (const pid of await current.others()) skip.add(pid)
    let postgresMs: number | null = null
    if (postgres.size > 0) {
      postgresMs = 0
      // A process that started during the span counts from zero; one that ended is lost (a
      // connection closed mid-span), which only makes "other" look busier.
      for (const [pid, cpuMs] of postgresCpu(skip)) postgresMs += cpuMs - (postgres.get(pid) ?? 0)
    }
    const otherMs =
      machine === null || machineAfter === null
        ? null
        : Math.max(0, machineAfter - machine - nodeMs - (postgresMs ?? 0))
    return { wallMs, nodeMs, postgresMs, otherMs }
  }
}
