import type { HandlerFunction, JobFunction } from '@edgeforge/sdk'
import * as sdk from '@edgeforge/sdk'
// stack.ts, not the compiler's index: handler threads load this file and must not load the compiler.
import { mapStack } from '../compiler/stack.ts'
import { HandlerVersion, requestScope } from '../gateway/index.ts'
import { type EndpointLogEntry, type EndpointLogs, formatLogLine } from '../observability/endpoint-logs.ts'
import { loadBundle } from './load.ts'
import type { HttpVersion, JobVersion, LifecycleEndpoint } from './ports.ts'

/**
 * A version the lifecycle holds: always the artifact, never evaluated code. The handler threads
 * evaluate an HTTP endpoint's, the job threads a job endpoint's.
 */
export type AnyVersion = HttpVersion | JobVersion

/** Evaluates a bundle into a handler version; throws with a readable message when it cannot. */
export function instantiateVersion(
  endpoint: Pick<LifecycleEndpoint, 'id' | 'name' | 'kind'>,
  versionNumber: number,
  bundle: string,
  sourceMap: string,
  endpointLogs: Pick<EndpointLogs, 'append'>,
): HandlerVersion<HandlerFunction | JobFunction> {
  const filename = `edgeforge:${endpoint.name}@v${versionNumber}.js`
  const mod = loadBundle(bundle, {
    filename,
    sdk,
    sourceMap,
    console: bundleConsole(endpointLogs, endpoint.id, versionNumber),
  })
  const definition = mod.definition
  const expected =
    endpoint.kind === 'job' ? sdk.isJobDefinition(definition) : sdk.isHandlerDefinition(definition)
  if (!expected) {
    const wanted =
      endpoint.kind === 'job' ? 'job(async (payload, ctx) => …)' : 'handler(async (req, ctx) => …)'
    throw new Error(`${endpoint.name}.ts must \`export default ${wanted}\` from '@edgeforge/sdk'`)
  }
  return new HandlerVersion({
    endpointId: endpoint.id,
    endpointName: endpoint.name,
    version: versionNumber,
    fn: (definition as { fn: HandlerFunction | JobFunction }).fn,
    mapStack: (stack) => mapStack(stack, filename, sourceMap, mod.lineOffset),
    usesConsole: bundle.includes('console'),
  })
}

/** The `console` a bundle sees: every line lands in its endpoint's log with the request id. */
function bundleConsole(logs: Pick<EndpointLogs, 'append'>, endpointId: string, versionNumber: number) {
  const write =
    (level: EndpointLogEntry['level']) =>
    (...args: unknown[]) => {
      logs.append(endpointId, {
        time: Date.now(),
        level,
        requestId: requestScope.getStore()?.requestId ?? null,
        version: versionNumber,
        message: formatLogLine(args),
      })
    }
  return {
    log: write('info'),
    info: write('info'),
    debug: write('debug'),
    warn: write('warn'),
    error: write('error'),
    trace: write('debug'),
  }
}
