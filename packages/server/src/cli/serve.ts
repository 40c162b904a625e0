import { ConfigError, DEFAULT_CLIENT_URL, loadConfig, settingsHelp } from '../config.ts'
import { startServer } from '../main.ts'
import { redactLocation } from '../observability/redact.ts'
import { StoreOpenError, StoreUnavailableError } from '../store/index.ts'
import { parseArgs } from './args.ts'
import { missingServeFlags } from './node-flags.ts'

export const SERVE_HELP = `edgeforge serve — start the gateway (public traffic) and the control plane (management API)

Usage: edgeforge serve [options]

Every option can also be set with its environment variable; a flag wins over the variable.

${settingsHelp()}

The other commands (deploy, endpoints, logs) look for the control plane at ${DEFAULT_CLIENT_URL}.
With another --control-port or --control-host, tell them where it is in the terminal you run them
from, e.g. export EDGEFORGE_URL=http://127.0.0.1:8081 (or pass --url to each command).`

export async function serveCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv.filter((a) => a !== 'serve'))
  if (positionals.length > 0) {
    console.error(`edgeforge serve: unexpected argument "${positionals[0]}"`)
    return 2
  }
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env, flags)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`edgeforge serve: ${error.message}`)
      return 2
    }
    throw error
  }
  if (flags['admin-token'] !== undefined)
    console.error(
      'edgeforge serve: --admin-token is visible to every user of this machine (ps, /proc/<pid>/cmdline); set EDGEFORGE_ADMIN_TOKEN in the environment instead',
    )
  let server: Awaited<ReturnType<typeof startServer>>
  try {
    server = await startServer(config)
  } catch (error) {
    // A store that cannot be opened is the operator's to fix: say what, without a stack.
    if (error instanceof StoreOpenError) {
      console.error(`edgeforge serve: cannot start: ${error.message}`)
      return 1
    }
    if (error instanceof StoreUnavailableError) {
      const where = config.databaseUrl ? redactLocation(config.databaseUrl) : config.dataDir
      console.error(`edgeforge serve: cannot start: ${where}: ${error.reason}`)
      return 1
    }
    throw error
  }
  // The URL is one to try from this machine; say too when the gateway answers on every interface.
  const everywhere = config.gatewayHost === '0.0.0.0' || config.gatewayHost === '::'
  const gateway = everywhere ? `${server.gatewayUrl} (all interfaces)` : server.gatewayUrl
  console.error(
    `edgeforge ${server.version}: gateway on ${gateway}, control plane on ${server.controlUrl}, state in ${server.storeLocation}`,
  )
  if (server.controlUrl !== DEFAULT_CLIENT_URL)
    console.error(
      `edgeforge: the CLI looks for the control plane at ${DEFAULT_CLIENT_URL}; for this server, set EDGEFORGE_URL=${server.controlUrl} (or pass --url)`,
    )
  const missing = missingServeFlags()
  if (missing.length > 0)
    console.error(
      `edgeforge: node was started without ${missing.join(' ')}; the gateway may serve slower after idle spells (use "npm start" or the edgeforge command, or see docs/operations.md)`,
    )
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    console.error(`edgeforge: ${signal} received, draining in-flight requests`)
    await server.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  return new Promise<number>(() => {})
}
