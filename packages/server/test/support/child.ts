import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { SERVE_NODE_FLAGS } from '../../src/cli/node-flags.ts'
import { waitFor } from './wait.ts'

export const CLI_MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts')

/** The environment for child servers: this one without any EDGEFORGE_* setting. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('EDGEFORGE_')))
}

export interface CapturedChild {
  child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  /** Once the process has exited and its output is read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs `node <args>` with a clean environment, keeping what it prints; SIGKILLed when the test ends. */
export function spawnCaptured(
  t: TestContext,
  args: string[],
  env: Record<string, string> = {},
): CapturedChild {
  const child = spawn(process.execPath, args, { env: { ...cleanEnv(), ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, exited, stdout: () => out, stderr: () => err }
}

/** Boots `edgeforge serve` as a child process and finds its URLs in what it prints. */
export async function spawnServe(
  dataDir: string,
  extraArgs: string[] = [],
): Promise<{
  child: ChildProcessWithoutNullStreams
  gatewayUrl: string
  controlUrl: string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}> {
  const child = spawn(
    process.execPath,
    [
      ...SERVE_NODE_FLAGS,
      CLI_MAIN,
      'serve',
      '--gateway-host',
      '127.0.0.1',
      '--gateway-port',
      '0',
      '--control-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'silent',
      '--warm-compiler',
      'false',
      ...extraArgs,
    ],
    { env: cleanEnv() },
  )
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdout.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  let exitedEarly = false
  void exited.then(() => {
    exitedEarly = true
  })
  // Generous: the handler threads load their modules at start, and a busy CI machine is slow at it.
  const urls = await waitFor(
    'the server to print its URLs',
    () => {
      if (exitedEarly) assert.fail(`edgeforge serve exited early: ${stderr}`)
      const match =
        /gateway on (http:\/\/\S+)(?: \(all interfaces\))?, control plane on (http:\/\/\S+),/.exec(stderr)
      return match ? { gatewayUrl: match[1], controlUrl: match[2] } : undefined
    },
    60_000,
  ).catch((error: unknown) => {
    // A server that never came up must not outlive the test (its pipes would keep the runner waiting).
    child.kill('SIGKILL')
    throw error
  })
  return { child, ...urls, stderr: () => stderr, exited }
}

/**
 * `edgeforge serve` as a child on a fresh data dir that the test removes, killed when the test
 * ends if it has not exited, with a `control` call that answers the envelope's status and data.
 */
export async function servedChild(t: TestContext, dirPrefix: string, extraArgs: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), dirPrefix))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const server = await spawnServe(dataDir, extraArgs)
  t.after(() => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
  })
  const control = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(server.controlUrl + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: response.status, data: ((await response.json()) as { data: T }).data }
  }
  return { ...server, dataDir, control }
}
