/**
 * Scopes and scope expressions.
 *
 * A scope is a string such as `endpoints:deploy:hello`. A scope a caller holds may end in `*`,
 * which then stands for any suffix: `endpoints:deploy:*` satisfies `endpoints:deploy:hello`, and `*`
 * satisfies everything. A `*` anywhere else is an ordinary character. A route requires an
 * expression: a scope, or `{ AllOf: [...] }` / `{ AnyOf: [...] }` of expressions. A required scope
 * may contain `<param>` templates that are filled from the request before the check.
 */
export type ScopeExpression = string | { AllOf: ScopeExpression[] } | { AnyOf: ScopeExpression[] }

/** Printable ASCII without spaces: scopes travel in headers, space-separated. */
export const SCOPE_PATTERN = '^[\\x21-\\x7e]{1,256}$'
const SCOPE_RE = new RegExp(SCOPE_PATTERN)

export function isValidScope(scope: unknown): scope is string {
  return typeof scope === 'string' && SCOPE_RE.test(scope)
}

/** Whether the held scope (possibly ending in `*`) covers the required one. */
export function scopeCovers(held: string, required: string): boolean {
  if (held === required) return true
  return held.endsWith('*') && required.startsWith(held.slice(0, -1))
}

/** Whether any of the held scopes covers `required`. */
export function hasScope(held: readonly string[], required: string): boolean {
  for (const scope of held) if (scopeCovers(scope, required)) return true
  return false
}

/** Whether the held scopes satisfy the expression (templates must be filled already). */
export function satisfies(held: readonly string[], expression: ScopeExpression): boolean {
  return unsatisfied(held, expression) === undefined
}

/**
 * The part of the expression the held scopes do not satisfy, or undefined when they do: a scope
 * that is missing, an AllOf of only its unsatisfied members, or the whole AnyOf. This is what a
 * 403 names, so the caller sees what to ask for rather than the whole route's expression.
 */
export function unsatisfied(
  held: readonly string[],
  expression: ScopeExpression,
): ScopeExpression | undefined {
  if (typeof expression === 'string') return hasScope(held, expression) ? undefined : expression
  if ('AllOf' in expression) {
    const missing = expression.AllOf.map((member) => unsatisfied(held, member)).filter(
      (member): member is ScopeExpression => member !== undefined,
    )
    if (missing.length === 0) return undefined
    return missing.length === 1 ? missing[0] : { AllOf: missing }
  }
  // An empty AnyOf can never be satisfied, like Taskcluster's: it reads as "nobody".
  for (const member of expression.AnyOf) if (unsatisfied(held, member) === undefined) return undefined
  return expression
}

/**
 * Fills `<param>` templates. A param that is a list turns the scope into an AllOf over its values
 * (a batch that touches several queues needs each queue's scope). A param that is absent (a list
 * without its filter, an id that names nothing) becomes a literal `*`: only a scope that covers
 * every value there satisfies it, so a narrow scope never opens a route whose resource is unknown.
 */
export function fillTemplates(
  expression: ScopeExpression,
  params: Readonly<Record<string, string | readonly string[] | undefined>>,
): ScopeExpression {
  if (typeof expression === 'string') return fillScope(expression, params)
  if ('AllOf' in expression) return { AllOf: expression.AllOf.map((member) => fillTemplates(member, params)) }
  return { AnyOf: expression.AnyOf.map((member) => fillTemplates(member, params)) }
}

const TEMPLATE_RE = /<([A-Za-z_][A-Za-z0-9_]*)>/g

function fillScope(
  scope: string,
  params: Readonly<Record<string, string | readonly string[] | undefined>>,
): ScopeExpression {
  const names = [...scope.matchAll(TEMPLATE_RE)].map((match) => match[1])
  if (names.length === 0) return scope
  const listName = names.find((name) => Array.isArray(params[name]))
  if (listName !== undefined) {
    const values = [...new Set(params[listName] as readonly string[])]
    return { AllOf: values.map((value) => fillScope(scope, { ...params, [listName]: value })) }
  }
  const filled = scope.replace(TEMPLATE_RE, (_match, name: string) => {
    const value = params[name]
    return typeof value === 'string' ? value : '*'
  })
  // `clients:read:<prefix>*` without a prefix reads `clients:read:*`, not `…**` (same meaning).
  return filled.endsWith('**') ? filled.replace(/\*+$/, '*') : filled
}

/** The template names an expression uses, e.g. `['name']` for `endpoints:deploy:<name>`. */
export function templateNames(expression: ScopeExpression): string[] {
  if (typeof expression === 'string') return [...expression.matchAll(TEMPLATE_RE)].map((match) => match[1])
  const members = 'AllOf' in expression ? expression.AllOf : expression.AnyOf
  return [...new Set(members.flatMap(templateNames))]
}

/**
 * The scopes both sets grant: each scope of `wanted` that `held` covers, and where `wanted` has a
 * wider `*` scope than `held`, the held scopes under it. Used for authorizedScopes and temporary
 * credentials, which may only narrow what their issuer holds.
 */
export function intersectScopes(held: readonly string[], wanted: readonly string[]): string[] {
  const out = new Set<string>()
  for (const scope of wanted) {
    if (hasScope(held, scope)) out.add(scope)
    else for (const mine of held) if (scopeCovers(scope, mine)) out.add(mine)
  }
  return normalizeScopes([...out])
}

/** Sorted, without duplicates, and without scopes another scope in the set already covers. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  const unique = [...new Set(scopes)]
  return unique
    .filter((scope) => !unique.some((other) => other !== scope && scopeCovers(other, scope)))
    .sort()
}

/** The scopes of `wanted` that `held` does not cover (a client may not grant more than it has). */
export function scopesNotCovered(held: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((scope) => !hasScope(held, scope))
}

/** Renders an expression for a message: `a and (b or c)`. */
export function describeExpression(expression: ScopeExpression): string {
  if (typeof expression === 'string') return expression
  if ('AllOf' in expression) {
    if (expression.AllOf.length === 0) return '(nothing)'
    return expression.AllOf.map((member) => wrap(member)).join(' and ')
  }
  if (expression.AnyOf.length === 0) return '(no scope can satisfy this)'
  return expression.AnyOf.map((member) => wrap(member)).join(' or ')
}

function wrap(expression: ScopeExpression): string {
  return typeof expression === 'string' ? expression : `(${describeExpression(expression)})`
}

/** Checks the shape of an expression (routes declare them as data). */
export function isScopeExpression(value: unknown): value is ScopeExpression {
  if (typeof value === 'string') return value.length > 0
  if (typeof value !== 'object' || value === null) return false
  const keys = Object.keys(value)
  if (keys.length !== 1 || (keys[0] !== 'AllOf' && keys[0] !== 'AnyOf')) return false
  const members = (value as Record<string, unknown>)[keys[0]]
  return Array.isArray(members) && members.every(isScopeExpression)
}
