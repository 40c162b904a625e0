import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { deployEndpoint } from './support/endpoints.ts'
import { handlerSource, startTestServer } from './support/server.ts'

/** What a raw connection saw before the server closed it, or `closed: false` after `waitMs`. */
function watch(socket: Socket, waitMs: number): Promise<{ closed: boolean; received: string }> {
  return new Promise((resolve) => {
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('error', () => {})
    const timer = setTimeout(() => resolve({ closed: false, received }), waitMs)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ closed: true, received })
    })
  })
}

function open(gatewayUrl: string): Promise<Socket> {
  const url = new URL(gatewayUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket))
    socket.once('error', reject)
  })
}

test('the gateway closes connections that do not finish their request in time', async (t) => {
  const srv = await startTestServer(t, {
    'gateway-headers-timeout-ms': '500',
    'gateway-request-timeout-ms': '1500',
  })
  await deployEndpoint(srv, {
    name: 'upload',
    method: 'POST',
    path: '/upload',
    code: handlerSource(
      `export default handler(async (req) => Response.text(200, String((await req.text()).length)))`,
    ),
  })
  // Far beyond either timeout: without them node keeps such connections open for good.
  const patienceMs = 6000

  await t.test('half a header, then silence: 408 and closed', async () => {
    const socket = await open(srv.gatewayUrl)
    socket.write('GET /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ')
    const seen = await watch(socket, patienceMs)
    socket.destroy()
    assert.equal(seen.closed, true, 'the server closed the connection')
    assert.match(seen.received, /^HTTP\/1\.1 408 /)
  })

  await t.test('headers trickled a byte at a time: closed at the header timeout', async () => {
    const socket = await open(srv.gatewayUrl)
    const line = 'GET /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '
    socket.write(line)
    const trickle = setInterval(() => socket.writable && socket.write('a'), 100)
    const seen = await watch(socket, patienceMs)
    clearInterval(trickle)
    socket.destroy()
    assert.equal(seen.closed, true, 'the server closed the connection')
  })

  await t.test('a body trickled slower than the request timeout allows: closed', async () => {
    const socket = await open(srv.gatewayUrl)
    socket.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n')
    const trickle = setInterval(() => socket.writable && socket.write('x'), 100)
    const seen = await watch(socket, patienceMs)
    clearInterval(trickle)
    socket.destroy()
    assert.equal(seen.closed, true, 'the server closed the connection')
    assert.doesNotMatch(seen.received, /^HTTP\/1\.1 200 /, 'the handler never got the cut request')
  })

  await t.test('a request sent in time is served as usual', async () => {
    const response = await fetch(`${srv.gatewayUrl}/upload`, { method: 'POST', body: 'hello' })
    assert.equal(response.status, 200)
    assert.equal(await response.text(), '5')
  })
})
