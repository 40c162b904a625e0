/** One problem found while compiling a handler. Lines and columns are 1-based. */
export interface Diagnostic {
  severity: 'error' | 'warning'
  message: string
  file?: string
  line?: number
  column?: number
  /** `TS2322` for the type checker, npm's code (`E404`) for installs, absent for the bundler. */
  code?: string
  lineText?: string
}

export interface CompileInput {
  source: string
  /** e.g. `hello.ts`: the name diagnostics, source maps and mapped stack traces use. */
  filename: string
  /** npm name → version range; `file:/abs/path` specs are accepted too. */
  dependencies: Record<string, string>
}

export type CompileStage = 'install' | 'typecheck' | 'bundle'

export interface CompileTimings {
  installMs: number
  typeCheckMs: number
  bundleMs: number
}

export type CompileResult =
  | { ok: true; bundle: string; sourceMap: string; diagnostics: Diagnostic[]; timings: CompileTimings }
  | { ok: false; stage: CompileStage; diagnostics: Diagnostic[] }

export interface CompilerOptions {
  /** Dependency installs live under `cacheDir/deps/<hash>/`. */
  cacheDir: string
  /** Default true. */
  typeCheck?: boolean
  /** Default `npm`. */
  npmCommand?: string
  /** Checks a type checker worker serves before a fresh one replaces it; 0 or absent: never. */
  typeCheckRecycleAfter?: number
  /** The type checker worker's heap limit in MB; 0 or absent: V8's default. */
  typeCheckMaxHeapMb?: number
}
