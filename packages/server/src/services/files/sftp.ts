import SftpClient from 'ssh2-sftp-client'
import { int, type ResolvedConfig, str } from '../kind.ts'
import type { RemoteFiles } from './remote.ts'

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return code === 2 || code === 'ENOENT' || /No such file/i.test((error as Error)?.message ?? '')
}

/** One SSH connection with an SFTP channel (ssh2-sftp-client). */
export async function connectSftp(config: ResolvedConfig): Promise<RemoteFiles> {
  const client = new SftpClient()
  let alive = true
  client.on('error', () => {
    alive = false
  })
  client.on('end', () => {
    alive = false
  })
  client.on('close', () => {
    alive = false
  })
  await client.connect({
    host: str(config, 'host'),
    port: int(config, 'port') || 22,
    username: str(config, 'username'),
    password: config.password === undefined ? undefined : str(config, 'password'),
    privateKey: config.private_key === undefined ? undefined : str(config, 'private_key'),
    readyTimeout: int(config, 'timeout_seconds') * 1000,
    retries: 0,
  })
  return {
    get alive() {
      return alive
    },
    async put(path, body) {
      await client.put(body, path)
    },
    async get(path) {
      try {
        return (await client.get(path)) as Buffer
      } catch (error) {
        if (isMissing(error)) return null
        throw error
      }
    },
    async list(path) {
      const entries = await client.list(path)
      return entries.map((e) => ({ name: e.name, size: e.size, isDirectory: e.type === 'd' }))
    },
    async delete(path) {
      try {
        await client.delete(path)
        return true
      } catch (error) {
        if (isMissing(error)) return false
        throw error
      }
    },
    async mkdir(path) {
      await client.mkdir(path, true)
    },
    async ping() {
      await client.cwd()
    },
    async close() {
      alive = false
      await client.end().catch(() => {})
    },
  }
}
