import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { missingServeFlags, SERVE_NODE_FLAGS } from './node-flags.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..', '..')

test('npm start and the edgeforge bin launch node with every serve flag', () => {
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start
  const shebang = readFileSync(join(ROOT, 'packages', 'server', 'bin', 'edgeforge.js'), 'utf8').split('\n')[0]
  assert.ok(SERVE_NODE_FLAGS.length > 0)
  for (const flag of SERVE_NODE_FLAGS) {
    assert.ok(start.split(' ').includes(flag), `npm start lacks ${flag}: ${start}`)
    assert.ok(shebang.split(' ').includes(flag), `the bin's shebang lacks ${flag}: ${shebang}`)
  }
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /)
})

test('missingServeFlags names what a process was started without', () => {
  assert.deepEqual(missingServeFlags([...SERVE_NODE_FLAGS, '--other']), [])
  assert.deepEqual(missingServeFlags([]), [...SERVE_NODE_FLAGS])
})
