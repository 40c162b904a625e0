import { spawn } from 'node:child_process'
import { delimiter, join } from 'node:path'
import { cleanEnv } from './child.ts'

/** The `edgeforge` bin, as `npm install` links it into node_modules/.bin. */
export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'edgeforge.js')

/** The clone's `./edgeforge` script, which the README's tour runs. */
export const SCRIPT = join(import.meta.dirname, '..', '..', '..', '..', 'edgeforge')

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the edgeforge CLI as a user would, in `cwd`, without any EDGEFORGE_* setting inherited
 * (unless `env` gives them).
 */
export function edgeforge(args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): Promise<CliRun> {
  return run(process.execPath, [BIN, ...args], cwd, env)
}

/**
 * Runs `./edgeforge` (the clone's script) from `cwd` as in a user's terminal: no project folder's
 * node_modules/.bin on PATH, so `node` there is whatever the system has, maybe older than 24.
 */
export function edgeforgeScript(args: string[], cwd: string): Promise<CliRun> {
  const env = cleanEnv()
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter)
  return run(SCRIPT, args, cwd, env)
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
