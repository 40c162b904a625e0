// How `edgeforge serve` starts on a store it cannot use: it stops at once and says what to fix,
// instead of running on something else or dumping a stack.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { edgeforge } from './support/cli.ts'

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeforge-startup-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const SERVE = ['serve', '--gateway-port', '0', '--control-port', '0', '--warm-compiler', 'false']

test('serve with a mysql:// database URL exits 2 naming the supported schemes, and creates no SQLite file', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  const run = await edgeforge(
    [...SERVE, '--data-dir', dataDir, '--database-url', 'mysql://root@127.0.0.1/test'],
    dir,
  )
  assert.equal(run.code, 2, run.stderr)
  assert.match(run.stderr, /edgeforge serve: .*mysql:.*does not support.*postgres:\/\//)
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
  assert.doesNotMatch(run.stderr, /gateway on/)
})
