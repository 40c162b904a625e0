import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { DependencyInstaller } from './install.ts'

/** A pid that ran and exited: no process has it now (pids are not reused this fast). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(child.stdout.toString())
}

test('the staging folders of exited processes are swept; those of running ones stay', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'edgeforge-install-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const dead = `0123456789abcdef01234567.tmp-${deadPid()}-deadbeef`
  const alive = `0123456789abcdef01234567.tmp-${process.pid}-cafef00d`
  const installed = '0123456789abcdef01234567'
  for (const name of [dead, alive, installed])
    mkdirSync(join(root, name, 'node_modules'), { recursive: true })

  await new DependencyInstaller(root, 'npm').sweepStaging()

  assert.deepEqual(readdirSync(root).sort(), [installed, alive].sort())
})

test('sweeping a dependency root that does not exist yet does nothing and does not throw', async () => {
  const missing = join(tmpdir(), `edgeforge-install-missing-${process.pid}`, 'deps')
  await assert.doesNotReject(new DependencyInstaller(missing, 'npm').sweepStaging())
})
