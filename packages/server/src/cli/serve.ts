import { ConfigError, loadConfig, settingsHelp } from '../config.ts'
import { startServer } from '../main.ts'
import { parseArgs } from './args.ts'
import { missingServeFlags } from './node-flags.ts'

export const SERVE_HELP = `edgeforge serve — start the gateway (public traffic) and the control plane (management API)

Usage: edgeforge serve [options]

Every option can also be set with its environment variable; a flag wins over the variable.

${settingsHelp()}`

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
  const server = await startServer(config)
  // The URL is one to try from this machine; say too when the gateway answers on every interface.
  const everywhere = config.gatewayHost === '0.0.0.0' || config.gatewayHost === '::'
  const gateway = everywhere ? `${server.gatewayUrl} (all interfaces)` : server.gatewayUrl
  console.error(
    `edgeforge ${server.version}: gateway on ${gateway}, control plane on ${server.controlUrl}, state in ${server.storeLocation}`,
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
