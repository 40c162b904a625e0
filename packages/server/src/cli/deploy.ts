import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { envFlags, parseArgs, repeatedFlag, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import { drainingText } from './print.ts'

export const DEPLOY_HELP = `edgeforge deploy — create or update an endpoint from a TypeScript file, then compile and start it

Usage:
  edgeforge deploy <file.ts> --path <path> --method <method> [options]   an HTTP endpoint
  edgeforge deploy <file.ts> --queue <queue> [options]                    a job handler

Options:
  --path <path>          URL path template, e.g. /users/{id} (HTTP endpoints)
  --method <method>      GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (HTTP endpoints)
  --queue <name>         the queue whose jobs this handler runs (job handlers)
  --name <name>          endpoint name (default: the file name without .ts)
  --domain <host>        host the endpoint answers on (default *: any host)
  --collection <id>      collection id the endpoint belongs to
  --dependencies <json>  npm dependencies, e.g. '{"nanoid":"^5"}'
  --service <name=svc>   bind the name the handler uses to a service, e.g. --service db=main-db
                         (repeatable; adds or replaces those bindings, others stay)
  --env <NAME=value>     set an environment variable or secret the handler reads as ctx.env.NAME
                         (repeatable; --env NAME takes the value of NAME from this shell, so a
                         secret stays off the command line). Write-only: the API shows names only
  --unset-env <NAME>     remove one (repeatable); variables not named stay as they are
  --json                 print the server's answer as JSON
${CLIENT_SETTINGS_HELP}

A second deploy of the same name replaces the code; requests in flight finish on the old version.`

interface EndpointDto {
  id: string
  name: string
  kind: string
  method: string | null
  full_path: string | null
  domain: string
  queue: string | null
}

/** What start, stop and deploy answer. */
export interface RunReport {
  status: string
  running_version: number | null
  swapped: boolean
  draining: Array<{ version: number; in_flight: number }>
  compile?: {
    compiled_version: number
    reused: boolean
    timings_ms?: { install: number; type_check: number; bundle: number }
  }
}

export async function deployCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const file = positionals[0]
  if (!file)
    throw new UsageError('deploy needs a file: edgeforge deploy <file.ts> --path /hello --method GET')
  const isJob = flags.queue !== undefined
  const code = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
  })
  const name = flags.name ?? basename(file).replace(/\.(ts|mts|js)$/, '')
  let dependencies: Record<string, string> | undefined
  if (flags.dependencies) {
    try {
      dependencies = JSON.parse(flags.dependencies)
    } catch {
      throw new UsageError(`--dependencies must be a JSON object, e.g. '{"nanoid":"^5"}'`)
    }
  }
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)

  const body: Record<string, unknown> = { code }
  if (flags.path) body.path = flags.path
  if (flags.method) body.method = flags.method
  if (flags.domain) body.domain = flags.domain
  if (flags.collection) body.collection_id = flags.collection
  if (flags.queue) body.queue = flags.queue
  if (dependencies) body.dependencies = dependencies
  const env = envFlags(argv, process.env)
  if (Object.keys(env).length) body.env = env

  const existing = await client.endpointNamed<EndpointDto>(name)
  let endpoint: EndpointDto
  if (existing) {
    endpoint = (await client.call<EndpointDto>('PUT', `/api/endpoints/${existing.id}`, body)).data
  } else {
    if (!isJob && (!flags.path || !flags.method)) {
      throw new UsageError(
        `endpoint "${name}" does not exist yet: give --path and --method (or --queue for a job handler)`,
      )
    }
    endpoint = (
      await client.call<EndpointDto>('POST', '/api/endpoints', {
        name,
        kind: isJob ? 'job' : 'http',
        ...body,
        // A new endpoint has nothing to remove.
        ...(body.env ? { env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== null)) } : {}),
      })
    ).data
  }
  for (const pair of repeatedFlag(argv, 'service')) {
    const eq = pair.indexOf('=')
    if (eq <= 0)
      throw new UsageError(`--service takes name=service, e.g. --service db=main-db; got "${pair}"`)
    await client.call('POST', `/api/endpoints/${endpoint.id}/services`, {
      binding: pair.slice(0, eq),
      service: pair.slice(eq + 1),
    })
  }
  const report = (await client.call<RunReport>('POST', `/api/endpoints/${endpoint.id}/deploy`)).data
  // The record as the deploy left it (status, running_version, last_error), not as the PUT did.
  endpoint = (await client.call<EndpointDto>('GET', `/api/endpoints/${endpoint.id}`)).data
  if (flags.json) {
    console.log(JSON.stringify({ endpoint, report }, null, 2))
    return 0
  }
  const target = targetOf(endpoint)
  const before = existing && targetOf(existing)
  const moved = before && before !== target ? `moved from ${before}` : ''
  const compiled = report.compile?.reused
    ? moved
      ? `code unchanged, ${moved}`
      : 'unchanged'
    : `compiled in ${sumTimings(report.compile?.timings_ms)} ms${moved ? `, ${moved}` : ''}`
  const swap = report.swapped ? ', swapped' : ''
  console.log(
    `deployed ${endpoint.name} v${report.running_version} → ${target}: ${compiled}${swap}${drainingText(report.draining)}`,
  )
  return 0
}

/** Where an endpoint is served: its method, path and host, or its queue. */
function targetOf(endpoint: EndpointDto): string {
  return endpoint.kind === 'job'
    ? `queue ${endpoint.queue}`
    : `${endpoint.method} ${endpoint.full_path} (host ${endpoint.domain})`
}

function sumTimings(timings: { install: number; type_check: number; bundle: number } | undefined): number {
  return timings ? timings.install + timings.type_check + timings.bundle : 0
}
