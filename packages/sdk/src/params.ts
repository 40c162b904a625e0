import { HandlerError } from './errors.ts'

/**
 * The types `pathParamAs`/`queryParamAs` convert to: `number` (any decimal, e.g. `2.5`, `-1e3`),
 * `integer` (a safe integer) and `boolean` (true/false, 1/0, yes/no, on/off; any case).
 *
 * @example
 * const type: ParamType = 'integer'
 */
export type ParamType = 'number' | 'integer' | 'boolean'

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i
const INTEGER = /^[+-]?\d+$/
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on'])
const FALSE_WORDS = new Set(['false', '0', 'no', 'off'])
const EXPECTED: Record<ParamType, string> = {
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
}

/**
 * Converts a raw parameter; `undefined` for an absent or empty one, `HandlerError.badRequest`
 * saying what was expected for one that does not convert.
 */
export function parseParam(
  kind: string,
  name: string,
  raw: string | undefined,
  type: ParamType,
): number | boolean | undefined {
  if (raw === undefined || raw === '') return undefined
  if (type === 'boolean') {
    const word = raw.toLowerCase()
    if (TRUE_WORDS.has(word)) return true
    if (FALSE_WORDS.has(word)) return false
  } else if (type === 'integer') {
    const value = Number(raw)
    if (INTEGER.test(raw) && Number.isSafeInteger(value)) return value
  } else if (type === 'number') {
    const value = Number(raw)
    if (DECIMAL.test(raw) && Number.isFinite(value)) return value
  } else {
    throw new TypeError(`unknown parameter type "${String(type)}": use 'number', 'integer' or 'boolean'`)
  }
  const shown = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw
  throw HandlerError.badRequest(`${kind} "${name}" must be ${EXPECTED[type]}, got "${shown}"`)
}
