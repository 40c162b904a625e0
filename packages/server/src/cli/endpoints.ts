import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import { table } from './print.ts'

export const ENDPOINTS_HELP = `edgeforge endpoints — list endpoints

Usage: edgeforge endpoints ls [--json]

Options:
  --json           print the endpoints as JSON
${CLIENT_SETTINGS_HELP}`

interface EndpointRow {
  name: string
  kind: string
  method: string | null
  full_path: string | null
  domain: string
  queue: string | null
  status: string
  running_version: number | null
  last_error: string | null
}

export async function endpointsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const sub = positionals[0] ?? 'ls'
  if (sub !== 'ls' && sub !== 'list')
    throw new UsageError(`unknown subcommand "endpoints ${sub}"; try "endpoints ls"`)
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token)
  const endpoints = await client.all<EndpointRow>('/api/endpoints')
  if (flags.json) {
    console.log(JSON.stringify(endpoints, null, 2))
    return 0
  }
  if (endpoints.length === 0) {
    console.log('no endpoints yet: edgeforge deploy hello.ts --path /hello --method GET')
    return 0
  }
  const rows = endpoints.map((e) => [
    e.name,
    e.kind === 'job' ? 'JOB' : (e.method ?? ''),
    e.kind === 'job' ? `queue:${e.queue}` : (e.full_path ?? ''),
    e.domain,
    e.status,
    e.running_version === null ? '-' : `v${e.running_version}`,
    e.last_error ? e.last_error.split('\n')[0].slice(0, 60) : '',
  ])
  console.log(table(['NAME', 'METHOD', 'PATH', 'DOMAIN', 'STATUS', 'VERSION', 'LAST ERROR'], rows))
  return 0
}
