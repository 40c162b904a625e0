import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type DependencySet, summarizeNpmFailure } from './deps.ts'
import type { Diagnostic } from './types.ts'

export const INSTALL_MARKER = '.edgeforge-installed'
const NPM_ARGS = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--omit=dev']
const INSTALL_TIMEOUT_MS = 5 * 60_000
const OUTPUT_LIMIT = 64 * 1024
/** `<hash>.tmp-<pid>-<random>`: a staging folder, and the process that made it. */
const STAGING_NAME = /\.tmp-(\d+)-[0-9a-f]{8}$/

export type InstallOutcome =
  | { ok: true; dir: string /** false when an earlier install was reused */; installed: boolean }
  | { ok: false; diagnostics: Diagnostic[] }

/**
 * Installs each distinct dependency set once into `depsRoot/<hash>/`. npm runs in a private temporary
 * sibling folder that is renamed into place after the marker is written, so a crash or a concurrent
 * process never leaves a half-installed folder where a later compile would trust it.
 */
export class DependencyInstaller {
  readonly depsRoot: string
  private readonly npmCommand: string
  private readonly inFlight = new Map<string, Promise<InstallOutcome>>()
  private readonly children = new Set<ChildProcess>()
  private closed = false
  private swept: Promise<void> | undefined

  constructor(depsRoot: string, npmCommand: string) {
    this.depsRoot = depsRoot
    this.npmCommand = npmCommand
  }

  dirFor(set: DependencySet): string {
    return join(this.depsRoot, set.hash)
  }

  ensure(set: DependencySet): Promise<InstallOutcome> {
    const dir = this.dirFor(set)
    if (existsSync(join(dir, INSTALL_MARKER))) return Promise.resolve({ ok: true, dir, installed: false })
    let pending = this.inFlight.get(set.hash)
    if (!pending) {
      pending = this.install(set, dir).finally(() => this.inFlight.delete(set.hash))
      this.inFlight.set(set.hash, pending)
    }
    return pending
  }

  /** Stops running installs; their compiles fail with stage `install`. */
  close(): void {
    this.closed = true
    for (const child of this.children) child.kill('SIGTERM')
  }

  /**
   * Removes the staging folders of processes that no longer run: an install cut off by a crash or
   * a kill leaves one behind. Folders of live processes (another server on the same data dir) stay.
   */
  async sweepStaging(): Promise<void> {
    const names = await readdir(this.depsRoot).catch(() => [] as string[])
    for (const name of names) {
      const pid = STAGING_NAME.exec(name)?.[1]
      if (pid !== undefined && !isRunning(Number(pid)))
        await rm(join(this.depsRoot, name), { recursive: true, force: true }).catch(() => {})
    }
  }

  private async install(set: DependencySet, dir: string): Promise<InstallOutcome> {
    if (this.closed) return failure('the compiler is closed')
    // Once per process, before the first install adds a staging folder of its own.
    this.swept ??= this.sweepStaging()
    await this.swept
    const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      await mkdir(staging, { recursive: true })
      const manifest = {
        name: `edgeforge-deps-${set.hash}`,
        version: '0.0.0',
        private: true,
        description: 'dependencies of edgeforge endpoints; generated, do not edit',
        dependencies: Object.fromEntries(set.entries),
      }
      await writeFile(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
      const run = await this.runNpm(staging)
      if (run.error) return failure(`could not run ${this.npmCommand}: ${run.error.message}`)
      if (run.exitCode !== 0)
        return { ok: false, diagnostics: [summarizeNpmFailure(run.output, set, run.exitCode)] }
      await writeFile(
        join(staging, INSTALL_MARKER),
        `${JSON.stringify({ installedAt: new Date().toISOString(), dependencies: manifest.dependencies })}\n`,
      )
      if (existsSync(dir) && !existsSync(join(dir, INSTALL_MARKER))) {
        // Left over by an older layout or a manual edit: it was never marked complete, so replace it.
        await rm(dir, { recursive: true, force: true })
      }
      try {
        await rename(staging, dir)
      } catch (error) {
        // Another process finished the same set first; its folder is as good as ours.
        if (!existsSync(join(dir, INSTALL_MARKER))) throw error
      }
      return { ok: true, dir, installed: true }
    } catch (error) {
      return failure(
        `could not prepare the dependency folder: ${error instanceof Error ? error.message : error}`,
      )
    } finally {
      await rm(staging, { recursive: true, force: true }).catch(() => {})
    }
  }

  private runNpm(cwd: string): Promise<{ exitCode: number | null; output: string; error?: Error }> {
    return new Promise((resolve) => {
      let output = ''
      const append = (chunk: Buffer) => {
        if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8')
      }
      let child: ChildProcess
      try {
        child = spawn(this.npmCommand, NPM_ARGS, {
          cwd,
          env: npmEnvironment(),
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      } catch (error) {
        resolve({ exitCode: null, output, error: error instanceof Error ? error : new Error(String(error)) })
        return
      }
      this.children.add(child)
      const timer = setTimeout(() => {
        output += `\nnpm error install timed out after ${INSTALL_TIMEOUT_MS / 1000}s`
        child.kill('SIGTERM')
      }, INSTALL_TIMEOUT_MS)
      child.stdout?.on('data', append)
      child.stderr?.on('data', append)
      let settled = false
      const settle = (result: { exitCode: number | null; output: string; error?: Error }) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.children.delete(child)
        resolve(result)
      }
      child.on('error', (error) => settle({ exitCode: null, output, error }))
      child.on('close', (exitCode, signal) => {
        if (signal && this.closed) output += '\nnpm error install stopped: the compiler was closed'
        settle({ exitCode: exitCode ?? null, output })
      })
    })
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function failure(message: string): InstallOutcome {
  return { ok: false, diagnostics: [{ severity: 'error', message }] }
}

// Variables that npm and npx set for the scripts they run. Inherited, they would point the child npm
// at the monorepo (npm_config_local_prefix) or at a workspace instead of the dependency folder.
// Registry, cache, proxy and auth settings pass through so operators can configure installs.
const KEPT_NPM_CONFIG =
  /^npm_config_(?:registry|.*:registry|cache|userconfig|globalconfig|cafile|ca|cert|key|strict_ssl|proxy|https_proxy|noproxy|fetch_.*|prefer_offline|offline|_auth.*|.*_authtoken|always_auth)$/i

function npmEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !KEPT_NPM_CONFIG.test(key)) continue
    if (key === 'NODE_TEST_CONTEXT') continue
    env[key] = value
  }
  return env
}
