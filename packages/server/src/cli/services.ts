import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { keyValues, parseArgs, repeatedFlag, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import { table } from './print.ts'

export const SERVICES_HELP = `edgeforge services — databases, caches, storage, file servers and email for handlers

Usage:
  edgeforge services ls [--json]
  edgeforge services create <name> --type <type> [--config key=value]… [--secret key=value]… [--disabled]
  edgeforge services update <name> [--config key=value]… [--secret key=value]…   (value null removes a field)
  edgeforge services test <name>          connect with the stored settings: ok, or the backend's reason
  edgeforge services activate|deactivate|rm <name>

Types: sqlite, postgres, mysql, memory, redis, memcached, filesystem, s3, ftp, email
(docs/services.md lists each type's fields). Secrets are write-only: the server never shows them.
Values that read as JSON (5432, true, null) are taken as such; anything else is a string.
Bind a service to an endpoint with: edgeforge deploy <file.ts> --service db=<name> …

Options:
  --json           print the server's answer as JSON
${CLIENT_SETTINGS_HELP}`

interface ServiceRow {
  id: string
  name: string
  service_type: string
  enabled: boolean
  secrets_set: string[]
  status: { active: boolean; connected: boolean; last_error: string | null }
}

export async function servicesCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['help', 'json', 'disabled'])
  const sub = positionals[0] ?? 'ls'
  const name = positionals[1]
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token)
  const json = flags.json !== undefined
  const print = (data: unknown, text: string) => console.log(json ? JSON.stringify(data, null, 2) : text)

  if (sub === 'ls' || sub === 'list') {
    const services = (await client.call<ServiceRow[]>('GET', '/api/services')).data
    if (json) print(services, '')
    else if (services.length === 0)
      console.log('no services yet: edgeforge services create main-db --type sqlite --config path=main.db')
    else
      console.log(
        table(
          ['NAME', 'TYPE', 'ACTIVE', 'CONNECTED', 'SECRETS', 'LAST ERROR'],
          services.map((s) => [
            s.name,
            s.service_type,
            s.status.active ? 'yes' : 'no',
            s.status.connected ? 'yes' : 'no',
            s.secrets_set.join(',') || '-',
            (s.status.last_error ?? '').slice(0, 60),
          ]),
        ),
      )
    return 0
  }
  if (!name) throw new UsageError(`services ${sub} needs a service name`)
  if (sub === 'create') {
    if (!flags.type)
      throw new UsageError('services create needs --type (sqlite, postgres, mysql, memory, redis, …)')
    const body = {
      name,
      service_type: flags.type,
      config: keyValues(repeatedFlag(argv, 'config'), 'config'),
      secrets: keyValues(repeatedFlag(argv, 'secret'), 'secret'),
      enabled: flags.disabled === undefined,
    }
    const created = (await client.call<ServiceRow>('POST', '/api/services', body)).data
    print(
      created,
      `created ${created.name} (${created.service_type})${created.status.active ? ', active' : ''}`,
    )
    return 0
  }
  const found = await serviceNamed(client, name)
  switch (sub) {
    case 'update': {
      const body: Record<string, unknown> = {}
      const config = repeatedFlag(argv, 'config')
      const secrets = repeatedFlag(argv, 'secret')
      if (config.length > 0) body.config = keyValues(config, 'config')
      if (secrets.length > 0) body.secrets = keyValues(secrets, 'secret')
      const updated = (await client.call<ServiceRow>('PUT', `/api/services/${found.id}`, body)).data
      print(updated, `updated ${updated.name}`)
      return 0
    }
    case 'test': {
      const result = (
        await client.call<{ connected: boolean; latency_ms?: number; error?: string }>(
          'POST',
          `/api/services/${found.id}/test`,
        )
      ).data
      print(
        result,
        result.connected ? `ok: ${name} answered in ${result.latency_ms} ms` : `failed: ${result.error}`,
      )
      return result.connected ? 0 : 1
    }
    case 'activate':
    case 'deactivate': {
      const result = (await client.call<{ message: string }>('POST', `/api/services/${found.id}/${sub}`)).data
      print(result, result.message)
      return 0
    }
    case 'rm':
      await client.call('DELETE', `/api/services/${found.id}`)
      print({ removed: name }, `removed ${name}`)
      return 0
  }
  throw new UsageError(
    `unknown subcommand "services ${sub}"; try ls, create, update, test, activate, deactivate or rm`,
  )
}

async function serviceNamed(client: ControlClient, name: string): Promise<ServiceRow> {
  const found = (await client.call<ServiceRow[]>('GET', '/api/services')).data.find((s) => s.name === name)
  if (!found) throw new UsageError(`no service named "${name}"; "edgeforge services ls" lists them`)
  return found
}
