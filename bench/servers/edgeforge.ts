// The gateway under test: a whole edgeforge server (store, control plane, gateway) on loopback
// with ephemeral ports and a throw-away data dir, serving from 1 handler thread or from argv[2]. Runs as a child process of bench/gateway.ts,
// which deploys the handler through the management API like a user would.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../packages/server/src/config.ts'
import { startServer } from '../../packages/server/src/main.ts'
import { createLogger } from '../../packages/server/src/observability/logger.ts'
import { ready, stopOnRequest } from '../support/child.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'edgeforge-bench-'))
const config = loadConfig(
  {},
  {
    'data-dir': dataDir,
    'gateway-host': '127.0.0.1',
    'gateway-port': '0',
    'control-host': '127.0.0.1',
    'control-port': '0',
    'log-level': 'warn',
    'warm-compiler': 'false',
    // One handler thread against one bare process (the per-request comparison of issue 10 item 7),
    // unless the parent asks for N threads (the multi-core comparison): `edgeforge.ts <N>`.
    'gateway-threads': process.argv[2] ?? '1',
  },
)
const server = await startServer(config, createLogger(config.logLevel))

stopOnRequest(async () => {
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
})
ready({ url: server.gatewayUrl, controlUrl: server.controlUrl })
