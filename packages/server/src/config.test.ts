import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig, redactedConfig, SETTINGS } from './config.ts'

test('defaults: gateway on all interfaces, control plane on loopback, SQLite in ./data', () => {
  const config = loadConfig({})
  assert.equal(config.gatewayHost, '0.0.0.0')
  assert.equal(config.gatewayPort, 9080)
  assert.equal(config.controlHost, '127.0.0.1')
  assert.equal(config.controlPort, 9081)
  assert.equal(config.databaseUrl, '')
  assert.equal(config.warmCompiler, true)
  assert.ok(config.dataDir.endsWith('/data'))
})

test('every Config key has a setting, and flags win over the environment', () => {
  const config = loadConfig(
    { EDGEFORGE_GATEWAY_PORT: '7000', EDGEFORGE_TYPE_CHECK: 'no' },
    { 'gateway-port': '7001' },
  )
  assert.equal(config.gatewayPort, 7001)
  assert.equal(config.typeCheck, false)
  for (const setting of SETTINGS) assert.notEqual(config[setting.key], undefined, setting.key)
})

test('bad values and unknown flags say what to fix', () => {
  assert.throws(
    () => loadConfig({ EDGEFORGE_GATEWAY_PORT: 'eighty' }),
    /EDGEFORGE_GATEWAY_PORT.*whole number/,
  )
  assert.throws(() => loadConfig({}, { 'gateway-port': '70000' }), /0–65535/)
  assert.throws(() => loadConfig({ EDGEFORGE_LOG_LEVEL: 'loud' }), /one of debug, info/)
  assert.throws(() => loadConfig({}, { 'gatway-port': '1' }), /unknown option --gatway-port/)
})

test('a public control plane without a token is refused, with one it is allowed', () => {
  assert.throws(
    () => loadConfig({ EDGEFORGE_CONTROL_HOST: '0.0.0.0' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.match(error.message, /EDGEFORGE_ADMIN_TOKEN/)
      return true
    },
  )
  assert.equal(
    loadConfig({ EDGEFORGE_CONTROL_HOST: '0.0.0.0', EDGEFORGE_ADMIN_TOKEN: 't' }).controlHost,
    '0.0.0.0',
  )
  assert.equal(loadConfig({ EDGEFORGE_CONTROL_HOST: '::1' }).controlHost, '::1')
})

test('redactedConfig hides the token and the database password', () => {
  const config = loadConfig({
    EDGEFORGE_ADMIN_TOKEN: 'sekrit',
    EDGEFORGE_DATABASE_URL: 'postgres://u:pw@h/db?password=qpw',
  })
  const shown = JSON.stringify(redactedConfig(config))
  assert.ok(!shown.includes('sekrit'))
  assert.ok(!shown.includes(':pw@'))
  assert.ok(!shown.includes('qpw'), 'a password given as a query parameter is hidden too')
})

test('docs/operations.md documents every setting', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/operations.md'), 'utf8')
  for (const setting of SETTINGS)
    assert.ok(doc.includes(setting.env), `${setting.env} is missing from docs/operations.md`)
})

test('a database URL edgeforge cannot use stops the start, naming the supported schemes', () => {
  for (const url of [
    'mysql://root@127.0.0.1/test',
    'sqlite:///tmp/x.db',
    'redis://127.0.0.1:6379',
    'localhost:5432/db',
  ]) {
    assert.throws(
      () => loadConfig({ EDGEFORGE_DATABASE_URL: url }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, url)
        assert.match(
          error.message,
          /EDGEFORGE_DATABASE_URL.*does not support.*postgres:\/\/.*postgresql:\/\/.*empty for SQLite/,
        )
        return true
      },
    )
  }
  for (const url of ['not a url', 'postgres://u:hunter2@host:99999/db']) {
    assert.throws(
      () => loadConfig({ EDGEFORGE_DATABASE_URL: url }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, url)
        assert.match(error.message, /is not a URL; supported: postgres:\/\//)
        assert.ok(!error.message.includes('hunter2'))
        return true
      },
    )
  }
  assert.throws(() => loadConfig({}, { 'database-url': 'postgres:/edgeforge' }), /names no host/)
  for (const url of [
    'postgres://postgres@127.0.0.1:5432/test',
    'postgresql://u:pw@db.internal/edgeforge?sslmode=require',
    'postgres:///edgeforge?host=/run/postgresql',
  ])
    assert.equal(loadConfig({ EDGEFORGE_DATABASE_URL: url }).databaseUrl, url)
})
