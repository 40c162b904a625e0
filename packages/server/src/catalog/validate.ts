import {
  ApiError,
  ENDPOINT_NAME_PATTERN,
  ENV_NAME_PATTERN,
  HOST_PATTERN,
  HTTP_METHODS,
  type HttpMethod,
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARIABLES,
  QUEUE_NAME_PATTERN,
} from '@edgeforge/protocol'
import { basePathProblem, joinPath, normalizeBasePath, pathTemplateProblem } from './path-template.ts'

/*
 * The checks the request schemas cannot express (or that callers other than the HTTP routes must
 * get too). Field names are written as the HTTP layer names them (`body.path`), so a client sees
 * one naming whether the schema or the catalog caught the mistake.
 */

const HOST = new RegExp(HOST_PATTERN)
const ENDPOINT_NAME = new RegExp(ENDPOINT_NAME_PATTERN)
const QUEUE_NAME = new RegExp(QUEUE_NAME_PATTERN)
const ENV_NAME = new RegExp(ENV_NAME_PATTERN)
// npm's rules for package names: lower-case, URL-safe, optionally scoped, at most 214 characters.
const NPM_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/
// The gateway supplies the SDK itself, so `instanceof` holds between handler and gateway.
const SUPPLIED_PACKAGES = new Set(['@edgeforge/sdk'])

/** A 400 `validation_failed` naming the field, e.g. `invalid('body.path', 'must start with /')`. */
export function invalid(field: string, problem: string): ApiError {
  return new ApiError('validation_failed', `${field} ${problem}`, { field })
}

export function checkHost(field: string, host: string): string {
  if (host.length > 253 || !HOST.test(host)) {
    throw invalid(field, `"${host}" is not a hostname (letters, digits, '-' and '.', no port or scheme)`)
  }
  return host.toLowerCase()
}

/** An endpoint's domain: '*' or a hostname, lower-cased. */
export function checkEndpointDomain(field: string, domain: string): string {
  return domain === '*' ? domain : checkHost(field, domain)
}

export function checkEndpointName(field: string, name: string): string {
  if (!ENDPOINT_NAME.test(name)) {
    throw invalid(
      field,
      `"${name}" is not a valid name: letters, digits, _ . - (up to 100), starting with a letter or digit`,
    )
  }
  return name
}

export function checkQueue(field: string, queue: string): string {
  if (!QUEUE_NAME.test(queue)) {
    throw invalid(
      field,
      `"${queue}" is not a valid queue name: a-z 0-9 _ . - (up to 64), starting with a-z or 0-9`,
    )
  }
  return queue
}

export function checkMethod(field: string, method: string): HttpMethod {
  const upper = method.toUpperCase()
  const known = HTTP_METHODS.find((candidate) => candidate === upper)
  if (!known) throw invalid(field, `"${method}" is not one of ${HTTP_METHODS.join(', ')}`)
  return known
}

export function checkPath(field: string, path: string): string {
  const problem = pathTemplateProblem(path)
  if (problem) throw invalid(field, `"${path}" ${problem}`)
  return path
}

/** A collection base path, normalized (one trailing '/' dropped). */
export function checkBasePath(field: string, basePath: string): string {
  const problem = basePathProblem(basePath)
  if (problem) throw invalid(field, `"${basePath}" ${problem}`)
  return normalizeBasePath(basePath)
}

/** The joined template must be valid too: a parameter may not appear in both base and path. */
export function checkJoined(field: string, basePath: string, path: string, context: string): void {
  const problem = pathTemplateProblem(joinPath(basePath, path))
  if (problem) throw invalid(field, `${context}: joined as "${joinPath(basePath, path)}" it ${problem}`)
}

export function checkDependencies(
  field: string,
  dependencies: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, range] of Object.entries(dependencies)) {
    if (name.length > 214 || !NPM_NAME.test(name)) {
      throw invalid(`${field}.${name}`, 'is not a valid npm package name')
    }
    if (SUPPLIED_PACKAGES.has(name)) {
      throw invalid(`${field}.${name}`, 'is supplied by the gateway; remove it from the dependencies')
    }
    if (typeof range !== 'string' || range.trim() === '' || [...range].some((char) => char < ' ')) {
      throw invalid(`${field}.${name}`, 'needs a version range, e.g. "^1.2.0"')
    }
    out[name] = range.trim()
  }
  return out
}

/** Rejects a field that the endpoint's kind does not have. */
export function rejectForKind(field: string, value: unknown, kind: string, onlyFor: string): void {
  if (value !== undefined && value !== null) {
    throw invalid(field, `is only for ${onlyFor} endpoints; this one is kind ${kind}`)
  }
}

export function requireForKind<T>(field: string, value: T | undefined | null, kind: string): T {
  if (value === undefined || value === null) throw invalid(field, `is required for kind ${kind}`)
  return value
}

/**
 * An endpoint's environment after `changes` (NAME → value, null removes) are merged into `current`.
 * Problems name the variable, never its value: the value may be a secret.
 */
export function mergeEnv(
  field: string,
  current: Record<string, string>,
  changes: Record<string, string | null>,
): Record<string, string> {
  const next = { ...current }
  for (const [name, value] of Object.entries(changes)) {
    if (!ENV_NAME.test(name))
      throw invalid(
        `${field}.${name}`,
        'is not a valid variable name: letters, digits and _ (up to 128), not starting with a digit',
      )
    if (name.startsWith('EDGEFORGE_'))
      throw invalid(
        `${field}.${name}`,
        "uses the EDGEFORGE_ prefix, which is reserved for the server's own settings",
      )
    if (value === null) {
      delete next[name]
      continue
    }
    if (Buffer.byteLength(value) > MAX_ENV_VALUE_BYTES)
      throw invalid(`${field}.${name}`, `is longer than ${MAX_ENV_VALUE_BYTES} bytes`)
    next[name] = value
  }
  if (Object.keys(next).length > MAX_ENV_VARIABLES)
    throw invalid(field, `would hold more than ${MAX_ENV_VARIABLES} variables; remove some with null`)
  return next
}
