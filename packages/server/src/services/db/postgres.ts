import pg from 'pg'
import { toPositional } from '../../store/postgres.ts'
import { ACTOR_FIELDS, int, isSocketError, type ServiceKind, str } from '../kind.ts'
import { sqlOperations } from './params.ts'

interface PgConnection {
  client: pg.Client
  alive: boolean
}

/** SQLSTATE classes that mean the server is going away or refused the session, not the statement. */
const FATAL_SQLSTATE = /^(08|57P0|53300)/

/** `postgres`: one `pg.Client` per pooled connection; `?` placeholders are rewritten to `$n`. */
export const postgresKind: ServiceKind<PgConnection> = {
  type: 'postgres',
  family: 'database',
  defaultPoolSize: 10,
  fields: [
    { name: 'host', type: 'string', required: true, help: 'Server host name or address' },
    { name: 'port', type: 'integer', default: 5432, min: 1, max: 65535, help: 'Server port' },
    { name: 'database', type: 'string', required: true, help: 'Database name' },
    { name: 'username', type: 'string', default: 'postgres', help: 'User to log in as' },
    { name: 'password', type: 'string', secret: true, help: 'Password (write-only)' },
    {
      name: 'ssl_mode',
      type: 'string',
      default: 'disable',
      choices: ['disable', 'require', 'verify-full'],
      help: 'disable: plain TCP; require: TLS without checking the certificate; verify-full: TLS with a checked certificate',
    },
    { name: 'connect_timeout_ms', type: 'integer', default: 5000, min: 1, help: 'Time to connect' },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    const ssl = str(config, 'ssl_mode')
    return {
      async connect() {
        const client = new pg.Client({
          host: str(config, 'host'),
          port: int(config, 'port'),
          database: str(config, 'database'),
          user: str(config, 'username'),
          password: config.password === undefined ? undefined : str(config, 'password'),
          ssl: ssl === 'disable' ? false : { rejectUnauthorized: ssl === 'verify-full' },
          connectionTimeoutMillis: int(config, 'connect_timeout_ms'),
        })
        const connection = { client, alive: true }
        // A dropped connection emits 'error' on the client; without a listener it would crash the process.
        client.on('error', () => {
          connection.alive = false
        })
        client.on('end', () => {
          connection.alive = false
        })
        try {
          await client.connect()
        } catch (error) {
          await client.end().catch(() => {})
          throw error
        }
        return connection
      },
      async close(connection) {
        connection.alive = false
        await connection.client.end()
      },
      isConnectionError: isPgConnectionError,
      isAlive: (connection) => connection.alive,
    }
  },
  operations: sqlOperations<PgConnection>({
    async query({ client }, sql, params) {
      const result = await client.query(placeholders(sql), params)
      return result.rows
    },
    async execute({ client }, sql, params) {
      const result = await client.query(placeholders(sql), params)
      return { rowsAffected: result.rowCount ?? 0, insertId: null }
    },
  }),
  async ping({ client }) {
    await client.query('SELECT 1')
  },
  transactions: {
    async begin({ client }) {
      await client.query('BEGIN')
    },
    async commit({ client }) {
      await client.query('COMMIT')
    },
    async rollback({ client }) {
      await client.query('ROLLBACK')
    },
  },
}

/** SQL texts already rewritten: handlers send the same few statements over and over. */
const rewritten = new Map<string, string>()
const REWRITTEN_MAX = 1000

/** `$1` style is used as written; `?` style is rewritten (quoted strings are left alone), once per text. */
function placeholders(sql: string): string {
  const known = rewritten.get(sql)
  if (known !== undefined) return known
  const out = /\$\d/.test(sql) ? sql : toPositional(sql)
  // A bounded cache: past its size it starts over rather than grow with every distinct text.
  if (rewritten.size >= REWRITTEN_MAX) rewritten.clear()
  rewritten.set(sql, out)
  return out
}

function isPgConnectionError(error: unknown): boolean {
  if (isSocketError(error)) return true
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && FATAL_SQLSTATE.test(code)) return true
  const message = error instanceof Error ? error.message : ''
  return /Connection terminated|Client has encountered a connection error|not queryable/.test(message)
}
