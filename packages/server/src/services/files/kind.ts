import { ServiceError } from '@edgeforge/sdk'
import { ACTOR_FIELDS, isSocketError, type ServiceKind, str } from '../kind.ts'
import { connectFtp } from './ftp.ts'
import { fileBody, type RemoteFiles, remotePath } from './remote.ts'
import { connectSftp } from './sftp.ts'

/** A logged-in session and the folder its paths are under. */
interface Session {
  remote: RemoteFiles
  basePath: string
}

/**
 * `ftp`: a file server over FTP, explicit FTPS (AUTH TLS) or SFTP, chosen by `protocol`, as in
 * the reference. A pooled connection is one logged-in session; paths are under `base_path`.
 */
export const ftpKind: ServiceKind<Session> = {
  type: 'ftp',
  family: 'files',
  defaultPoolSize: 4,
  fields: [
    {
      name: 'protocol',
      type: 'string',
      default: 'sftp',
      choices: ['ftp', 'ftps', 'sftp'],
      help: 'ftp (plain), ftps (FTP with AUTH TLS) or sftp (SSH)',
    },
    { name: 'host', type: 'string', required: true, help: 'Server host name or address' },
    {
      name: 'port',
      type: 'integer',
      min: 1,
      max: 65535,
      help: 'Server port (21 for ftp/ftps, 22 for sftp by default)',
    },
    { name: 'username', type: 'string', required: true, help: 'Login name' },
    { name: 'password', type: 'string', secret: true, help: 'Password (write-only)' },
    {
      name: 'private_key',
      type: 'string',
      secret: true,
      help: 'SFTP: a PEM/OpenSSH private key (write-only), instead of a password',
    },
    {
      name: 'base_path',
      type: 'string',
      default: '',
      help: 'Folder every path is under (the login folder by default)',
    },
    {
      name: 'allow_self_signed',
      type: 'boolean',
      default: false,
      help: 'FTPS: accept a certificate no authority signed',
    },
    { name: 'timeout_seconds', type: 'integer', default: 30, min: 1, max: 600, help: 'Time to connect' },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    const protocol = str(config, 'protocol')
    const basePath = str(config, 'base_path')
    return {
      connect: async () => ({
        remote:
          protocol === 'sftp' ? await connectSftp(config) : await connectFtp(config, protocol === 'ftps'),
        basePath,
      }),
      close: ({ remote }) => remote.close(),
      isConnectionError: (error) =>
        isSocketError(error) ||
        /closed|ended|Not connected|timeout|No SFTP connection/i.test((error as Error)?.message ?? ''),
      isAlive: ({ remote }) => remote.alive,
    }
  },
  operations: {
    async put({ remote, basePath }, [path, body]) {
      await remote.put(remotePath(basePath, path), fileBody(body))
    },
    async get({ remote, basePath }, [path]) {
      const body = await remote.get(remotePath(basePath, path))
      if (body === null) throw new ServiceError('files', 'not_found', `no file "${String(path)}"`)
      return new Uint8Array(body)
    },
    list: ({ remote, basePath }, [path]) => remote.list(remotePath(basePath, path)),
    delete: ({ remote, basePath }, [path]) => remote.delete(remotePath(basePath, path)),
    async mkdir({ remote, basePath }, [path]) {
      await remote.mkdir(remotePath(basePath, path))
    },
  },
  ping: ({ remote }) => remote.ping(),
}
