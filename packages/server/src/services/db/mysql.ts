import mysql from 'mysql2/promise'
import { ACTOR_FIELDS, bool, int, isSocketError, type ServiceKind, str } from '../kind.ts'
import { sqlOperations } from './params.ts'

interface MysqlConnection {
  connection: mysql.Connection
  alive: boolean
}

/** `mysql` (MySQL and MariaDB): one mysql2 connection per pooled connection, `?` placeholders. */
export const mysqlKind: ServiceKind<MysqlConnection> = {
  type: 'mysql',
  family: 'database',
  defaultPoolSize: 10,
  fields: [
    { name: 'host', type: 'string', required: true, help: 'Server host name or address' },
    { name: 'port', type: 'integer', default: 3306, min: 1, max: 65535, help: 'Server port' },
    { name: 'database', type: 'string', required: true, help: 'Database (schema) name' },
    { name: 'username', type: 'string', default: 'root', help: 'User to log in as' },
    { name: 'password', type: 'string', secret: true, help: 'Password (write-only)' },
    { name: 'use_ssl', type: 'boolean', default: false, help: 'Connect over TLS (certificate checked)' },
    { name: 'connect_timeout_ms', type: 'integer', default: 5000, min: 1, help: 'Time to connect' },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    return {
      async connect() {
        const connection = await mysql.createConnection({
          host: str(config, 'host'),
          port: int(config, 'port'),
          database: str(config, 'database'),
          user: str(config, 'username'),
          password: config.password === undefined ? undefined : str(config, 'password'),
          ssl: bool(config, 'use_ssl') ? {} : undefined,
          connectTimeout: int(config, 'connect_timeout_ms'),
          dateStrings: false,
        })
        const held = { connection, alive: true }
        connection.on('error', () => {
          held.alive = false
        })
        return held
      },
      async close(held) {
        held.alive = false
        await held.connection.end().catch(() => held.connection.destroy())
      },
      isConnectionError: (error) => isSocketError(error) || (error as { fatal?: unknown }).fatal === true,
      isAlive: (held) => held.alive,
    }
  },
  operations: sqlOperations<MysqlConnection>({
    // With parameters, `execute` prepares the statement on the server and binds them there;
    // mysql2's `query` would escape them into the text on the client.
    async query({ connection }, sql, params) {
      const rows = await run(connection, sql, params)
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
    },
    async execute({ connection }, sql, params) {
      const header = (await run(connection, sql, params)) as mysql.ResultSetHeader
      return { rowsAffected: header.affectedRows ?? 0, insertId: header.insertId || null }
    },
  }),
  async ping({ connection }) {
    await connection.query('SELECT 1')
  },
  transactions: {
    async begin({ connection }) {
      await connection.query('START TRANSACTION')
    },
    async commit({ connection }) {
      await connection.query('COMMIT')
    },
    async rollback({ connection }) {
      await connection.query('ROLLBACK')
    },
  },
}

/** A prepared statement when there are parameters to bind; a plain query when there are none. */
async function run(connection: mysql.Connection, sql: string, params: readonly unknown[]): Promise<unknown> {
  const [result] =
    params.length > 0 ? await connection.execute(sql, params as never) : await connection.query(sql)
  return result
}
