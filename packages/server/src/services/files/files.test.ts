import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { type TestContext, test } from 'node:test'
import { isHandlerError, isServiceError } from '@edgeforge/sdk'
import SftpClient from 'ssh2-sftp-client'
import { FILE_SERVER_USER, needServer, TEST_SERVERS, testRuntime } from '../../../test/support/services.ts'
import { BoundServices } from '../clients.ts'

/**
 * The `ftp` kind over FTP and FTPS (vsftpd) and SFTP (OpenSSH), on the servers .ci/services.sh
 * starts. What the service wrote is read back from the test user's folder on disk, and for SFTP
 * also with ssh2-sftp-client of the test's own.
 */

const HOME = `/home/${FILE_SERVER_USER.username}`

const PROTOCOLS = {
  ftp: { server: 'ftp', extra: {} },
  ftps: { server: 'ftp', extra: { allow_self_signed: true } },
  sftp: { server: 'sftp', extra: {} },
} as const

function folder(t: TestContext): string {
  const name = `run-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  t.after(() => rmSync(`${HOME}/${name}`, { recursive: true, force: true }))
  return `${HOME}/${name}`
}

for (const [protocol, { server, extra }] of Object.entries(PROTOCOLS)) {
  test(`${protocol}: mkdir, put, get, list, delete under base_path; read back independently`, async (t) => {
    if (!(await needServer(t, server))) return
    const { runtime } = testRuntime(t)
    const basePath = folder(t)
    runtime.activate({
      id: protocol,
      name: 'partner',
      type: 'ftp',
      config: {
        protocol,
        host: '127.0.0.1',
        port: TEST_SERVERS[server].port,
        username: FILE_SERVER_USER.username,
        base_path: basePath,
        ...extra,
      },
      secrets: { password: FILE_SERVER_USER.password },
    })
    const files = new BoundServices(runtime, { sftp: 'partner' }).files('sftp')
    await files.mkdir('')
    await files.mkdir('reports/2026')
    await files.put('reports/2026/daily.csv', 'a,b\n1,2\n')
    await files.put('hello.bin', new Uint8Array([1, 2, 3]))
    assert.equal(readFileSync(`${basePath}/reports/2026/daily.csv`, 'utf8'), 'a,b\n1,2\n')
    assert.deepEqual([...readFileSync(`${basePath}/hello.bin`)], [1, 2, 3])
    if (protocol === 'sftp') {
      const own = new SftpClient()
      await own.connect({ host: '127.0.0.1', port: 2222, ...FILE_SERVER_USER })
      t.after(() => own.end())
      assert.equal(String(await own.get(`${basePath}/reports/2026/daily.csv`)), 'a,b\n1,2\n')
    }

    assert.equal(Buffer.from(await files.get('reports/2026/daily.csv')).toString(), 'a,b\n1,2\n')
    const listed = (await files.list('.'))
      .map((e) => [e.name, e.isDirectory, e.isDirectory ? 0 : e.size])
      .sort()
    assert.deepEqual(listed, [
      ['hello.bin', false, 3],
      ['reports', true, 0],
    ])
    assert.equal(await files.delete('hello.bin'), true)
    assert.equal(await files.delete('hello.bin'), false)
    await assert.rejects(
      files.get('hello.bin'),
      (e: unknown) => isServiceError(e) && e.code === 'not_found' && e.service === 'partner',
    )
    await assert.rejects(files.get('../../etc/passwd'), /must not have "\.\." segments/)
  })

  test(`${protocol}: a wrong password is a 503 whose message and status hold no password`, async (t) => {
    if (!(await needServer(t, server))) return
    const { runtime } = testRuntime(t)
    runtime.activate({
      id: protocol,
      name: 'locked',
      type: 'ftp',
      config: {
        protocol,
        host: '127.0.0.1',
        port: TEST_SERVERS[server].port,
        username: FILE_SERVER_USER.username,
        ...extra,
      },
      secrets: { password: 'wrong-pw-5150' },
    })
    const files = new BoundServices(runtime, { f: 'locked' }).files('f')
    await assert.rejects(
      files.list('.'),
      (e: unknown) => isHandlerError(e) && e.status === 503 && !e.message.includes('wrong-pw'),
    )
    const status = runtime.status('locked')
    assert.ok(status?.lastError && !status.lastError.includes('wrong-pw-5150'))
    assert.equal(status.connected, false)
  })
}
