import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { redactLocation } from './observability/redact.ts'

/**
 * Every setting of edgeforge: its environment variable, CLI flag, default and help text. Nothing
 * else reads process.env; `edgeforge serve --help` prints this table.
 */
export interface Config {
  dataDir: string
  databaseUrl: string
  gatewayHost: string
  gatewayPort: number
  controlHost: string
  controlPort: number
  adminToken: string
  authCacheMs: number
  rateLimitPerMinute: number
  corsOrigins: string[]
  controlAllowedHosts: string[]
  requestTimeoutMs: number
  bodyLimitBytes: number
  drainTimeoutMs: number
  gatewayHeadersTimeoutMs: number
  gatewayRequestTimeoutMs: number
  gatewayThreads: number
  threadHeapMb: number
  threadStuckGraceMs: number
  threadStallMs: number
  quarantineAfter: number
  quarantineWindowMs: number
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  typeCheck: boolean
  npmCommand: string
  warmCompiler: boolean
  typeCheckMaxHeapMb: number
  typeCheckRecycleAfter: number
  endpointLogLines: number
  jobConcurrency: number
  jobLeaseMs: number
  jobHoldMs: number
  eventRetentionSeconds: number
  eventHeartbeatMs: number
  artifactMaxBytes: number
  artifactCounterFlushMs: number
  artifactSweepMs: number
  artifactS3Endpoint: string
  artifactS3Bucket: string
  artifactS3Region: string
  artifactS3AccessKey: string
  artifactS3SecretKey: string
  artifactS3Prefix: string
  jobThreads: number
  jobStallMs: number
  jobAbortGraceMs: number
}

type Kind = 'string' | 'integer' | 'boolean' | 'port' | 'list'

interface Setting {
  key: keyof Config
  env: string
  flag: string
  kind: Kind
  default: string
  help: string
  secret?: boolean
  choices?: readonly string[]
  min?: number
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'dataDir',
    env: 'EDGEFORGE_DATA_DIR',
    flag: 'data-dir',
    kind: 'string',
    default: './data',
    help: 'Directory for the SQLite database, compiled artifacts and the npm dependency cache',
  },
  {
    key: 'databaseUrl',
    env: 'EDGEFORGE_DATABASE_URL',
    flag: 'database-url',
    kind: 'string',
    default: '',
    help: 'postgres://… (or postgresql://…) to keep state in PostgreSQL instead of SQLite in the data dir; no other scheme is supported',
    secret: true,
  },
  {
    key: 'gatewayHost',
    env: 'EDGEFORGE_GATEWAY_HOST',
    flag: 'gateway-host',
    kind: 'string',
    default: '0.0.0.0',
    help: 'Address the public gateway listens on',
  },
  {
    key: 'gatewayPort',
    env: 'EDGEFORGE_GATEWAY_PORT',
    flag: 'gateway-port',
    kind: 'port',
    default: '9080',
    help: 'Port of the public gateway (0 picks a free port)',
  },
  {
    key: 'controlHost',
    env: 'EDGEFORGE_CONTROL_HOST',
    flag: 'control-host',
    kind: 'string',
    default: '127.0.0.1',
    help: 'Address of the control plane (management API); a non-loopback address requires EDGEFORGE_ADMIN_TOKEN',
  },
  {
    key: 'controlPort',
    env: 'EDGEFORGE_CONTROL_PORT',
    flag: 'control-port',
    kind: 'port',
    default: '9081',
    help: 'Port of the control plane (0 picks a free port)',
  },
  {
    key: 'adminToken',
    env: 'EDGEFORGE_ADMIN_TOKEN',
    flag: 'admin-token',
    kind: 'string',
    default: '',
    help: 'Token of the root client (scope *). When set, every control-plane call needs credentials; when empty, a loopback control plane is open. Set it in the environment: a --admin-token flag is readable by every local user (ps, /proc/<pid>/cmdline)',
    secret: true,
  },
  {
    key: 'authCacheMs',
    env: 'EDGEFORGE_AUTH_CACHE_MS',
    flag: 'auth-cache-ms',
    kind: 'integer',
    default: '2000',
    min: 0,
    help: 'How long a looked-up client is reused; a client disabled or reset by another process sharing the database stops working within this time',
  },
  {
    key: 'rateLimitPerMinute',
    env: 'EDGEFORGE_RATE_LIMIT_PER_MINUTE',
    flag: 'rate-limit-per-minute',
    kind: 'integer',
    default: '1200',
    min: 0,
    help: 'Control-plane requests per minute per client, in bursts up to the same number (429 beyond); the root client is never limited; 0 turns it off',
  },
  {
    key: 'corsOrigins',
    env: 'EDGEFORGE_CORS_ORIGINS',
    flag: 'cors-origins',
    kind: 'list',
    default: '',
    help: 'Comma-separated browser origins (https://admin.example.com) allowed to call the control plane cross-origin',
  },
  {
    key: 'controlAllowedHosts',
    env: 'EDGEFORGE_CONTROL_ALLOWED_HOSTS',
    flag: 'control-allowed-hosts',
    kind: 'list',
    default: '',
    help: 'Comma-separated host names the control plane answers without a token besides loopback ones (guards against DNS rebinding)',
  },
  {
    key: 'requestTimeoutMs',
    env: 'EDGEFORGE_REQUEST_TIMEOUT_MS',
    flag: 'request-timeout-ms',
    kind: 'integer',
    default: '30000',
    min: 1,
    help: 'Default per-request handler timeout; past it the client gets 504 and ctx.signal aborts',
  },
  {
    key: 'bodyLimitBytes',
    env: 'EDGEFORGE_BODY_LIMIT_BYTES',
    flag: 'body-limit-bytes',
    kind: 'integer',
    default: '1048576',
    min: 0,
    help: 'Default request body limit of a new endpoint (413 beyond it)',
  },
  {
    key: 'drainTimeoutMs',
    env: 'EDGEFORGE_DRAIN_TIMEOUT_MS',
    flag: 'drain-timeout-ms',
    kind: 'integer',
    default: '30000',
    min: 0,
    help: 'Default time an old handler version may finish in-flight requests after a swap or stop',
  },
  {
    key: 'gatewayHeadersTimeoutMs',
    env: 'EDGEFORGE_GATEWAY_HEADERS_TIMEOUT_MS',
    flag: 'gateway-headers-timeout-ms',
    kind: 'integer',
    default: '10000',
    min: 1,
    help: "Time a gateway client has to send a request's headers; past it the connection gets 408 and is closed",
  },
  {
    key: 'gatewayRequestTimeoutMs',
    env: 'EDGEFORGE_GATEWAY_REQUEST_TIMEOUT_MS',
    flag: 'gateway-request-timeout-ms',
    kind: 'integer',
    default: '60000',
    min: 1,
    help: 'Time a gateway client has to send a whole request, body included (handler time not counted); past it 408 and closed',
  },
  {
    key: 'gatewayThreads',
    env: 'EDGEFORGE_GATEWAY_THREADS',
    flag: 'gateway-threads',
    kind: 'integer',
    default: '0',
    min: 0,
    help: 'Handler threads serving the gateway, each accepting connections on its port (0: one per CPU core)',
  },
  {
    key: 'threadHeapMb',
    env: 'EDGEFORGE_THREAD_HEAP_MB',
    flag: 'thread-heap-mb',
    kind: 'integer',
    default: '512',
    min: 16,
    help: 'JavaScript heap limit of each handler thread in MB; a handler that exceeds it has its thread replaced (counts toward quarantine)',
  },
  {
    key: 'threadStuckGraceMs',
    env: 'EDGEFORGE_THREAD_STUCK_GRACE_MS',
    flag: 'thread-stuck-grace-ms',
    kind: 'integer',
    default: '500',
    min: 50,
    help: "How far past a request's timeout a handler may hold its thread before the thread is stopped and replaced",
  },
  {
    key: 'threadStallMs',
    env: 'EDGEFORGE_THREAD_STALL_MS',
    flag: 'thread-stall-ms',
    kind: 'integer',
    default: '30000',
    min: 100,
    help: "How long a handler thread's event loop may not turn at all (outside any request's timeout) before it is replaced",
  },
  {
    key: 'quarantineAfter',
    env: 'EDGEFORGE_QUARANTINE_AFTER',
    flag: 'quarantine-after',
    kind: 'integer',
    default: '3',
    min: 1,
    help: 'Thread stops (stuck or out of heap) an endpoint may cause within the quarantine window before it is quarantined (status error, 503)',
  },
  {
    key: 'quarantineWindowMs',
    env: 'EDGEFORGE_QUARANTINE_WINDOW_MS',
    flag: 'quarantine-window-ms',
    kind: 'integer',
    default: '600000',
    min: 1000,
    help: 'The sliding window EDGEFORGE_QUARANTINE_AFTER counts in',
  },
  {
    key: 'logLevel',
    env: 'EDGEFORGE_LOG_LEVEL',
    flag: 'log-level',
    kind: 'string',
    default: 'info',
    choices: ['debug', 'info', 'warn', 'error', 'silent'],
    help: 'Server log level (JSON lines on stdout)',
  },
  {
    key: 'typeCheck',
    env: 'EDGEFORGE_TYPE_CHECK',
    flag: 'type-check',
    kind: 'boolean',
    default: 'true',
    help: 'Type-check handlers against the SDK before bundling',
  },
  {
    key: 'warmCompiler',
    env: 'EDGEFORGE_WARM_COMPILER',
    flag: 'warm-compiler',
    kind: 'boolean',
    default: 'true',
    help: 'Start the type checker at boot so the first deploy is as fast as the rest',
  },
  {
    key: 'typeCheckMaxHeapMb',
    env: 'EDGEFORGE_TYPE_CHECK_MAX_HEAP_MB',
    flag: 'type-check-max-heap-mb',
    kind: 'integer',
    default: '256',
    min: 0,
    help: "Heap limit of the type checker's worker thread in MB (0: V8's default); one that runs out is replaced and the check retried once",
  },
  {
    key: 'typeCheckRecycleAfter',
    env: 'EDGEFORGE_TYPE_CHECK_RECYCLE_AFTER',
    flag: 'type-check-recycle-after',
    kind: 'integer',
    default: '200',
    min: 0,
    help: 'Compiles a type checker worker serves before a fresh one replaces it, which bounds its memory (0: never)',
  },
  {
    key: 'npmCommand',
    env: 'EDGEFORGE_NPM_COMMAND',
    flag: 'npm-command',
    kind: 'string',
    default: 'npm',
    help: 'npm executable used to install endpoint dependencies',
  },
  {
    key: 'endpointLogLines',
    env: 'EDGEFORGE_ENDPOINT_LOG_LINES',
    flag: 'endpoint-log-lines',
    kind: 'integer',
    default: '1000',
    min: 1,
    help: 'Lines kept per endpoint in its log ring buffer',
  },
  {
    key: 'jobConcurrency',
    env: 'EDGEFORGE_JOB_CONCURRENCY',
    flag: 'job-concurrency',
    kind: 'integer',
    default: '16',
    min: 0,
    help: 'Jobs this process runs at once (0 runs none: enqueue-only gateway)',
  },
  {
    key: 'jobLeaseMs',
    env: 'EDGEFORGE_JOB_LEASE_MS',
    flag: 'job-lease-ms',
    kind: 'integer',
    default: '30000',
    min: 1000,
    help: 'Lease of a claimed job; heartbeats renew it, an expired one is retried',
  },
  {
    key: 'jobHoldMs',
    env: 'EDGEFORGE_JOB_HOLD_MS',
    flag: 'job-hold-ms',
    kind: 'integer',
    default: '50',
    min: 0,
    help: 'PostgreSQL: how long a claim stays held (jobs that finish sooner are written once); 0 leases every claim at once',
  },
  {
    key: 'eventRetentionSeconds',
    env: 'EDGEFORGE_EVENT_RETENTION_SECONDS',
    flag: 'event-retention-seconds',
    kind: 'integer',
    default: '86400',
    min: 1,
    help: 'How long job and worker events are kept for streams to resume from; an older cursor is cursor_expired',
  },
  {
    key: 'eventHeartbeatMs',
    env: 'EDGEFORGE_EVENT_HEARTBEAT_MS',
    flag: 'event-heartbeat-ms',
    kind: 'integer',
    default: '5000',
    min: 50,
    help: 'How often an idle event stream sends a heartbeat carrying its current cursor',
  },
  {
    key: 'artifactMaxBytes',
    env: 'EDGEFORGE_ARTIFACT_MAX_BYTES',
    flag: 'artifact-max-bytes',
    kind: 'integer',
    default: String(5 * 1024 ** 3),
    min: 1,
    help: 'Largest job artifact accepted (bytes); a larger upload is a 413 and nothing is kept',
  },
  {
    key: 'artifactCounterFlushMs',
    env: 'EDGEFORGE_ARTIFACT_COUNTER_FLUSH_MS',
    flag: 'artifact-counter-flush-ms',
    kind: 'integer',
    default: '5000',
    min: 10,
    help: 'How often buffered artifact download counts are written to the store (a crash loses at most one interval)',
  },
  {
    key: 'artifactSweepMs',
    env: 'EDGEFORGE_ARTIFACT_SWEEP_MS',
    flag: 'artifact-sweep-ms',
    kind: 'integer',
    default: '60000',
    min: 10,
    help: 'How often the artifacts of removed jobs (retention, delete) are deleted with their bytes',
  },
  {
    key: 'artifactS3Bucket',
    env: 'EDGEFORGE_ARTIFACT_S3_BUCKET',
    flag: 'artifact-s3-bucket',
    kind: 'string',
    default: '',
    help: 'Store job artifacts in this S3 bucket; empty keeps them under <data dir>/artifacts',
  },
  {
    key: 'artifactS3Endpoint',
    env: 'EDGEFORGE_ARTIFACT_S3_ENDPOINT',
    flag: 'artifact-s3-endpoint',
    kind: 'string',
    default: '',
    help: 'http(s)://host:port of an S3-compatible server (MinIO, …); empty for AWS',
  },
  {
    key: 'artifactS3Region',
    env: 'EDGEFORGE_ARTIFACT_S3_REGION',
    flag: 'artifact-s3-region',
    kind: 'string',
    default: 'us-east-1',
    help: 'Region of the artifact bucket',
  },
  {
    key: 'artifactS3AccessKey',
    env: 'EDGEFORGE_ARTIFACT_S3_ACCESS_KEY',
    flag: 'artifact-s3-access-key',
    kind: 'string',
    default: '',
    help: 'Access key id for the artifact bucket',
  },
  {
    key: 'artifactS3SecretKey',
    env: 'EDGEFORGE_ARTIFACT_S3_SECRET_KEY',
    flag: 'artifact-s3-secret-key',
    kind: 'string',
    default: '',
    secret: true,
    help: 'Secret access key for the artifact bucket',
  },
  {
    key: 'artifactS3Prefix',
    env: 'EDGEFORGE_ARTIFACT_S3_PREFIX',
    flag: 'artifact-s3-prefix',
    kind: 'string',
    default: 'artifacts/',
    help: 'Key prefix of artifact blobs inside the bucket',
  },
  {
    key: 'jobThreads',
    env: 'EDGEFORGE_JOB_THREADS',
    flag: 'job-threads',
    kind: 'integer',
    default: '2',
    min: 1,
    help: "Worker threads in-process job handlers run in (apart from the gateway's handler threads); EDGEFORGE_THREAD_HEAP_MB is each one's heap limit",
  },
  {
    key: 'jobStallMs',
    env: 'EDGEFORGE_JOB_STALL_MS',
    flag: 'job-stall-ms',
    kind: 'integer',
    default: '10000',
    min: 100,
    help: "How long a job thread's event loop may not turn (a job handler computing or spinning without an await) before the thread is stopped and its job's attempt fails job_handler_stuck",
  },
  {
    key: 'jobAbortGraceMs',
    env: 'EDGEFORGE_JOB_ABORT_GRACE_MS',
    flag: 'job-abort-grace-ms',
    kind: 'integer',
    default: '10000',
    min: 0,
    help: 'How long a job may go on after its ctx.signal was aborted (cancel, lease lost) before its thread is stopped; at shutdown at most 1 s',
  },
]

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

function parseValue(setting: Setting, raw: string, source: string): string | number | boolean | string[] {
  const where = `${source} (${setting.env} / --${setting.flag})`
  switch (setting.kind) {
    case 'boolean': {
      const value = raw.toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(value)) return true
      if (['0', 'false', 'no', 'off'].includes(value)) return false
      throw new ConfigError(`${where}: expected true or false, got "${raw}"`)
    }
    case 'integer':
    case 'port': {
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${where}: expected a whole number, got "${raw}"`)
      const value = Number(raw)
      if (setting.kind === 'port' && value > 65535)
        throw new ConfigError(`${where}: a port is 0–65535, got ${value}`)
      if (setting.min !== undefined && value < setting.min)
        throw new ConfigError(`${where}: must be at least ${setting.min}, got ${value}`)
      return value
    }
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    default:
      if (setting.choices && !setting.choices.includes(raw))
        throw new ConfigError(`${where}: expected one of ${setting.choices.join(', ')}, got "${raw}"`)
      return raw
  }
}

/**
 * Builds the configuration: defaults, then environment variables, then flags (`--gateway-port 0`
 * or `--gateway-port=0`). Unknown flags and bad values throw a ConfigError saying what to fix.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  flags: Record<string, string> = {},
): Config {
  const values: Record<string, unknown> = {}
  for (const setting of SETTINGS) {
    let value = parseValue(setting, setting.default, 'default')
    const fromEnv = env[setting.env]
    if (fromEnv !== undefined && fromEnv !== '') value = parseValue(setting, fromEnv, 'environment')
    if (flags[setting.flag] !== undefined) value = parseValue(setting, flags[setting.flag], 'flag')
    values[setting.key] = value
  }
  for (const flag of Object.keys(flags)) {
    if (!SETTINGS.some((setting) => setting.flag === flag)) throw new ConfigError(`unknown option --${flag}`)
  }
  const config = values as unknown as Config
  if (config.gatewayThreads === 0) config.gatewayThreads = availableParallelism()
  config.dataDir = resolve(config.dataDir)
  checkDatabaseUrl(config.databaseUrl)
  if (config.gatewayHeadersTimeoutMs > config.gatewayRequestTimeoutMs) {
    throw new ConfigError(
      `EDGEFORGE_GATEWAY_HEADERS_TIMEOUT_MS (${config.gatewayHeadersTimeoutMs}) must not exceed EDGEFORGE_GATEWAY_REQUEST_TIMEOUT_MS (${config.gatewayRequestTimeoutMs}): the headers are part of the request`,
    )
  }
  if (!isLoopback(config.controlHost) && !config.adminToken) {
    throw new ConfigError(
      `refusing to expose the control plane on ${config.controlHost} without a token: set EDGEFORGE_ADMIN_TOKEN (or --admin-token), or bind it to 127.0.0.1`,
    )
  }
  const badOrigin = config.corsOrigins.find((origin) => !/^https?:\/\/[^/\s?#]+$/.test(origin))
  if (badOrigin !== undefined)
    throw new ConfigError(
      `EDGEFORGE_CORS_ORIGINS / --cors-origins: "${badOrigin}" is not an origin such as https://admin.example.com (scheme, host and port only)`,
    )
  return config
}

/** The schemes `EDGEFORGE_DATABASE_URL` may use; anything else would silently mean SQLite. */
export const DATABASE_URL_SCHEMES = ['postgres:', 'postgresql:'] as const

const SUPPORTED_STORES =
  'supported: postgres://user@host:5432/db or postgresql://… for PostgreSQL, or leave it empty for SQLite in the data dir'

/** Refuses a database URL edgeforge cannot use, naming what it can; the password is never echoed. */
export function checkDatabaseUrl(databaseUrl: string): void {
  if (databaseUrl === '') return
  const where = 'EDGEFORGE_DATABASE_URL / --database-url'
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch {
    throw new ConfigError(`${where} is not a URL; ${SUPPORTED_STORES}`)
  }
  if (!(DATABASE_URL_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new ConfigError(
      `${where} uses the scheme ${url.protocol.slice(0, 40)}//, which edgeforge does not support; ${SUPPORTED_STORES}`,
    )
  }
  // `postgres:///db?host=/run/postgresql` (a Unix socket) is fine; `postgres:/db` names no server.
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError(
      `${where} names no host (${redactLocation(databaseUrl)}): write postgres://<host>/<db>, or ?host=<socket dir>`,
    )
  }
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1'
  return false
}

/** The settings as a help table, secrets' values never shown. */
export function settingsHelp(): string {
  const lines = SETTINGS.map((setting) => {
    const def = setting.default === '' ? '(none)' : setting.default
    return `  --${setting.flag.padEnd(20)} ${setting.env.padEnd(30)} default ${def}\n      ${setting.help}`
  })
  return lines.join('\n')
}

/** The configuration with secrets masked, for logs and the health of operators' eyes. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config }
  for (const setting of SETTINGS) {
    if (setting.secret && out[setting.key])
      out[setting.key] = setting.key === 'databaseUrl' ? redactLocation(String(out[setting.key])) : '***'
  }
  return out
}

/** What the CLI's client commands need: where the control plane is, and its token. */
export interface ClientSettings {
  url: string
  /** Empty unless the CLI calls as a client (then `token` is that client's access token). */
  clientId: string
  token: string
}

/** Where the client commands look for the control plane: the serve defaults' address. */
export const DEFAULT_CLIENT_URL = 'http://127.0.0.1:9081'

export const CLIENT_SETTINGS_HELP = `  --url <url>      EDGEFORGE_URL          control plane to talk to (default ${DEFAULT_CLIENT_URL})
  --token <token>  EDGEFORGE_ADMIN_TOKEN  bearer token, when the server has one
  --client-id <id> EDGEFORGE_CLIENT_ID    call as this client, with EDGEFORGE_ACCESS_TOKEN as its token`

export function loadClientSettings(
  env: Record<string, string | undefined> = process.env,
  flags: Record<string, string> = {},
): ClientSettings {
  return {
    url: flags.url ?? env.EDGEFORGE_URL ?? DEFAULT_CLIENT_URL,
    clientId: flags['client-id'] ?? env.EDGEFORGE_CLIENT_ID ?? '',
    // A client's token when a client id is given, else the admin token (what the CLI always read).
    token:
      flags.token ??
      ((flags['client-id'] ?? env.EDGEFORGE_CLIENT_ID)
        ? env.EDGEFORGE_ACCESS_TOKEN
        : (env.EDGEFORGE_ACCESS_TOKEN ?? env.EDGEFORGE_ADMIN_TOKEN)) ??
      '',
  }
}
