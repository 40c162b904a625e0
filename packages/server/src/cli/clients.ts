import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, repeatedFlag, UsageError } from './args.ts'
import { clientOf, withHint } from './client.ts'
import { table } from './print.ts'

export const CLIENTS_HELP = `edgeforge clients — API clients and their scopes

Usage:
  edgeforge clients ls [--prefix <p>] [--json]
  edgeforge clients create <id> --scope <scope> [--scope …] [--description <text>] [--expires <iso>]
                                      prints the access token once: store it now
  edgeforge clients reset <id>        a new access token; the old one stops working
  edgeforge clients rm <id>

Options:
  --json           print the server's answer as JSON
${CLIENT_SETTINGS_HELP}`

export async function clientsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const ef = clientOf(loadClientSettings(process.env, flags))
  const sub = positionals[0] ?? 'ls'
  const id = positionals[1]
  const json = flags.json !== undefined
  try {
    if (sub === 'ls' || sub === 'list') {
      const clients = []
      for await (const client of ef.auth.listClients({ prefix: flags.prefix })) clients.push(client)
      if (json) console.log(JSON.stringify(clients, null, 2))
      else
        console.log(
          table(
            ['CLIENT', 'SCOPES', 'EXPIRES', 'DISABLED'],
            clients.map((c) => [
              c.client_id,
              c.scopes.join(' '),
              c.expires ?? 'never',
              c.disabled ? 'yes' : '',
            ]),
          ),
        )
      return 0
    }
    if (!id) throw new UsageError(`clients ${sub} needs a client id: edgeforge clients ${sub} ci/deploy`)
    if (sub === 'create') {
      const { data: created } = await ef.auth.createClient(id, {
        scopes: repeatedFlag(argv, 'scope'),
        ...(flags.description ? { description: flags.description } : {}),
        ...(flags.expires ? { expires: flags.expires } : {}),
      })
      if (json) console.log(JSON.stringify(created, null, 2))
      else console.log(`created ${created.client_id}\naccess token (shown once): ${created.access_token}`)
      return 0
    }
    if (sub === 'reset') {
      const { data: reset } = await ef.auth.resetAccessToken(id)
      if (json) console.log(JSON.stringify(reset, null, 2))
      else console.log(`new access token of ${reset.client_id} (shown once): ${reset.access_token}`)
      return 0
    }
    if (sub === 'rm') {
      await ef.auth.deleteClient(id)
      console.log(json ? JSON.stringify({ removed: id }) : `removed ${id}`)
      return 0
    }
  } catch (error) {
    throw withHint(error)
  }
  throw new UsageError(`unknown subcommand "clients ${sub}"; try ls, create, reset or rm`)
}
