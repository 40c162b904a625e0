import { spawn } from 'node:child_process'
import { join } from 'node:path'

/** The `edgeforge` bin, as `npx edgeforge` runs it. */
export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'edgeforge.js')

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the edgeforge CLI as a user would, in `cwd`, without any EDGEFORGE_* setting inherited. */
export function edgeforge(args: string[], cwd: string): Promise<CliRun> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('EDGEFORGE_')),
  )
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
