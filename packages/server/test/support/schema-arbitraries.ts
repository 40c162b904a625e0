import fc from 'fast-check'

/*
 * fast-check arbitraries derived from JSON Schemas (the TypeBox schemas of the route declarations
 * are plain JSON Schema): values that should pass a schema, and values broken on purpose. Covers
 * the keywords the declarations use: type (one or a list), properties, required,
 * additionalProperties, items, minItems/maxItems, minLength/maxLength, pattern, format date-time,
 * minimum/maximum, const, anyOf, if/then/else, and {} for any value.
 */

export type JsonSchema = {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  minimum?: number
  maximum?: number
  const?: unknown
  anyOf?: JsonSchema[]
  if?: JsonSchema
  then?: JsonSchema
  else?: JsonSchema
  default?: unknown
}

/** Replaces the generator of a named object field, e.g. to keep `dependencies` empty. */
export type Overrides = Record<string, fc.Arbitrary<unknown>>

const anyJson = fc.jsonValue({ maxDepth: 2 })

/** Values the schema accepts (by construction; callers may still double-check with a validator). */
export function validValue(schema: JsonSchema, overrides: Overrides = {}): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((branch) => validValue(branch, overrides)))
  if (schema.if && schema.then && schema.else) {
    return fc.oneof(validValue(schema.then, overrides), validValue(schema.else, overrides))
  }
  const types = typesOf(schema)
  if (types.length === 0) return anyJson
  if (types.length > 1) return fc.oneof(...types.map((type) => validValue({ ...schema, type }, overrides)))
  switch (types[0]) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer':
      return fc.integer({
        min: Math.ceil(schema.minimum ?? -1_000_000),
        max: Math.floor(schema.maximum ?? 1_000_000),
      })
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1_000_000,
        max: schema.maximum ?? 1_000_000,
        noNaN: true,
        noDefaultInfinity: true,
      })
    case 'string':
      return validString(schema)
    case 'array': {
      const minLength = schema.minItems ?? 0
      const maxLength = Math.min(schema.maxItems ?? 4, minLength + 3)
      return fc.array(validValue(schema.items ?? {}, overrides), { minLength, maxLength })
    }
    case 'object':
      return validObject(schema, overrides)
    default:
      return anyJson
  }
}

function validString(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'date-time') {
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString())
  }
  const minLength = schema.minLength ?? 0
  const maxLength = Math.min(schema.maxLength ?? 40, minLength + 40)
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern)
    return fc
      .stringMatching(pattern)
      .filter((text) => [...text].length >= minLength && [...text].length <= (schema.maxLength ?? Infinity))
  }
  return fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ minLength, maxLength, unit: 'grapheme' }).filter((text) => [...text].length <= maxLength),
  )
}

function validObject(schema: JsonSchema, overrides: Overrides): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {}
  const shape: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, property] of Object.entries(properties))
    shape[name] = overrides[name] ?? validValue(property, overrides)
  if (Object.keys(shape).length === 0) {
    return schema.additionalProperties === false
      ? fc.constant({})
      : fc.dictionary(fc.string(), anyJson, { maxKeys: 3 })
  }
  return fc.record(shape, { requiredKeys: (schema.required ?? []).filter((name) => name in shape) })
}

/**
 * Values the schema refuses: a field of the wrong JSON type, an unknown field, a missing required
 * field, a bound crossed. Returns undefined when the schema accepts anything.
 */
export function invalidValue(
  schema: JsonSchema,
  overrides: Overrides = {},
): fc.Arbitrary<unknown> | undefined {
  if (schema.if && schema.then && schema.else) return invalidValue(schema.else, overrides)
  const types = typesOf(schema)
  const wrongType = wrongTypeValue(schema)
  const options: fc.Arbitrary<unknown>[] = wrongType ? [wrongType] : []
  if (types.length === 1 && types[0] === 'object' && schema.properties) {
    const properties = schema.properties
    const names = Object.keys(properties)
    const base = validObject(schema, overrides)
    if (schema.additionalProperties === false) {
      options.push(base.map((value) => ({ ...value, fuzz_unknown_field: 1 })))
    }
    for (const name of schema.required ?? []) {
      options.push(
        base.map((value) => {
          const copy = { ...value }
          delete copy[name]
          return copy
        }),
      )
    }
    for (const name of names) {
      const broken = invalidValue(properties[name], overrides)
      if (broken) options.push(fc.tuple(base, broken).map(([value, bad]) => ({ ...value, [name]: bad })))
    }
  }
  if (types.length === 1 && (types[0] === 'integer' || types[0] === 'number')) {
    if (schema.maximum !== undefined) options.push(fc.constant(schema.maximum + 1))
    if (schema.minimum !== undefined) options.push(fc.constant(schema.minimum - 1))
    if (types[0] === 'integer') options.push(fc.constant((schema.minimum ?? 0) + 0.5))
  }
  if (types.length === 1 && types[0] === 'string' && schema.maxLength !== undefined) {
    options.push(fc.constant('x'.repeat(schema.maxLength + 1)))
  }
  return options.length ? fc.oneof(...options) : undefined
}

/** A value of a JSON type the schema does not accept at all. */
function wrongTypeValue(schema: JsonSchema): fc.Arbitrary<unknown> | undefined {
  if (schema.const !== undefined)
    return fc.constant(typeof schema.const === 'string' ? 12345 : 'not-the-constant')
  const accepted = new Set(acceptedTypes(schema))
  if (accepted.size === 0) return undefined
  const samples: Array<[string, fc.Arbitrary<unknown>]> = [
    ['string', fc.constantFrom('5', 'true', '')],
    ['integer', fc.constantFrom(5, 0, -1)],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.constant([4568])],
    ['object', fc.constant({ nested: true })],
  ]
  const wrong = samples
    .filter(([type]) => !accepted.has(type) && !(type === 'integer' && accepted.has('number')))
    .map(([, arbitrary]) => arbitrary)
  return wrong.length ? fc.oneof(...wrong) : undefined
}

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type
  return schema.type ? [schema.type] : []
}

/** Every JSON type some branch of the schema accepts; empty when any value goes. */
function acceptedTypes(schema: JsonSchema): string[] {
  if (schema.anyOf) {
    const all = schema.anyOf.map(acceptedTypes)
    return all.some((types) => types.length === 0) ? [] : all.flat()
  }
  if (schema.const !== undefined) return [schema.const === null ? 'null' : typeof schema.const]
  return typesOf(schema)
}
