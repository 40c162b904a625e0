import { createRequire, isBuiltin } from 'node:module'
import { Script } from 'node:vm'
// stack.ts, not the compiler's index: handler threads load this file and must not load the compiler.
import { mapStack } from '../compiler/stack.ts'

const SDK_PACKAGE = '@edgeforge/sdk'

// The wrapper sits on a line of its own, so the bundle's lines move down by exactly one and its
// columns do not move at all: mapping a frame is `line - 1`, with no special case for line 1.
const WRAPPER_HEAD = '(function (exports, require, module, console) {\n'
const WRAPPER_TAIL = '\n})'
const WRAPPER_LINES = 1

/** The subset of `console` a bundle is handed; the gateway passes one that writes the endpoint's log. */
export type BundleConsole = Pick<Console, 'log' | 'info' | 'warn' | 'error' | 'debug'>

export interface LoadOptions {
  /** The vm.Script's filename, as it appears in stack frames, e.g. `edgeforge:endpoint/hello@v3.js`. */
  filename: string
  /** The gateway's SDK module object: what `require('@edgeforge/sdk')` returns inside the bundle. */
  sdk: unknown
  console: BundleConsole
  /** The bundle's source map; lets a failure at load time name the TypeScript line. */
  sourceMap?: string
}

export interface LoadedModule {
  /** The module's default export, or `module.exports` when it has none. */
  definition: unknown
  filename: string
  /** Lines the wrapper adds before the bundle: pass it to `mapStack`. */
  lineOffset: number
}

const nodeRequire = createRequire(import.meta.url)

/**
 * Evaluates a CommonJS bundle from `Compiler.compile` in this realm, so the SDK classes it gets are
 * the gateway's own (`instanceof Response` holds). Unlike `import()` of a fresh URL, nothing keeps a
 * loaded version alive: once the registry drops the definition, the version is garbage-collected.
 *
 * @example
 * const { definition } = loadBundle(artifact.bundle, { filename: 'edgeforge:endpoint/hello@v3.js', sdk, console })
 */
export function loadBundle(bundle: string, options: LoadOptions): LoadedModule {
  const { filename, sdk } = options
  const bundleRequire = (id: string): unknown => {
    if (id === SDK_PACKAGE) return sdk
    if (isBuiltin(id)) return nodeRequire(id)
    throw new Error(
      `Cannot require "${id}" in ${filename}: a bundle gets only ${SDK_PACKAGE} and node builtins; ` +
        'npm packages must be listed in the endpoint dependencies so they are bundled',
    )
  }
  const module: { exports: unknown } = { exports: {} }
  let wrapper: (exports: unknown, require: (id: string) => unknown, module: unknown, console: unknown) => void
  try {
    wrapper = new Script(WRAPPER_HEAD + bundle + WRAPPER_TAIL, { filename }).runInThisContext()
    wrapper.call(module.exports, module.exports, bundleRequire, module, options.console)
  } catch (error) {
    throw loadFailure(error, options)
  }
  return { definition: definitionOf(module.exports), filename, lineOffset: WRAPPER_LINES }
}

function definitionOf(exports: unknown): unknown {
  if ((typeof exports === 'object' && exports !== null) || typeof exports === 'function') {
    if (Object.hasOwn(exports, 'default')) return (exports as { default: unknown }).default
  }
  return exports
}

function loadFailure(error: unknown, options: LoadOptions): Error {
  const { filename, sourceMap } = options
  const reason = error instanceof Error ? error.message : String(error)
  let where = ''
  if (error instanceof Error && typeof error.stack === 'string') {
    // The bundle's topmost frame is where the module threw, whatever gateway frames follow it.
    const frame = new RegExp(`${escapeRegExp(filename)}:\\d+:\\d+`).exec(error.stack)?.[0]
    if (frame) where = ` (at ${sourceMap ? mapStack(frame, filename, sourceMap, WRAPPER_LINES) : frame})`
    if (sourceMap) {
      try {
        error.stack = mapStack(error.stack, filename, sourceMap, WRAPPER_LINES)
      } catch {
        // A frozen error keeps its own stack; the message still names the position.
      }
    }
  }
  return new Error(`Module ${filename} failed to load: ${reason}${where}`, { cause: error })
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
