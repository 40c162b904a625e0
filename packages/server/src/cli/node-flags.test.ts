import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { missingServeFlags, SERVE_NODE_FLAGS } from './node-flags.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..', '..')

test('npm start, the edgeforge bin and the ./edgeforge script launch node with every serve flag', () => {
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start
  const shebang = readFileSync(join(ROOT, 'packages', 'server', 'bin', 'edgeforge.js'), 'utf8').split('\n')[0]
  const script = readFileSync(join(ROOT, 'edgeforge'), 'utf8')
    .split('\n')
    .find((line) => line.startsWith('exec '))
  assert.ok(script, 'the ./edgeforge script has no exec line')
  assert.ok(SERVE_NODE_FLAGS.length > 0)
  for (const flag of SERVE_NODE_FLAGS) {
    assert.ok(start.split(' ').includes(flag), `npm start lacks ${flag}: ${start}`)
    assert.ok(shebang.split(' ').includes(flag), `the bin's shebang lacks ${flag}: ${shebang}`)
    assert.ok(script.split(' ').includes(flag), `the ./edgeforge script lacks ${flag}: ${script}`)
  }
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /)
})

test('missingServeFlags names what a process was started without', () => {
  assert.deepEqual(missingServeFlags([...SERVE_NODE_FLAGS, '--other']), [])
  assert.deepEqual(missingServeFlags([]), [...SERVE_NODE_FLAGS])
})
