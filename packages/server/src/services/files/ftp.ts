import { PassThrough, Readable } from 'node:stream'
import { Client, FileType } from 'basic-ftp'
import { bool, int, type ResolvedConfig, str } from '../kind.ts'
import type { RemoteFiles } from './remote.ts'

/** FTP reply codes for "no such file" (550) and "file name not allowed" (553). */
function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return code === 550 || code === 553
}

/** One FTP or explicit-FTPS (AUTH TLS) session with basic-ftp. */
export async function connectFtp(config: ResolvedConfig, secure: boolean): Promise<RemoteFiles> {
  const client = new Client(int(config, 'timeout_seconds') * 1000)
  try {
    await client.access({
      host: str(config, 'host'),
      port: int(config, 'port') || 21,
      user: str(config, 'username'),
      password: config.password === undefined ? undefined : str(config, 'password'),
      secure,
      secureOptions: secure ? { rejectUnauthorized: !bool(config, 'allow_self_signed') } : undefined,
    })
  } catch (error) {
    client.close()
    throw error
  }
  return {
    get alive() {
      return !client.closed
    },
    async put(path, body) {
      await client.uploadFrom(Readable.from([body]), path)
    },
    async get(path) {
      const sink = new PassThrough()
      const chunks: Buffer[] = []
      sink.on('data', (chunk: Buffer) => chunks.push(chunk))
      try {
        await client.downloadTo(sink, path)
      } catch (error) {
        if (isMissing(error)) return null
        throw error
      }
      return Buffer.concat(chunks)
    },
    async list(path) {
      const entries = await client.list(path)
      return entries.map((e) => ({ name: e.name, size: e.size, isDirectory: e.type === FileType.Directory }))
    },
    async delete(path) {
      try {
        await client.remove(path)
        return true
      } catch (error) {
        if (isMissing(error)) return false
        throw error
      }
    },
    async mkdir(path) {
      // ensureDir walks into the folder; go back so later relative paths mean the same.
      await client.ensureDir(path)
      await client.cd('/')
    },
    async ping() {
      await client.send('NOOP')
    },
    async close() {
      client.close()
    },
  }
}
