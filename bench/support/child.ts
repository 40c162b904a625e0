// Both sides of a benchmark child process: the parent forks it with the pinned node and waits for
// its `ready` message; the child exits on `stop`, or by itself when the parent goes away.
import { type ChildProcess, fork, spawn } from 'node:child_process'

export interface ReadyMessage {
  type: 'ready'
  url: string
  controlUrl?: string
}

/** In the child: tells the parent where it listens. */
export function ready(info: { url: string; controlUrl?: string }): void {
  process.send?.({ type: 'ready', ...info } satisfies ReadyMessage)
}

/**
 * In the child: runs `close` and exits 0 on the parent's `stop` message, and exits at once if the
 * parent disappears, so a crashed benchmark leaves no server behind. A normal exit is what makes
 * `--cpu-prof` write its profile.
 */
export function stopOnRequest(close: () => Promise<void>): void {
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    await close()
    process.exit(0)
  }
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') void stop()
  })
  process.on('disconnect', () => void stop())
}

export interface Child {
  name: string
  process: ChildProcess
  info: ReadyMessage
  /** Asks the child to stop and waits for it to exit (kills it after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>
}

/**
 * In the parent: starts `script` with the same node binary (pinned to one CPU through `taskset`
 * when `cpu` is given) and waits, bounded, for it to be ready.
 */
export function startChild(
  name: string,
  script: string,
  options: { execArgv?: string[]; args?: string[]; readyTimeoutMs?: number; cpu?: number } = {},
): Promise<Child> {
  const execArgv = options.execArgv ?? []
  const args = options.args ?? []
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc']
  // taskset execs node in place, so the pid (and /proc/<pid>/stat) is node's.
  const child =
    options.cpu === undefined
      ? fork(script, args, { execPath: process.execPath, execArgv, stdio })
      : spawn('taskset', ['-c', String(options.cpu), process.execPath, ...execArgv, script, ...args], {
          stdio,
        })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    if (child.connected) child.send({ type: 'stop' })
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not become ready within ${options.readyTimeoutMs ?? 60_000} ms`))
    }, options.readyTimeoutMs ?? 60_000)
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`))
    }
    child.once('exit', early)
    child.on('message', (message: ReadyMessage) => {
      if (message?.type !== 'ready') return
      clearTimeout(timer)
      child.off('exit', early)
      resolve({ name, process: child, info: message, stop })
    })
  })
}
