import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { ControlClient } from './client.ts'

export const LOGS_HELP = `edgeforge logs — show what an endpoint's handler wrote with console.* or ctx.log

Usage: edgeforge logs <name> [--limit N] [--json]

Options:
  --limit <n>      how many of the newest lines (default 100)
  --json           print the entries as JSON
${CLIENT_SETTINGS_HELP}`

interface LogEntry {
  time: string
  level: string
  request_id: string | null
  version: number | null
  message: string
}

export async function logsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const name = positionals[0]
  if (!name) throw new UsageError('logs needs an endpoint name: edgeforge logs hello')
  const limit = flags.limit ?? '100'
  if (!/^\d+$/.test(limit)) throw new UsageError('--limit takes a whole number')
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  const found = await client.endpointNamed(name)
  if (!found) throw new UsageError(`no endpoint named "${name}"; "edgeforge endpoints ls" lists them`)
  const entries = (await client.call<LogEntry[]>('GET', `/api/endpoints/${found.id}/logs?limit=${limit}`))
    .data
  if (flags.json) {
    console.log(JSON.stringify(entries, null, 2))
    return 0
  }
  for (const e of entries) {
    console.log(
      `${e.time} ${e.level.toUpperCase().padEnd(5)} v${e.version ?? '?'} ${e.request_id ?? '-'} ${e.message}`,
    )
  }
  if (entries.length === 0) console.log(`(no log lines for ${name} yet)`)
  return 0
}
