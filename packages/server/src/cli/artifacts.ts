import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { JobArtifactDto, ReplyBody } from '@edgeforge/protocol'
import { CLIENT_SETTINGS_HELP, loadClientSettings } from '../config.ts'
import { parseArgs, UsageError } from './args.ts'
import { ControlClient, ControlError } from './client.ts'
import { table } from './print.ts'

export const ARTIFACTS_HELP = `edgeforge artifacts — download a job's artifacts

Usage:
  edgeforge artifacts get <job id> <name> [-o file]
                        download the artifact to the file (default: its name, in this folder;
                        "-o -" writes it to stdout); the SHA-256 is checked against its etag
  edgeforge jobs artifacts <job id> [--json]
                        list a job's artifacts: name, size, sha256, content type, created, downloads

${CLIENT_SETTINGS_HELP}`

/** `edgeforge jobs artifacts <id> [--json]`. */
export async function listArtifactsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['help', 'json'])
  const id = positionals[1]
  if (!id) throw new UsageError('jobs artifacts needs a job id: edgeforge jobs artifacts <id>')
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  const list = (await client.call<JobArtifactDto[]>('GET', `/jobs/${encodeURIComponent(id)}/artifacts`)).data
  if (flags.json) {
    console.log(JSON.stringify(list, null, 2))
    return 0
  }
  if (list.length === 0) {
    console.log(`job ${id} has no artifacts`)
    return 0
  }
  console.log(
    table(
      ['NAME', 'SIZE', 'SHA256', 'TYPE', 'CREATED', 'DOWNLOADS'],
      list.map((a) => [
        a.name,
        String(a.size),
        a.sha256.slice(0, 16),
        a.content_type,
        a.created,
        String(a.downloads),
      ]),
    ),
  )
  return 0
}

/** `edgeforge artifacts get <job> <name> [-o file]`: streamed to the file, hash checked. */
export async function artifactsCommand(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(
    argv.map((arg) => (arg === '-o' ? '--output' : arg)),
    ['help'],
  )
  const [action, jobId, name] = positionals
  if (action !== 'get')
    throw new UsageError(
      `unknown artifacts command ${action ?? ''}: try edgeforge artifacts get <job> <name>`,
    )
  if (!jobId || !name)
    throw new UsageError(
      'artifacts get needs a job id and a name: edgeforge artifacts get <job> <name> [-o file]',
    )
  const settings = loadClientSettings(process.env, flags)
  const client = new ControlClient(settings.url, settings.token, settings.clientId)
  const path = `/jobs/${encodeURIComponent(jobId)}/artifacts/${encodeURIComponent(name)}`
  const headers: Record<string, string> = {}
  if (settings.token) headers.authorization = `Bearer ${settings.token}`
  const response = await fetch(client.baseUrl + path, { headers })
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => undefined)) as ReplyBody | undefined
    throw new ControlError(
      response.status,
      body?.error?.code ?? 'internal',
      body?.error?.message ?? `HTTP ${response.status} from ${path}`,
      body?.error?.details,
      response.headers.get('x-request-id') ?? undefined,
    )
  }
  const output = flags.output ?? name
  const { createHash } = await import('node:crypto')
  const hash = createHash('sha256')
  const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
  source.on('data', (chunk: Buffer) => hash.update(chunk))
  await pipeline(source, output === '-' ? process.stdout : createWriteStream(output))
  const etag = response.headers.get('etag')?.replaceAll('"', '')
  const digest = hash.digest('hex')
  if (etag && etag !== digest) {
    console.error(`the download's SHA-256 ${digest} is not its etag ${etag}: try again`)
    return 1
  }
  if (output !== '-')
    console.error(`${output}: ${response.headers.get('content-length') ?? '?'} bytes, sha256 ${digest}`)
  return 0
}
