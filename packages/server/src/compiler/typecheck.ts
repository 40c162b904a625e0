import { existsSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import ts from 'typescript'
import { isImportAllowed, SDK_PACKAGE } from './deps.ts'
import type { Diagnostic } from './types.ts'

export interface TypeCheckRequest {
  source: string
  /** The name diagnostics carry, e.g. `hello.ts`. */
  filename: string
  /**
   * Where the handler pretends to live: inside its dependency folder, so listed packages resolve from
   * that folder's node_modules exactly as the bundler resolves them.
   */
  virtualPath: string
  /** Package names the handler may import (its dependency set). */
  packages: string[]
}

export interface TypeCheckerPaths {
  /** `packages/sdk/src/index.ts`: what `@edgeforge/sdk` means to the type checker. */
  sdkEntry: string
  /** The `node_modules/@types` folder that holds `@types/node`, when there is one. */
  typeRoot?: string
}

// TS7016: a package without declarations still compiles (as `any`), like in a plain JS project.
// TS2307/TS2792: an import that does not resolve is reported once, by the bundler, with the same
// message whether or not type checking is on.
const IGNORED_CODES = new Set([7016, 2307, 2792])

/**
 * A long-lived LanguageService. Parsed lib, SDK and @types/node files stay in its document registry,
 * so after the first check only the handler is parsed and checked again.
 */
export class HandlerTypeChecker {
  private readonly options: ts.CompilerOptions
  private readonly service: ts.LanguageService
  private readonly paths: TypeCheckerPaths
  private readonly snapshots = new Map<string, { version: string; snapshot: ts.IScriptSnapshot }>()
  private readonly resolutionCache: ts.ModuleResolutionCache
  private projectVersion = 0
  private current: { path: string; text: string; version: string; packages: ReadonlySet<string> } | undefined

  constructor(paths: TypeCheckerPaths) {
    this.paths = paths
    this.options = {
      target: ts.ScriptTarget.ES2024,
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2024.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.dom.asynciterable.d.ts'],
      types: paths.typeRoot ? ['node'] : [],
      typeRoots: paths.typeRoot ? [paths.typeRoot] : [],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      allowSyntheticDefaultImports: true,
      allowImportingTsExtensions: true,
      resolveJsonModule: true,
      isolatedModules: true,
      forceConsistentCasingInFileNames: true,
      jsx: ts.JsxEmit.Preserve,
    }
    const currentDirectory = dirname(paths.sdkEntry)
    this.resolutionCache = ts.createModuleResolutionCache(currentDirectory, (name) => name, this.options)
    const host: ts.LanguageServiceHost = {
      getProjectVersion: () => String(this.projectVersion),
      getCompilationSettings: () => this.options,
      getScriptFileNames: () => (this.current ? [this.current.path] : []),
      getScriptVersion: (fileName) => this.versionOf(fileName),
      getScriptSnapshot: (fileName) => this.snapshotOf(fileName),
      getCurrentDirectory: () => currentDirectory,
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      fileExists: (fileName) => fileName === this.current?.path || ts.sys.fileExists(fileName),
      readFile: (fileName, encoding) =>
        fileName === this.current?.path ? this.current.text : ts.sys.readFile(fileName, encoding),
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
      realpath: ts.sys.realpath,
      useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
      resolveModuleNameLiterals: (literals, containingFile, redirectedReference, options) =>
        literals.map((literal) => this.resolve(literal.text, containingFile, redirectedReference, options)),
    }
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry())
  }

  check(request: TypeCheckRequest): Diagnostic[] {
    if (!existsSync(this.paths.sdkEntry)) {
      return [
        { severity: 'error', message: `the SDK's types are missing: ${this.paths.sdkEntry} does not exist` },
      ]
    }
    this.projectVersion++
    this.current = {
      path: request.virtualPath,
      text: request.source,
      version: `handler-${this.projectVersion}`,
      packages: new Set(request.packages),
    }
    try {
      const syntactic = this.service.getSyntacticDiagnostics(request.virtualPath)
      // A syntax error makes the semantic pass report noise about the same spot; report it once.
      const found =
        syntactic.length > 0 ? syntactic : this.service.getSemanticDiagnostics(request.virtualPath)
      return found
        .filter((d) => !IGNORED_CODES.has(d.code))
        .filter(
          (d) => d.category === ts.DiagnosticCategory.Error || d.category === ts.DiagnosticCategory.Warning,
        )
        .map((d) => toDiagnostic(d, request.filename))
    } finally {
      // Keep the parsed libraries, drop the handler: the next check replaces it anyway.
      this.current = undefined
    }
  }

  dispose(): void {
    this.service.dispose()
    this.snapshots.clear()
  }

  private resolve(
    specifier: string,
    containingFile: string,
    redirectedReference: ts.ResolvedProjectReference | undefined,
    options: ts.CompilerOptions,
  ): ts.ResolvedModuleWithFailedLookupLocations {
    if (specifier === SDK_PACKAGE) {
      return {
        resolvedModule: {
          resolvedFileName: this.paths.sdkEntry,
          extension: ts.Extension.Ts,
          isExternalLibraryImport: false,
        },
      }
    }
    if (
      this.current &&
      containingFile === this.current.path &&
      !isImportAllowed(specifier, this.current.packages)
    ) {
      return { resolvedModule: undefined }
    }
    return ts.resolveModuleName(
      specifier,
      containingFile,
      options,
      ts.sys,
      this.resolutionCache,
      redirectedReference,
    )
  }

  private versionOf(fileName: string): string {
    if (fileName === this.current?.path) return this.current.version
    try {
      return String(statSync(fileName).mtimeMs)
    } catch {
      return 'missing'
    }
  }

  private snapshotOf(fileName: string): ts.IScriptSnapshot | undefined {
    if (fileName === this.current?.path) return ts.ScriptSnapshot.fromString(this.current.text)
    const version = this.versionOf(fileName)
    const cached = this.snapshots.get(fileName)
    if (cached && cached.version === version) return cached.snapshot
    const text = ts.sys.readFile(fileName)
    if (text === undefined) return undefined
    const snapshot = ts.ScriptSnapshot.fromString(text)
    this.snapshots.set(fileName, { version, snapshot })
    return snapshot
  }
}

function toDiagnostic(diagnostic: ts.Diagnostic, filename: string): Diagnostic {
  const result: Diagnostic = {
    severity: diagnostic.category === ts.DiagnosticCategory.Warning ? 'warning' : 'error',
    message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
    code: `TS${diagnostic.code}`,
  }
  if (diagnostic.file && diagnostic.start !== undefined) {
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    result.file = filename
    result.line = line + 1
    result.column = character + 1
    const lineStarts = diagnostic.file.getLineStarts()
    const end = line + 1 < lineStarts.length ? lineStarts[line + 1] : diagnostic.file.text.length
    result.lineText = diagnostic.file.text.slice(lineStarts[line], end).replace(/\r?\n$/, '')
  }
  return result
}
