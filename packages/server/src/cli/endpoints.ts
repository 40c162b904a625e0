import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import type { RunReport } from './deploy.ts'
import { clip, drainingText, table } from './print.ts'

export const ENDPOINTS_HELP = `edgeforge endpoints — list, stop, start and remove endpoints

Usage:
  edgeforge endpoints ls [--json]      every endpoint with its route, status and running version
  edgeforge endpoints stop <name>      take it out of service; requests in flight finish first
  edgeforge endpoints start <name>     serve its compiled version again (deploy compiles new code)
  edgeforge endpoints rm <name>        delete it, with its versions and its log

Options:
  --json           print the server's answer as JSON
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
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token)
  if (sub === 'stop' || sub === 'start' || sub === 'rm') {
    return changeEndpoint(client, sub, positionals[1], flags.json !== undefined)
  }
  if (sub !== 'ls' && sub !== 'list')
    throw new UsageError(`unknown subcommand "endpoints ${sub}"; try ls, stop, start or rm`)
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
    e.last_error ? clip(e.last_error, 60) : '',
  ])
  console.log(table(['NAME', 'METHOD', 'PATH', 'DOMAIN', 'STATUS', 'VERSION', 'LAST ERROR'], rows))
  return 0
}

async function changeEndpoint(
  client: ControlClient,
  action: 'stop' | 'start' | 'rm',
  name: string | undefined,
  json: boolean,
): Promise<number> {
  if (!name)
    throw new UsageError(`endpoints ${action} needs an endpoint name: edgeforge endpoints ${action} hello`)
  const found = await client.endpointNamed(name)
  if (!found) throw new UsageError(`no endpoint named "${name}"; "edgeforge endpoints ls" lists them`)
  if (action === 'rm') {
    await client.call('DELETE', `/api/endpoints/${found.id}`)
    console.log(json ? JSON.stringify({ removed: name }) : `removed ${name}`)
    return 0
  }
  const report = (await client.call<RunReport>('POST', `/api/endpoints/${found.id}/${action}`)).data
  if (json) console.log(JSON.stringify(report, null, 2))
  else if (action === 'stop') console.log(`stopped ${name}${drainingText(report.draining)}`)
  else console.log(`started ${name} v${report.running_version}`)
  return 0
}
