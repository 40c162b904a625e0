import { parseArgs, UsageError } from './args.ts'
import { ARTIFACTS_HELP, artifactsCommand } from './artifacts.ts'
import { ControlError } from './client.ts'
import { CLIENTS_HELP, clientsCommand } from './clients.ts'
import { DEPLOY_HELP, deployCommand } from './deploy.ts'
import { ENDPOINTS_HELP, endpointsCommand } from './endpoints.ts'
import { EVENTS_HELP, eventsCommand } from './events.ts'
import { JOBS_HELP, jobsCommand } from './jobs.ts'
import { LOGS_HELP, logsCommand } from './logs.ts'
import { printDiagnostics } from './print.ts'
import { QUEUES_HELP, queuesCommand } from './queues.ts'
import { SERVICES_HELP, servicesCommand } from './services.ts'
import { WORKERS_HELP, workersCommand } from './workers.ts'

const HELP = `edgeforge — a self-hosted edge gateway and job runtime for TypeScript

Usage: edgeforge <command> [options]

Commands:
  serve                 start the gateway and the control plane (the default command)
  deploy <file.ts>      create or update an endpoint from a file, then compile and start it
  endpoints ls          list endpoints with their status and version
  endpoints stop|start|rm <name>
                        take an endpoint out of service, serve it again, delete it
  logs <name>           show what an endpoint's handler logged
  jobs logs <id> [--follow]
                        print a job's log, following it while it runs
  workers ls|drain|disconnect [id]
                        remote worker agents connected to the gateway
  jobs artifacts <id> [--json]
                        list a job's artifacts
  artifacts get <job> <name> [-o file]
                        download a job's artifact
  events [--queue q] [--job id]
                        follow job and worker events, resuming by cursor after a disconnect
  services ls|create|update|test|activate|deactivate|rm
                        databases, caches, storage, file servers and email for handlers
  clients ls|create|reset|rm   API clients, their scopes and access tokens
  jobs ls|show|retry|cancel    the jobs of the queue
  queues ls|pause|resume       the queues: counts, workers, pausing
  help [command]        show help for a command

Run "edgeforge <command> --help" for a command's options.`

// `serve` loads the whole server (Fastify, esbuild, TypeScript's worker…); the client commands
// need none of it, so it is imported only when asked for.
const serveCommand = async (argv: string[]) => (await import('./serve.ts')).serveCommand(argv)

const COMMANDS: Record<
  string,
  { help: string | (() => Promise<string>); run: (argv: string[]) => Promise<number> }
> = {
  serve: { help: async () => (await import('./serve.ts')).SERVE_HELP, run: serveCommand },
  deploy: { help: DEPLOY_HELP, run: deployCommand },
  endpoints: { help: ENDPOINTS_HELP, run: endpointsCommand },
  logs: { help: LOGS_HELP, run: logsCommand },
  jobs: { help: JOBS_HELP, run: jobsCommand },
  workers: { help: WORKERS_HELP, run: workersCommand },
  artifacts: { help: ARTIFACTS_HELP, run: artifactsCommand },
  events: { help: EVENTS_HELP, run: eventsCommand },
  services: { help: SERVICES_HELP, run: servicesCommand },
  clients: { help: CLIENTS_HELP, run: clientsCommand },
  queues: { help: QUEUES_HELP, run: queuesCommand },
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0]
  if (first === undefined || first.startsWith('-')) {
    if (first === '--help' || first === '-h') {
      console.log(HELP)
      return 0
    }
    return serveCommand(argv)
  }
  if (first === 'help') {
    const topic = argv[1] ? COMMANDS[argv[1]] : undefined
    console.log(topic ? await helpOf(topic) : HELP)
    return 0
  }
  const command = COMMANDS[first]
  if (!command) {
    console.error(`edgeforge: unknown command "${first}"\n\n${HELP}`)
    return 2
  }
  const rest = argv.slice(1)
  if (parseArgs(rest).flags.help) {
    console.log(await helpOf(command))
    return 0
  }
  return command.run(rest)
}

async function helpOf(command: { help: string | (() => Promise<string>) }): Promise<string> {
  return typeof command.help === 'string' ? command.help : command.help()
}

const argv = process.argv.slice(2)
main(argv).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (argv.includes('--json')) {
      // The same envelope as the API's: scripts read one shape on stderr, whatever failed.
      const code =
        error instanceof ControlError ? error.code : error instanceof UsageError ? 'usage' : 'internal'
      const details = error instanceof ControlError ? error.details : undefined
      console.error(
        JSON.stringify({ ok: false, error: { code, message: (error as Error).message, details } }),
      )
      process.exitCode = error instanceof UsageError ? 2 : 1
    } else if (error instanceof UsageError) {
      console.error(`edgeforge: ${error.message}`)
      process.exitCode = 2
    } else if (error instanceof ControlError) {
      // Compile failures print like a compiler would; their summary message would only repeat it.
      if (!printDiagnostics(error.details)) console.error(`error (${error.code}): ${error.message}`)
      process.exitCode = 1
    } else {
      console.error(`edgeforge: ${(error as Error).message}`)
      process.exitCode = 1
    }
  },
)
