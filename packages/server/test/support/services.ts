import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import mysql from 'mysql2/promise'
import { ServiceRuntime } from '../../src/services/runtime.ts'

/**
 * Where the service suites find their real servers. `.ci/run` starts each of them (see the README's
 * contributor notes); a developer without one gets the suite skipped with this hint, CI fails.
 */
export const TEST_SERVERS = {
  mariadb: { host: '127.0.0.1', port: 3306, start: 'start MariaDB (mariadbd) on 127.0.0.1:3306' },
  redis: { host: '127.0.0.1', port: 6379, start: 'start redis-server on 127.0.0.1:6379' },
  memcached: { host: '127.0.0.1', port: 11211, start: 'start memcached -l 127.0.0.1 -p 11211' },
  ftp: { host: '127.0.0.1', port: 2121, start: 'run .ci/services.sh to start vsftpd on 127.0.0.1:2121' },
  sftp: { host: '127.0.0.1', port: 2222, start: 'run .ci/services.sh to start sshd on 127.0.0.1:2222' },
} as const

/** The test user .ci/services.sh creates for vsftpd and sshd. */
export const FILE_SERVER_USER = { username: 'edgeforge-test', password: 'edgeforge-test-pw' }

export type TestServer = keyof typeof TEST_SERVERS

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** True when the server answers; otherwise skips the test locally and throws in CI. */
export async function needServer(t: TestContext, name: TestServer): Promise<boolean> {
  const server = TEST_SERVERS[name]
  if (await reachable(server.host, server.port)) return true
  const hint = `${name} is not reachable at ${server.host}:${server.port}: ${server.start}`
  if (process.env.CI) throw new Error(hint)
  t.skip(hint)
  return false
}

/** A MariaDB database for one test, dropped afterwards. */
export async function freshMariaDb(t: TestContext): Promise<string | undefined> {
  if (!(await needServer(t, 'mariadb'))) return undefined
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' })
  const name = `edgeforge_svc_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.after(async () => {
    const dropper = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' })
    await dropper.query(`DROP DATABASE IF EXISTS ${name}`)
    await dropper.end()
  })
  return name
}

/** A runtime with its own data dir, closed (and the dir removed) after the test. */
export function testRuntime(t: TestContext): { runtime: ServiceRuntime; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-services-'))
  const runtime = new ServiceRuntime({
    dataDir,
    signUrl: (service, key, seconds) => `http://127.0.0.1:1/signed/${service}/${key}?seconds=${seconds}`,
  })
  t.after(async () => {
    await runtime.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { runtime, dataDir }
}
