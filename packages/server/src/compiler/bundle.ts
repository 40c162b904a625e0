import { join } from 'node:path'
import { type BuildFailure, build, type Loader, type Message, type Plugin } from 'esbuild'
import { isImportAllowed, packageNameOf, SDK_PACKAGE } from './deps.ts'
import type { Diagnostic } from './types.ts'

export interface BundleRequest {
  source: string
  filename: string
  /** An existing folder: the dependency folder (its node_modules is what imports resolve from). */
  workDir: string
  packages: ReadonlySet<string>
}

export type BundleOutcome =
  | { ok: true; bundle: string; sourceMap: string; warnings: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] }

const GUARD_PLUGIN = 'edgeforge-imports'

/** Bundles one handler file and its npm dependencies into a CommonJS script; the SDK stays external. */
export async function bundleHandler(request: BundleRequest): Promise<BundleOutcome> {
  const entryPath = join(request.workDir, request.filename)
  try {
    const result = await build({
      stdin: {
        contents: request.source,
        sourcefile: request.filename,
        loader: loaderFor(request.filename),
        resolveDir: request.workDir,
      },
      absWorkingDir: request.workDir,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node24',
      sourcemap: 'external',
      write: false,
      outfile: join(request.workDir, 'bundle.js'),
      external: [SDK_PACKAGE],
      logLevel: 'silent',
      plugins: [importGuard(entryPath, request.packages)],
    })
    const code = result.outputFiles.find((file) => file.path.endsWith('.js'))
    const map = result.outputFiles.find((file) => file.path.endsWith('.js.map'))
    if (!code || !map) throw new Error('esbuild produced no output')
    return {
      ok: true,
      bundle: code.text,
      sourceMap: map.text,
      warnings: result.warnings.map((m) => fromMessage(m, 'warning')),
    }
  } catch (error) {
    if (isBuildFailure(error)) {
      return {
        ok: false,
        diagnostics: [
          ...error.errors.map((m) => fromMessage(m, 'error')),
          ...error.warnings.map((m) => fromMessage(m, 'warning')),
        ],
      }
    }
    return { ok: false, diagnostics: [{ severity: 'error', message: `esbuild failed: ${String(error)}` }] }
  }
}

/**
 * The handler may import only the SDK, node builtins and its listed packages. Without this, esbuild
 * would walk up from the dependency folder and find whatever node_modules lies above the cache.
 * Imports inside the dependencies resolve normally.
 */
function importGuard(entryPath: string, packages: ReadonlySet<string>): Plugin {
  return {
    name: GUARD_PLUGIN,
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        if (args.importer !== entryPath || args.kind === 'entry-point') return undefined
        if (isImportAllowed(args.path, packages)) return undefined
        const name = packageNameOf(args.path)
        const reason =
          name === undefined
            ? 'a handler is a single file; only npm packages from its dependencies and node builtins can be imported'
            : `"${name}" is not in this endpoint's dependencies`
        return { errors: [{ text: `Could not resolve "${args.path}": ${reason}` }] }
      })
    },
  }
}

function loaderFor(filename: string): Loader {
  if (filename.endsWith('.tsx')) return 'tsx'
  if (filename.endsWith('.jsx')) return 'jsx'
  if (/\.[cm]?js$/.test(filename)) return 'js'
  return 'ts'
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<BuildFailure>).errors)
}

function fromMessage(message: Message, severity: Diagnostic['severity']): Diagnostic {
  const notes = message.notes
    .map((note) => note.text)
    // esbuild's advice to mark a missing package external does not apply: the gateway cannot supply it.
    .filter((text) => text !== '' && !text.startsWith('You can mark the path'))
  const diagnostic: Diagnostic = { severity, message: [message.text, ...notes].join('\n') }
  const location = message.location
  if (location) {
    diagnostic.file = location.file
    diagnostic.line = location.line
    // esbuild counts columns in UTF-8 bytes; editors and TypeScript count UTF-16 code units.
    diagnostic.column =
      Buffer.from(location.lineText, 'utf8').subarray(0, location.column).toString('utf8').length + 1
    diagnostic.lineText = location.lineText
  }
  return diagnostic
}
