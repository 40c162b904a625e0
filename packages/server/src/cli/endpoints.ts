import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { envFlags, parseArgs, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import type { RunReport } from './deploy.ts'
import { clip, drainingText, table } from './print.ts'

export const ENDPOINTS_HELP = `edgeforge endpoints — list, stop, start and remove endpoints

Usage:
  edgeforge endpoints ls [--json]      every endpoint with its route, status and running version
  edgeforge endpoints stop <name>      take it out of service; requests in flight finish first
  edgeforge endpoints start <name>     serve its compiled version again (deploy compiles new code)
  edgeforge endpoints rm <name>        delete it, with its versions and its log
  edgeforge endpoints update <name> [--env NAME=value]… [--env NAME]… [--unset-env NAME]…
                                       change its environment variables and secrets (ctx.env);
                                       a running endpoint swaps them in at once (with drain).
                                       --env NAME takes the value from this shell's environment

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
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  if (sub === 'stop' || sub === 'start' || sub === 'rm') {
    return changeEndpoint(client, sub, positionals[1], flags.json !== undefined)
  }
  if (sub === 'update') return updateEndpoint(client, positionals[1], argv, flags.json !== undefined)
  if (sub !== 'ls' && sub !== 'list')
    throw new UsageError(`unknown subcommand "endpoints ${sub}"; try ls, stop, start, rm or update`)
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

/** `endpoints update`: the environment changes, then a running endpoint starts again to swap them in. */
async function updateEndpoint(
  client: ControlClient,
  name: string | undefined,
  argv: string[],
  json: boolean,
): Promise<number> {
  if (!name)
    throw new UsageError(
      'endpoints update needs an endpoint name: edgeforge endpoints update hello --env KEY=value',
    )
  const env = envFlags(argv, process.env)
  if (Object.keys(env).length === 0)
    throw new UsageError(
      'endpoints update changes the environment: give --env NAME=value, --env NAME or --unset-env NAME',
    )
  const found = await client.endpointNamed(name)
  if (!found) throw new UsageError(`no endpoint named "${name}"; "edgeforge endpoints ls" lists them`)
  const updated = (
    await client.call<EndpointRow & { id: string; env_set: string[] }>('PUT', `/api/endpoints/${found.id}`, {
      env,
    })
  ).data
  // The environment is part of a running instance: a start swaps in one made with the new values.
  const report =
    updated.status === 'running'
      ? (await client.call<RunReport>('POST', `/api/endpoints/${found.id}/start`)).data
      : undefined
  if (json) {
    console.log(JSON.stringify({ endpoint: updated, report }, null, 2))
    return 0
  }
  const names = updated.env_set.length ? updated.env_set.join(', ') : 'none'
  const effect = report
    ? `swapped in v${report.running_version}${drainingText(report.draining)}`
    : 'takes effect when it is next started or deployed'
  console.log(`updated ${name}: env ${names}; ${effect}`)
  return 0
}
