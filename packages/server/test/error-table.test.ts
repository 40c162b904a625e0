import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ERROR_STATUS } from '@edgeforge/protocol'

const API_MD = join(import.meta.dirname, '..', '..', '..', 'docs', 'api.md')

test("docs/api.md's error table lists exactly the registry's codes, each with its status", () => {
  const text = readFileSync(API_MD, 'utf8')
  const documented = new Map<string, number>()
  for (const match of text.matchAll(/^\s*\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
    documented.set(match[1], Number(match[2]))
  }
  const registry = new Map<string, number>(Object.entries(ERROR_STATUS))
  const missing = [...registry.keys()].filter((code) => !documented.has(code))
  const unknown = [...documented.keys()].filter((code) => !registry.has(code))
  assert.deepEqual(missing, [], 'codes in the registry that docs/api.md does not list')
  assert.deepEqual(unknown, [], 'codes docs/api.md lists that the registry does not have')
  for (const [code, status] of registry) assert.equal(documented.get(code), status, `status of ${code}`)
})
