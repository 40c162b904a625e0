import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { ReplyBody } from '@edgeforge/protocol'
import { type Config, loadConfig } from '../../src/config.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { createLogger, type Logger } from '../../src/observability/logger.ts'

export interface TestServer {
  server: RunningServer
  config: Config
  dataDir: string
  gatewayUrl: string
  controlUrl: string
  /** Calls the control plane and returns status and parsed body. */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiReply<T>>
  /** Stops the server (idempotent); the data dir stays until the test ends. */
  stop(): Promise<void>
}

/** A control-plane reply: status, the envelope (protocol's ReplyBody) and the headers. */
export interface ApiReply<T = unknown> {
  status: number
  body: ReplyBody<T>
  headers: Headers
}

/**
 * Boots a whole edgeforge server on ephemeral ports with a temporary data dir (SQLite unless a
 * databaseUrl is given) and stops it when the test ends.
 */
export async function startTestServer(
  t: TestContext,
  flags: Record<string, string> = {},
  options: { dataDir?: string; env?: Record<string, string>; logger?: Logger } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'edgeforge-e2e-'))
  const config = loadConfig(options.env ?? {}, {
    'data-dir': dataDir,
    'gateway-host': '127.0.0.1',
    'gateway-port': '0',
    'control-port': '0',
    'log-level': 'silent',
    'warm-compiler': 'false',
    ...flags,
  })
  const server = await startServer(config, options.logger ?? createLogger(config.logLevel))
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.close()
  }
  t.after(async () => {
    await stop()
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
  })
  return {
    server,
    config,
    dataDir,
    gatewayUrl: server.gatewayUrl,
    controlUrl: server.controlUrl,
    stop,
    async api(method, path, body, headers = {}) {
      const response = await fetch(server.controlUrl + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return {
        status: response.status,
        body: (await response.json()) as ApiReply<never>['body'],
        headers: response.headers,
      }
    },
  }
}

/** Source of a handler module, for tests that deploy code. */
export function handlerSource(body: string, imports = 'handler, Response'): string {
  return `import { ${imports} } from '@edgeforge/sdk'\n${body}\n`
}
