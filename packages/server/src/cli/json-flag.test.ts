import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CLIENTS_HELP } from './clients.ts'
import { DEPLOY_HELP } from './deploy.ts'
import { ENDPOINTS_HELP } from './endpoints.ts'
import { JOBS_HELP } from './jobs.ts'
import { LOGS_HELP } from './logs.ts'
import { QUEUES_HELP } from './queues.ts'
import { SERVICES_HELP } from './services.ts'
import { WORKERS_HELP } from './workers.ts'

// Every command that talks to the control plane takes --json (its tests check the output of each:
// cli.test.ts, cli-client.test.ts, services-cli.test.ts, workers.test.ts); `serve` is the server.
test('every control-plane command documents --json', () => {
  for (const [name, help] of Object.entries({
    CLIENTS_HELP,
    DEPLOY_HELP,
    ENDPOINTS_HELP,
    JOBS_HELP,
    LOGS_HELP,
    QUEUES_HELP,
    SERVICES_HELP,
    WORKERS_HELP,
  }))
    assert.match(help, /--json/, `${name} mentions --json`)
  assert.match(JOBS_HELP, /jobs logs <id> .*--json/, 'jobs logs takes --json')
})
