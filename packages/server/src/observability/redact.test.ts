import assert from 'node:assert/strict'
import { test } from 'node:test'
import { redactLocation } from './redact.ts'

test('database locations lose their password and password-like query parameters', () => {
  assert.equal(redactLocation('/var/lib/edgeforge/edgeforge.db'), '/var/lib/edgeforge/edgeforge.db')
  const redacted = redactLocation(
    'postgres://app:hunter2@db.internal:5432/edgeforge?sslmode=require&password=hunter3&sslpassword=hunter4',
  )
  assert.doesNotMatch(redacted, /hunter/)
  assert.match(redacted, /^postgres:\/\/app@db\.internal:5432\/edgeforge\?sslmode=require$/)
  assert.doesNotMatch(redactLocation('postgres://u:p@[bad'), /p@/)
})
