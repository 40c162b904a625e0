import { readFileSync } from 'node:fs'

// Linux reports utime and stime in clock ticks; USER_HZ is 100 on every mainstream build.
const TICK_MS = 10

/** A process's command name and CPU time (user + system, ms) so far, from /proc; null where there is none. */
export function processStat(pid: number | string): { comm: string; cpuMs: number } | null {
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

/** CPU time (user + system, ms) a process has used so far, from /proc; null where there is none. */
export function processCpuMs(pid: number | undefined): number | null {
  return pid === undefined ? null : (processStat(pid)?.cpuMs ?? null)
}

/**
 * CPU time (ms, nanosecond resolution) a process has run so far, from /proc/<pid>/schedstat, or
 * from its clock ticks (10 ms steps) where the kernel has no schedstat; null when it is gone.
 */
export function processRunMs(pid: number | string): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ', 1)[0]) / 1e6
  } catch {
    return processStat(pid)?.cpuMs ?? null
  }
}

/** CPU time (ms) this process has used so far. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/**
 * CPU time (ms) the whole machine has been busy so far, all cores together, from /proc/stat.
 * `interrupts: false` leaves irq and softirq time out: loopback traffic between a queue and its
 * PostgreSQL is processed there, charged to no process, and would make a chatty system look
 * disturbed by itself.
 */
export function machineBusyMs(options: { interrupts?: boolean } = {}): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    const interrupts = options.interrupts === false ? 0 : irq + softirq
    return (user + nice + system + interrupts + steal) * TICK_MS
  } catch {
    return null
  }
}

/**
 * Waits (bounded) until the rest of the machine is quiet: other processes using less than
 * `threshold` of one core over a short window, not counting this process and `pids`. Returns the
 * share measured last and how long it waited, so a disturbed measurement can be flagged.
 */
export async function waitForQuiet(options: {
  pids: Array<number | undefined>
  threshold: number
  maxWaitMs: number
  windowMs?: number
  interrupts?: boolean
}): Promise<{ otherShare: number | null; waitedMs: number }> {
  const windowMs = options.windowMs ?? 500
  const started = Date.now()
  for (;;) {
    const otherShare = await otherShareOver(windowMs, options.pids, options.interrupts)
    const waitedMs = Date.now() - started
    if (otherShare === null || otherShare < options.threshold || waitedMs >= options.maxWaitMs) {
      return { otherShare, waitedMs }
    }
  }
}

async function otherShareOver(
  windowMs: number,
  pids: Array<number | undefined>,
  interrupts?: boolean,
): Promise<number | null> {
  const ours = () => pids.reduce((sum: number, pid) => sum + (processCpuMs(pid) ?? 0), ownCpuMs())
  const machineBefore = machineBusyMs({ interrupts })
  const oursBefore = ours()
  const started = performance.now()
  await new Promise((resolve) => setTimeout(resolve, windowMs))
  const machineAfter = machineBusyMs({ interrupts })
  if (machineBefore === null || machineAfter === null) return null
  const other = machineAfter - machineBefore - (ours() - oursBefore)
  return Math.max(0, other) / (performance.now() - started)
}
