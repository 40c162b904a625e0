/*
 * Path templates: how an endpoint says which paths it serves, e.g. `/users/{id}/posts/{post_id}`.
 *
 * - starts with '/'; segments are separated by '/'
 * - a segment is either a literal or a whole-segment parameter `{name}`, name `[A-Za-z_][A-Za-z0-9_]*`
 * - the last segment may be a catch-all `{*name}`: it matches the rest of the path, slashes and
 *   all (at least one character; `/files/{*rest}` serves `/files/a/b.txt`, not `/files`)
 * - a parameter name appears once (across the collection's base_path and the path)
 * - no empty segments, except one trailing '/' (`/users/` is a different route from `/users`)
 * - literal characters: letters, digits and `. _ ~ ! $ & ' ( ) + , ; = : @ -` — RFC 3986 path
 *   characters without `%` (the router matches decoded paths, so an escape could never match) and
 *   without `*` (the router would read it as a wildcard)
 * - at most 1024 characters
 *
 * A collection's base_path is empty or a template by the same rules (parameters allowed, e.g.
 * `/tenants/{tenant}`, a catch-all not); one trailing '/' is dropped, so `/v1/` and `/v1` are the
 * same base.
 */

export const MAX_PATH_LENGTH = 1024

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const LITERAL_CHAR = /[A-Za-z0-9._~!$&'()+,;=:@-]/
const ALLOWED_LITERALS = "letters, digits and . _ ~ ! $ & ' ( ) + , ; = : @ -"

type Segment = { param: string } | { literal: string }

/** The parameter a segment names, `{id}` → `id` and `{*rest}` → `rest`; undefined for a literal. */
function paramOf(part: string): string | undefined {
  if (!part.startsWith('{') || !part.endsWith('}')) return undefined
  return part.startsWith('{*') ? part.slice(2, -1) : part.slice(1, -1)
}

function segmentsOf(template: string): Segment[] {
  const body = template.endsWith('/') ? template.slice(1, -1) : template.slice(1)
  if (body === '') return []
  return body.split('/').map((part) => {
    const param = paramOf(part)
    return param === undefined ? { literal: part } : { param }
  })
}

/**
 * The name of the template's catch-all parameter, or undefined when it has none.
 *
 * @example
 * catchAllParam('/files/{*rest}') // 'rest'
 */
export function catchAllParam(template: string): string | undefined {
  const last = template.slice(template.lastIndexOf('/') + 1)
  return last.startsWith('{*') && last.endsWith('}') ? last.slice(2, -1) : undefined
}

/**
 * Why `template` is not a valid path template, naming the bad part; null when it is valid.
 *
 * @example
 * pathTemplateProblem('/users/{id') // 'segment "{id" is not a parameter: write {name} …'
 */
export function pathTemplateProblem(template: string): string | null {
  if (template.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`
  if (!template.startsWith('/')) return "must start with '/'"
  if (template === '/') return null
  const inner = template.endsWith('/') ? template.slice(1, -1) : template.slice(1)
  const parts = inner.split('/')
  const seen = new Set<string>()
  for (const [index, part] of parts.entries()) {
    if (part === '') {
      return index === parts.length - 1
        ? "ends with '//': only one trailing '/' is allowed"
        : "has an empty segment ('//'); remove the doubled '/'"
    }
    if (part.includes('{') || part.includes('}')) {
      const name = paramOf(part)
      if (name === undefined || name.includes('{') || name.includes('}')) {
        return `segment "${part}" mixes text and braces: a parameter is a whole segment written {name}`
      }
      if (!PARAM_NAME.test(name)) {
        return `segment "${part}" is not a valid parameter: its name must match [A-Za-z_][A-Za-z0-9_]*`
      }
      if (part.startsWith('{*') && (index !== parts.length - 1 || template.endsWith('/'))) {
        return `has the catch-all "${part}" before its end: a catch-all is the last segment, with no '/' after it`
      }
      if (seen.has(name)) return `uses the parameter {${name}} twice`
      seen.add(name)
      continue
    }
    for (const char of part) {
      if (!LITERAL_CHAR.test(char)) {
        return `segment "${part}" contains ${JSON.stringify(char)}, which a path template cannot hold (allowed: ${ALLOWED_LITERALS})`
      }
    }
  }
  return null
}

/** The parameter names of a valid template, in order. */
export function pathParams(template: string): string[] {
  return segmentsOf(template).flatMap((segment) => ('param' in segment ? [segment.param] : []))
}

/** A base path as stored: one trailing '/' dropped, so '/' and '' both mean "no prefix". */
export function normalizeBasePath(basePath: string): string {
  return basePath.endsWith('/') ? basePath.slice(0, -1) : basePath
}

/** Why `basePath` is not a valid collection base path; null when it is valid (empty is valid). */
export function basePathProblem(basePath: string): string | null {
  const normalized = normalizeBasePath(basePath)
  if (normalized === '') return null
  if (normalized.endsWith('/')) return "ends with '//': at most one trailing '/' is dropped"
  if (catchAllParam(normalized) !== undefined)
    return 'ends in a catch-all: only an endpoint path can end in {*name}'
  return pathTemplateProblem(normalized)
}

/**
 * The full template the gateway routes: the collection's base path, then the endpoint's path.
 * The path '/' stands for the base itself.
 *
 * @example
 * joinPath('/v1', '/pets') // '/v1/pets'
 * joinPath('/v1/', '/pets/') // '/v1/pets/'
 * joinPath('', '/x') // '/x'
 * joinPath('/v1', '/') // '/v1'
 */
export function joinPath(basePath: string, path: string): string {
  const base = normalizeBasePath(basePath)
  const rest = path.startsWith('/') ? path : `/${path}`
  if (base === '') return rest
  return rest === '/' ? base : base + rest
}

/**
 * The same template in find-my-way's syntax: `{id}` becomes `:id`, a catch-all `{*rest}` becomes
 * `*` (find-my-way names its value `*`; the router renames it), and a literal ':' is doubled so the
 * router does not read it as the start of a parameter.
 *
 * @example
 * toRouterPath('/users/{id}') // '/users/:id'
 * toRouterPath('/files/{*rest}') // '/files/*'
 */
export function toRouterPath(template: string): string {
  return template
    .split('/')
    .map((part) => {
      const param = paramOf(part)
      if (param === undefined) return part.replaceAll(':', '::')
      return part.startsWith('{*') ? '*' : `:${param}`
    })
    .join('/')
}
