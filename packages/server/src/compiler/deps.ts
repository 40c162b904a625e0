import { createHash } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { isAbsolute, join, normalize } from 'node:path'
import type { Diagnostic } from './types.ts'

/** The gateway supplies the SDK at load time, so it is never installed nor bundled. */
export const SDK_PACKAGE = '@edgeforge/sdk'

/** A validated dependency set, sorted by name so equal sets hash equally. */
export interface DependencySet {
  entries: Array<[name: string, spec: string]>
  names: ReadonlySet<string>
  /** Folder name under `cacheDir/deps/`; empty when there is nothing to install. */
  hash: string
}

const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/
// Semver ranges (`^1.2.3`, `>=1 <2 || 3.x`) and dist-tags (`latest`, `next`). Anything with `/` or `:`
// (git, urls, paths, github shorthand) is refused: installs must come from the registry or file:.
const RANGE = /^[A-Za-z0-9.^~<>=|*+ -]{1,256}$/
const NPM_ALIAS = /^npm:((?:@[^/@]+\/)?[^/@]+)@(.+)$/

/** `lodash/fp` → `lodash`, `@scope/pkg/sub` → `@scope/pkg`; undefined for relative or absolute paths. */
export function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.includes(':')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/**
 * Whether an import in handler code may resolve: the SDK, a node builtin, or a listed package. A
 * handler is one file, so relative and absolute paths are refused too (they would reach the server's
 * disk, or the dependency folder, by accident).
 */
export function isImportAllowed(specifier: string, names: ReadonlySet<string>): boolean {
  if (specifier === SDK_PACKAGE || isBuiltin(specifier)) return true
  const name = packageNameOf(specifier)
  return name !== undefined && names.has(name)
}

function checkName(name: string): string | undefined {
  if (name.length === 0 || name.length > 214) return `dependency name "${name}" must be 1 to 214 characters`
  if (!PACKAGE_NAME.test(name)) {
    return `dependency name "${name}" is not a valid npm package name (lowercase letters, digits, "-", ".", "_", "~", optionally "@scope/")`
  }
  if (name === SDK_PACKAGE)
    return `"${SDK_PACKAGE}" is supplied by the gateway; remove it from the dependencies`
  return undefined
}

function checkSpec(name: string, spec: string): string | undefined {
  if (typeof spec !== 'string') return `dependency "${name}" needs a version range string`
  if (spec.startsWith('file:')) {
    const path = spec.slice('file:'.length)
    if (!isAbsolute(path) || /[\0\r\n]/.test(path)) {
      return `dependency "${name}": file: specs need an absolute path, got "${spec}"`
    }
    const trimmed = path.replace(/\/+$/, '')
    if (path.split('/').includes('..') || normalize(path).replace(/\/+$/, '') !== trimmed) {
      return `dependency "${name}": file: path "${path}" must be normalized (no "..")`
    }
    if (!existsSync(join(path, 'package.json')) || !statSync(path).isDirectory()) {
      return `dependency "${name}": ${path} is not a package folder (no package.json there)`
    }
    return undefined
  }
  const alias = NPM_ALIAS.exec(spec)
  if (alias) return checkName(alias[1]) ?? checkSpec(name, alias[2])
  if (!RANGE.test(spec) || spec.trim() === '') {
    return `dependency "${name}": unsupported version "${spec}"; use a semver range, a dist-tag, npm:<name>@<range> or file:<absolute path>`
  }
  return undefined
}

/** Validates names and specs and sorts the set. Errors name the offending dependency. */
export function resolveDependencySet(
  dependencies: Record<string, string>,
): { ok: true; set: DependencySet } | { ok: false; diagnostics: Diagnostic[] } {
  if (dependencies === null || typeof dependencies !== 'object' || Array.isArray(dependencies)) {
    return {
      ok: false,
      diagnostics: [{ severity: 'error', message: 'dependencies must be an object of name → version' }],
    }
  }
  const entries = Object.entries(dependencies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const diagnostics: Diagnostic[] = []
  for (const [name, spec] of entries) {
    const problem = checkName(name) ?? checkSpec(name, spec)
    if (problem) diagnostics.push({ severity: 'error', message: problem })
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics }
  const hash =
    entries.length === 0
      ? ''
      : createHash('sha256')
          .update(JSON.stringify(['v1', entries]))
          .digest('hex')
          .slice(0, 24)
  return { ok: true, set: { entries, names: new Set(entries.map(([name]) => name)), hash } }
}

const NOISE = [
  /^A complete log of this run can be found in/,
  /^Log files were not written/,
  /^Note that you can also install from a/,
  /^tarball, folder, http url, or git url\./,
  /^In most cases you or one of your dependencies are requesting/,
  /^code \S+$/,
  /^errno \S+$/,
]

/**
 * Turns npm's stderr into one diagnostic that names the package and npm's reason, without the log
 * file pointer, the "you can also install from a tarball" advice and the warnings about config.
 */
export function summarizeNpmFailure(output: string, set: DependencySet, exitCode: number | null): Diagnostic {
  const lines = output.split(/\r?\n/)
  let code: string | undefined
  const reasons: string[] = []
  for (const raw of lines) {
    const match = /^npm (?:error|ERR!) ?(.*)$/.exec(raw)
    if (!match) continue
    const codeMatch = /^code (\S+)$/.exec(match[1])
    if (codeMatch) code = codeMatch[1]
    const text = match[1].replace(/^(?:\d{3}|notarget)\b\s*/, '').trim()
    if (text === '' || NOISE.some((noise) => noise.test(text))) continue
    if (!reasons.includes(text)) reasons.push(text)
  }
  if (reasons.length === 0) {
    const tail = lines.filter((line) => line.trim() !== '' && !/^npm warn/i.test(line)).slice(-3)
    reasons.push(tail.length > 0 ? tail.join(' ') : `npm exited with code ${exitCode}`)
  }
  const reason = reasons.join('; ').slice(0, 600)
  // The longest listed name that npm mentions is the culprit (so `foo` does not win over `foo-bar`).
  const culprit = set.entries
    .filter(([name]) => new RegExp(`(^|[\\s'"/])${escapeRegExp(name)}($|[\\s'"@:.,])`).test(reason))
    .sort(([a], [b]) => b.length - a.length)[0]
  const subject = culprit
    ? `${culprit[0]}@${culprit[1]}`
    : set.entries.map(([name, spec]) => `${name}@${spec}`).join(', ')
  return { severity: 'error', message: `npm could not install ${subject}: ${reason}`, code }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
