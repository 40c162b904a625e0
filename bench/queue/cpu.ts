// Where the CPU went during a measurement, from /proc: this process (the queue under test and its
// driver), the PostgreSQL server processes, and everything else on the machine. A queue's work is
// split between Node and PostgreSQL, so CPU per job counts both; "other" says whether something
// else on the machine disturbed the run. Linux only: elsewhere every reading is null.
import { readdirSync, readFileSync } from 'node:fs'

// utime and stime are in clock ticks; USER_HZ is 100 on every mainstream Linux build.
const TICK_MS = 10

function statFields(pid: string): { comm: string; cpuMs: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: the fields start after its last ')'.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { comm, cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS }
  } catch {
    return null
  }
}

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
    const fields = statFields(pid)
    if (fields?.comm === 'postgres') byPid.set(pid, fields.cpuMs)
  }
  return byPid
}

/**
 * CPU time (ms) the whole machine has been busy so far, all cores together, interrupts left out:
 * the loopback traffic between the queue and PostgreSQL is processed in softirq time that no
 * process is charged for, so counting it would make a chatty system look disturbed by itself.
 */
function machineBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number)
    return (user + nice + system + steal) * TICK_MS
  } catch {
    return null
  }
}

function ownCpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

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

/**
 * Waits (bounded) until the rest of the machine is quiet: everything but this process using less
 * than `threshold` of one core over half a second. Returns the share measured last.
 */
export async function waitForQuiet(threshold: number, maxWaitMs: number): Promise<number | null> {
  const deadline = performance.now() + maxWaitMs
  for (;;) {
    const machine = machineBusyMs()
    const own = ownCpuMs()
    const started = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const machineAfter = machineBusyMs()
    if (machine === null || machineAfter === null) return null
    const share = Math.max(0, machineAfter - machine - (ownCpuMs() - own)) / (performance.now() - started)
    if (share < threshold || performance.now() >= deadline) return share
  }
}
