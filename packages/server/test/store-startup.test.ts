// How `edgeforge serve` starts on a store it cannot use: it stops at once and says what to fix,
// instead of running on something else or dumping a stack.
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openStore } from '../src/store/index.ts'
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

test('the data dir is the server user’s alone: dir 0700, edgeforge.db and its -wal/-shm 0600, also when an older server left them open', async (t) => {
  const dir = tempDir(t)
  const mode = (path: string) => statSync(path).mode & 0o777
  const fresh = join(dir, 'fresh')
  const store = await openStore({ dataDir: fresh })
  await store.db.run(
    "INSERT INTO domains (id, name, host, enabled, created_at, updated_at) VALUES ('d', 'd', 'd.test', 1, 0, 0)",
  )
  assert.equal(mode(fresh).toString(8), '700')
  for (const file of ['edgeforge.db', 'edgeforge.db-wal', 'edgeforge.db-shm'])
    assert.equal(mode(join(fresh, file)).toString(8), '600', file)
  await store.db.close()

  // What today's servers left behind: a 0755 dir with 0644 files.
  chmodSync(fresh, 0o755)
  for (const file of ['edgeforge.db', 'edgeforge.db-wal', 'edgeforge.db-shm']) {
    if (existsSync(join(fresh, file))) chmodSync(join(fresh, file), 0o644)
  }
  const reopened = await openStore({ dataDir: fresh })
  t.after(() => reopened.db.close())
  assert.equal(mode(fresh).toString(8), '700')
  assert.equal(mode(join(fresh, 'edgeforge.db')).toString(8), '600')
  assert.equal((await reopened.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM domains'))?.n, 1)
})

test('a shared directory such as /tmp is refused as the data dir, and its mode is left alone', async (t) => {
  const shared = tempDir(t)
  chmodSync(shared, 0o1777)
  await assert.rejects(
    openStore({ dataDir: shared }),
    (error: Error) =>
      error.name === 'StoreOpenError' &&
      error.message.includes(shared) &&
      /shared directory.*one of its own/.test(error.message),
  )
  assert.equal((statSync(shared).mode & 0o7777).toString(8), '1777')
  assert.equal(existsSync(join(shared, 'edgeforge.db')), false)
})

test('serve --help tells to set the admin token in the environment, not on the command line', async (t) => {
  const run = await edgeforge(['serve', '--help'], tempDir(t))
  assert.equal(run.code, 0)
  assert.match(
    run.stdout,
    /--admin-token[\s\S]*Set it in the environment: a --admin-token flag is readable by every local user \(ps, \/proc\/<pid>\/cmdline\)/,
  )
})

test('a data dir that cannot be opened stops serve with exit 1, naming the path and the OS error', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'not-a-dir')
  writeFileSync(file, 'a file where the data dir should be')
  const run = await edgeforge([...SERVE, '--data-dir', join(file, 'data')], dir)
  assert.equal(run.code, 1, run.stderr)
  assert.match(
    run.stderr,
    new RegExp(
      `edgeforge serve: cannot start: cannot use the data dir ${join(file, 'data')}: ENOTDIR: not a directory`,
    ),
  )
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
})

test('an unreachable PostgreSQL server stops serve with exit 1, naming where and why, without the password', async (t) => {
  const dir = tempDir(t)
  const run = await edgeforge(
    [
      ...SERVE,
      '--data-dir',
      join(dir, 'data'),
      '--database-url',
      'postgres://edgeforge:hunter2@127.0.0.1:1/edgeforge',
    ],
    dir,
  )
  assert.equal(run.code, 1, run.stderr)
  assert.match(
    run.stderr,
    /edgeforge serve: cannot start: postgres:\/\/edgeforge@127\.0\.0\.1:1\/edgeforge: the PostgreSQL server refuses connections/,
  )
  assert.doesNotMatch(run.stderr, /hunter2|\n\s+at /)
})
