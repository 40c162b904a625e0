import type { WorkerInfo } from '@edgeforge/protocol'
import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { ControlClient } from './client.ts'
import { table } from './print.ts'

export const WORKERS_HELP = `edgeforge workers — remote worker agents connected to the gateway

Usage:
  edgeforge workers ls [--json]        id, queues, concurrency, running jobs, connected since, last seen
  edgeforge workers drain <id>         finish running jobs, take no new ones
  edgeforge workers disconnect <id>    close its socket (its jobs keep their leases until they lapse)
  --json                               print the server's answer as JSON

Lists the agents connected to the gateway process the URL reaches.
${CLIENT_SETTINGS_HELP}`

export async function workersCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv)
  const [action, id] = positionals
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  if (action === 'ls' || action === undefined) {
    const workers = (await client.call<WorkerInfo[]>('GET', '/workers')).data
    if (flags.json) {
      console.log(JSON.stringify(workers, null, 2))
      return 0
    }
    if (workers.length === 0) {
      console.log('(no workers connected)')
      return 0
    }
    const rows = workers.map((worker) => [
      worker.id,
      worker.queues.join(','),
      String(worker.concurrency),
      `${worker.running_job_ids.length}${worker.draining ? ' (draining)' : ''}`,
      worker.connected_since,
      worker.last_seen,
    ])
    console.log(table(['ID', 'QUEUES', 'CONCURRENCY', 'RUNNING', 'CONNECTED SINCE', 'LAST SEEN'], rows))
    return 0
  }
  if (action === 'drain' || action === 'disconnect') {
    if (!id) throw new UsageError(`workers ${action} needs a worker id: edgeforge workers ${action} <id>`)
    const { data } = await client.call('POST', `/workers/${encodeURIComponent(id)}/${action}`)
    if (flags.json) console.log(JSON.stringify(data, null, 2))
    else console.log(action === 'drain' ? `worker ${id} is draining` : `worker ${id} disconnected`)
    return 0
  }
  throw new UsageError(`unknown workers action "${action}"; use ls, drain or disconnect`)
}
