import type { FieldSpec, ResolvedConfig, ServiceKind } from './kind.ts'

/** One field a service record gets wrong, for the 400's `details.fields`. */
export interface FieldProblem {
  field: string
  message: string
}

type Input = Readonly<Record<string, unknown>>

/**
 * Checks a record's `config` (plain fields) and `secrets` (write-only fields) against its kind:
 * unknown fields, a secret sent as config or the other way round, wrong types, out-of-range
 * numbers, values outside the choices, and missing required fields (`partial` skips that last
 * check for updates that merge into stored values).
 */
export function checkFields(kind: ServiceKind, config: Input, secrets: Input): FieldProblem[] {
  const problems: FieldProblem[] = []
  const byName = new Map(kind.fields.map((f) => [f.name, f]))
  for (const [where, input, wantSecret] of [
    ['config', config, false],
    ['secrets', secrets, true],
  ] as const) {
    for (const [name, value] of Object.entries(input)) {
      const spec = byName.get(name)
      const field = `${where}.${name}`
      if (!spec) {
        problems.push({
          field,
          message: `is not a field of a ${kind.type} service (known: ${[...byName.keys()].join(', ')})`,
        })
        continue
      }
      if (Boolean(spec.secret) !== wantSecret) {
        problems.push({
          field,
          message: spec.secret
            ? `is write-only: send it in "secrets", not "config"`
            : `is not a secret: send it in "config"`,
        })
        continue
      }
      if (value === null) continue
      const problem = checkValue(spec, value)
      if (problem) problems.push({ field, message: problem })
    }
  }
  for (const spec of kind.fields) {
    if (!spec.required) continue
    const input = spec.secret ? secrets : config
    const value = input[spec.name]
    if (value === undefined || value === null || value === '')
      problems.push({
        field: `${spec.secret ? 'secrets' : 'config'}.${spec.name}`,
        message: `is required for a ${kind.type} service`,
      })
  }
  return problems
}

function checkValue(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string'
      if (spec.choices && !spec.choices.includes(value)) return `must be one of ${spec.choices.join(', ')}`
      if (value.length > 4096) return 'must be at most 4096 characters'
      return undefined
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false'
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer'
      if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}`
      if (spec.max !== undefined && value > spec.max) return `must be at most ${spec.max}`
      return undefined
  }
}

/** Config and secrets merged, defaults filled in: what the kind's connector reads. */
export function resolveConfig(kind: ServiceKind, config: Input, secrets: Input): ResolvedConfig {
  const resolved: ResolvedConfig = {}
  for (const spec of kind.fields) {
    const value = (spec.secret ? secrets : config)[spec.name]
    if (value !== undefined && value !== null) resolved[spec.name] = value as string | number | boolean
    else if (spec.default !== undefined) resolved[spec.name] = spec.default
  }
  return resolved
}

/** Drops null values (a PUT's way of clearing a field) after merging `patch` into `stored`. */
export function mergeFields(stored: Input, patch: Input | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...stored, ...(patch ?? {}) }
  for (const [name, value] of Object.entries(merged)) if (value === null) delete merged[name]
  return merged
}
