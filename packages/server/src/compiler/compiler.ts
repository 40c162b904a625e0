import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { bundleHandler } from './bundle.ts'
import { resolveDependencySet } from './deps.ts'
import { DependencyInstaller } from './install.ts'
import { TypeCheckClient } from './typecheck-client.ts'
import type { CompileInput, CompileResult, CompilerOptions, CompileStage, Diagnostic } from './types.ts'

const FILENAME = /^[A-Za-z0-9_.@+ -]+(?:\/[A-Za-z0-9_.@+ -]+)*$/
/** The folder a handler without dependencies bundles from; it never gets a node_modules. */
const NO_DEPENDENCIES = 'none'

/**
 * Turns one handler's TypeScript and its npm dependencies into a CommonJS bundle and its source map:
 * validate → install dependencies → type check → bundle. One Compiler serves the whole process; it
 * keeps the type checker warm between compiles and installs each dependency set once.
 *
 * @example
 * const compiler = new Compiler({ cacheDir: '/var/lib/edgeforge/cache' })
 * const result = await compiler.compile({ source, filename: 'hello.ts', dependencies: { 'left-pad': '^1.3.0' } })
 * if (!result.ok) console.error(result.stage, result.diagnostics)
 */
export class Compiler {
  private readonly typeCheck: boolean
  private readonly installer: DependencyInstaller
  private readonly typeChecker: TypeCheckClient
  private closed = false

  constructor(options: CompilerOptions) {
    this.typeCheck = options.typeCheck ?? true
    this.typeChecker = new TypeCheckClient({
      recycleAfter: options.typeCheckRecycleAfter,
      maxHeapMb: options.typeCheckMaxHeapMb,
    })
    this.installer = new DependencyInstaller(join(options.cacheDir, 'deps'), options.npmCommand ?? 'npm')
  }

  async compile(input: CompileInput): Promise<CompileResult> {
    if (this.closed) throw new Error('Compiler.compile() after close()')
    const inputProblem = checkInput(input)
    if (inputProblem) return failure('bundle', inputProblem)
    const resolved = resolveDependencySet(input.dependencies)
    if (!resolved.ok) return { ok: false, stage: 'install', diagnostics: resolved.diagnostics }
    const set = resolved.set

    let started = performance.now()
    let workDir = join(this.installer.depsRoot, NO_DEPENDENCIES)
    if (set.entries.length === 0) {
      try {
        mkdirSync(workDir, { recursive: true })
      } catch (error) {
        return failure('install', `could not create ${workDir}: ${messageOf(error)}`)
      }
    } else {
      const installed = await this.installer.ensure(set)
      if (!installed.ok) return { ok: false, stage: 'install', diagnostics: installed.diagnostics }
      workDir = installed.dir
    }
    const installMs = performance.now() - started

    const diagnostics: Diagnostic[] = []
    started = performance.now()
    const checkedPath = typeCheckedPath(input.filename)
    if (this.typeCheck && checkedPath !== undefined) {
      let found: Diagnostic[]
      try {
        found = await this.typeChecker.check({
          source: input.source,
          filename: input.filename,
          virtualPath: join(workDir, checkedPath),
          packages: [...set.names],
        })
      } catch (error) {
        return failure('typecheck', messageOf(error))
      }
      const failed = found.some((diagnostic) => diagnostic.severity === 'error')
      if (failed) return { ok: false, stage: 'typecheck', diagnostics: found }
      diagnostics.push(...found)
    }
    const typeCheckMs = performance.now() - started

    started = performance.now()
    const bundled = await bundleHandler({
      source: input.source,
      filename: input.filename,
      workDir,
      packages: set.names,
    })
    if (!bundled.ok) return { ok: false, stage: 'bundle', diagnostics: bundled.diagnostics }
    const bundleMs = performance.now() - started
    diagnostics.push(...bundled.warnings)

    return {
      ok: true,
      bundle: bundled.bundle,
      sourceMap: bundled.sourceMap,
      diagnostics,
      timings: { installMs: round(installMs), typeCheckMs: round(typeCheckMs), bundleMs: round(bundleMs) },
    }
  }

  /**
   * Compiles a trivial handler in the background so the type checker's first, slow start (about a
   * second of parsing lib and SDK types) is paid at boot rather than by the first deploy.
   */
  warmUp(): Promise<void> {
    const source =
      "import { handler, Response } from '@edgeforge/sdk'\nexport default handler(() => Response.ok())\n"
    return this.compile({ source, filename: 'warm-up.ts', dependencies: {} }).then(
      () => {},
      () => {},
    )
  }

  /** How many type checker workers this compiler has started (recycling starts new ones). */
  get typeCheckWorkersStarted(): number {
    return this.typeChecker.workersStarted
  }

  /** Stops running installs and the type checker's worker. */
  close(): void {
    this.closed = true
    this.installer.close()
    this.typeChecker.close()
  }
}

function checkInput(input: CompileInput): string | undefined {
  if (typeof input.source !== 'string') return 'source must be a string'
  const filename = input.filename
  if (
    typeof filename !== 'string' ||
    filename.length === 0 ||
    filename.length > 200 ||
    !FILENAME.test(filename)
  ) {
    return `filename "${String(filename)}" must be a relative name like "hello.ts" (letters, digits, "_", ".", "-", "@", "+", "/")`
  }
  if (filename.split('/').some((part) => part === '.' || part === '..')) {
    return `filename "${filename}" must not contain "." or ".." segments`
  }
  return undefined
}

/** The name the type checker sees: TypeScript files as they are, extension-less names as `.ts`, JS unchecked. */
function typeCheckedPath(filename: string): string | undefined {
  if (/\.(?:ts|mts|cts|tsx)$/.test(filename)) return filename
  if (/\.(?:js|mjs|cjs|jsx)$/.test(filename)) return undefined
  return `${filename}.ts`
}

function failure(stage: CompileStage, message: string): CompileResult {
  return { ok: false, stage, diagnostics: [{ severity: 'error', message }] }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}
