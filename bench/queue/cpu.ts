// Where the CPU went during a measurement, from /proc: this process (the queue under test and its
// driver), the PostgreSQL server processes, and everything else on the machine. A queue's work is
// split between Node and PostgreSQL, so CPU per job counts both; "other" says whether something
// else on the machine disturbed the run. Linux only: elsewhere every reading is null.
import { readdirSync } from 'node:fs'
import { machineBusyMs as busyMs, ownCpuMs, processStat } from '../support/cpu.ts'

/** CPU (ms) used so far by each PostgreSQL server process, by pid. */
function postgresCpu(): Map<string, number> {
  const byPid = new Map<string, number>()
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return byPid
  }
  for (const pid of pids) {
    const fields = processStat(pid)
    if (fields?.comm === 'postgres') byPid.set(pid, fields.cpuMs)
  }
  return byPid
}

/** Machine busy time without interrupts: see machineBusyMs in ../support/cpu.ts. */
const machineBusyMs = () => busyMs({ interrupts: false })

export interface CpuUse {
  wallMs: number
  /** This process. */
  nodeMs: number
  /** PostgreSQL's processes (all of them: a test suite using the server at the same time counts here). */
  postgresMs: number | null
  /** Everything else on the machine. */
  otherMs: number | null
}

/** Starts a CPU reading; call the returned function at the end of the measured span. */
export function cpuMeter(): () => CpuUse {
  const started = performance.now()
  const node = ownCpuMs()
  const machine = machineBusyMs()
  const postgres = postgresCpu()
  return () => {
    const nodeMs = ownCpuMs() - node
    const machineAfter = machineBusyMs()
    let postgresMs: number | null = null
    if (postgres.size > 0) {
      postgresMs = 0
      // A process that started during the span counts from zero; one that ended is lost (a
      // connection closed mid-span), which only makes "other" look busier.
      for (const [pid, cpuMs] of postgresCpu()) postgresMs += cpuMs - (postgres.get(pid) ?? 0)
    }
    const otherMs =
      machine === null || machineAfter === null
        ? null
        : Math.max(0, machineAfter - machine - nodeMs - (postgresMs ?? 0))
    return { wallMs: performance.now() - started, nodeMs, postgresMs, otherMs }
  }
}
