import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { type TestContext, test } from 'node:test'
import { isHandlerError, isServiceError } from '@edgeforge/sdk'
import { SMTPServer } from 'smtp-server'
import { testRuntime } from '../../../test/support/services.ts'
import { BoundServices } from '../clients.ts'

/** A real SMTP server (smtp-server from npm) as the sink; the test reads each message as received. */

interface Received {
  from: string
  to: string[]
  raw: string
}

async function sink(t: TestContext, options: { password?: string; rejectTo?: string } = {}) {
  const received: Received[] = []
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: options.password === undefined,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === options.password) callback(null, { user: 'mailer' })
      else callback(new Error('Invalid username or password'))
    },
    onRcptTo(address, _session, callback) {
      if (address.address === options.rejectTo) callback(new Error('no such mailbox'))
      else callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString(),
        })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.server.address() as AddressInfo).port, received }
}

test('email: send with from name, cc, html and an attachment; the sink receives exactly that', async (t) => {
  const smtp = await sink(t, { password: 'mail-secret-8' })
  const { runtime } = testRuntime(t)
  runtime.activate({
    id: 'e',
    name: 'mail',
    type: 'email',
    config: {
      host: '127.0.0.1',
      port: smtp.port,
      encryption: 'none',
      username: 'mailer',
      from_address: 'shop@example.test',
      from_name: 'The Shop',
    },
    secrets: { password: 'mail-secret-8' },
  })
  const email = new BoundServices(runtime, { mail: 'mail' }).email('mail')
  const sent = await email.send({
    to: 'ann@example.test',
    cc: 'bob@example.test',
    subject: 'Your order',
    text: 'Thanks for your order.',
    html: '<p>Thanks for your <b>order</b>.</p>',
    attachments: [{ filename: 'receipt.csv', content: 'item,price\nlamp,30\n', contentType: 'text/csv' }],
  })
  assert.deepEqual(sent.accepted.sort(), ['ann@example.test', 'bob@example.test'])
  assert.deepEqual(sent.rejected, [])
  assert.ok(sent.messageId)
  assert.equal(smtp.received.length, 1)
  const [message] = smtp.received
  assert.equal(message.from, 'shop@example.test')
  assert.deepEqual(message.to.sort(), ['ann@example.test', 'bob@example.test'])
  assert.match(message.raw, /^From: The Shop <shop@example\.test>$/m)
  assert.match(message.raw, /^Subject: Your order$/m)
  assert.match(message.raw, /Thanks for your order\./)
  assert.match(message.raw, /<b>order<\/b>/)
  assert.match(message.raw, /filename=receipt\.csv/)
  assert.ok(message.raw.includes(Buffer.from('item,price\nlamp,30\n').toString('base64')))

  await email.send({
    to: ['cy@example.test'],
    from: 'ops@example.test',
    fromName: 'Ops',
    subject: 'x',
    text: 'y',
  })
  assert.equal(smtp.received[1].from, 'ops@example.test')
  assert.match(smtp.received[1].raw, /^From: Ops <ops@example\.test>$/m)
})

test('email: a recipient the server refuses is a ServiceError with the server reply; a wrong password is a 503', async (t) => {
  const smtp = await sink(t, { password: 'right', rejectTo: 'nobody@example.test' })
  const { runtime } = testRuntime(t)
  const base = {
    host: '127.0.0.1',
    port: smtp.port,
    encryption: 'none',
    username: 'mailer',
    from_address: 'a@example.test',
  }
  runtime.activate({ id: '1', name: 'mail', type: 'email', config: base, secrets: { password: 'right' } })
  const email = new BoundServices(runtime, { mail: 'mail' }).email('mail')
  await assert.rejects(email.send({ to: 'nobody@example.test', subject: 's', text: 't' }), (e: unknown) => {
    assert.ok(isServiceError(e), String(e))
    assert.match(e.message, /no such mailbox/)
    return true
  })
  await assert.rejects(email.send({ to: 'not-an-address', subject: 's', text: 't' }), /message\.to/)
  assert.equal(smtp.received.length, 0)

  runtime.activate({
    id: '2',
    name: 'locked',
    type: 'email',
    config: base,
    secrets: { password: 'wrong-77' },
  })
  const locked = new BoundServices(runtime, { mail: 'locked' }).email('mail')
  await assert.rejects(locked.send({ to: 'ann@example.test', subject: 's', text: 't' }), (e: unknown) => {
    assert.ok(isHandlerError(e) && e.status === 503 && !e.message.includes('wrong-77'))
    return true
  })
  assert.match(runtime.status('locked')?.lastError ?? '', /Invalid username or password/)
})
