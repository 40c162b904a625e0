import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { ServerMessage } from '@edgeforge/protocol'
import WebSocket from 'ws'
import { spawnCaptured } from './child.ts'
import { waitFor } from './wait.ts'

export const WORKER_CLI = join(import.meta.dirname, '..', '..', '..', 'worker', 'src', 'cli.ts')

export interface AgentProcess {
  child: ChildProcessWithoutNullStreams
  /** What the agent printed, one JSON object a line. */
  lines(): Array<Record<string, unknown>>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts a real `edgeforge-worker` process; killed (SIGKILL) when the test ends. */
export function spawnAgent(
  t: TestContext,
  controlUrl: string,
  args: string[],
  env: Record<string, string> = {},
): AgentProcess {
  const { child, exited, stdout, stderr } = spawnCaptured(t, [WORKER_CLI, '--url', controlUrl, ...args], env)
  return {
    child,
    exited,
    lines: () => {
      const parsed: Array<Record<string, unknown>> = []
      const err = stderr()
      for (const line of stdout().split('\n'))
        if (line.trim())
          try {
            parsed.push(JSON.parse(line))
          } catch {
            parsed.push({ msg: line })
          }
      if (err) parsed.push({ stderr: err })
      return parsed
    },
  }
}

/** A hand-driven agent speaking the protocol frame by frame, for what a real agent never does. */
export async function rawAgent(controlUrl: string, headers: Record<string, string> = {}) {
  const url = new URL('/workers/connect', controlUrl)
  url.protocol = 'ws:'
  const socket = new WebSocket(url, { headers })
  const received: ServerMessage[] = []
  socket.on('message', (data) => received.push(JSON.parse(data.toString())))
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  return {
    socket,
    received,
    closed,
    send: (message: object) => socket.send(JSON.stringify(message)),
    next: <T extends ServerMessage['type']>(type: T, timeoutMs = 10_000) =>
      waitFor(
        `a ${type} message`,
        () => {
          const index = received.findIndex((message) => message.type === type)
          if (index === -1) return undefined
          return received.splice(index, 1)[0] as Extract<ServerMessage, { type: T }>
        },
        timeoutMs,
      ),
  }
}
