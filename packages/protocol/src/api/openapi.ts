import type { TSchema } from 'typebox'
import {
  Collection,
  CollectionCreate,
  CollectionUpdate,
  Domain,
  DomainCreate,
  DomainUpdate,
  Endpoint,
  EndpointCreate,
  EndpointListItem,
  EndpointUpdate,
} from '../catalog.ts'
import { ERROR_STATUS } from '../errors.ts'
import {
  CronCreate,
  CronSchedule,
  CronUpdate,
  EnqueueBatchResponse,
  EnqueueJob,
  EnqueueResponse,
  Job,
  JobWithLogs,
  QueueOverview,
  QueueSettings,
  StorageInfo,
} from '../jobs.ts'
import { errorsOf, type Operation, pathParams, type ScopeExpression } from './declare.ts'
import { CompileReport, EndpointLogLine, RunReport } from './deploy.ts'
import { ErrorEnvelope } from './envelope.ts'
import { SystemStats } from './system.ts'

/** Schemas worth a name of their own in `components.schemas`; every use becomes a `$ref`. */
const COMPONENTS: Record<string, TSchema> = {
  Domain,
  DomainCreate,
  DomainUpdate,
  Collection,
  CollectionCreate,
  CollectionUpdate,
  Endpoint,
  EndpointListItem,
  EndpointCreate,
  EndpointUpdate,
  CompileReport,
  RunReport,
  EndpointLogLine,
  Job,
  JobWithLogs,
  EnqueueJob,
  EnqueueResponse,
  EnqueueBatchResponse,
  QueueOverview,
  QueueSettings,
  CronSchedule,
  CronCreate,
  CronUpdate,
  StorageInfo,
  SystemStats,
  ErrorEnvelope,
}

const CONTEXTS: Record<string, string> = {
  catalog: 'Domains, collections and endpoints: the records that say what the gateway serves',
  deploy: "An endpoint's lifecycle: compile, start, stop, deploy, and its log",
  jobs: 'The job queue: queues and their settings, jobs, cron schedules, the store',
  system: 'Health, statistics, Prometheus metrics and this document',
}

export interface OpenApiOptions {
  version: string
  /** Base URLs the document names; the default is the loopback control plane. */
  servers?: Array<{ url: string; description: string }>
}

type Json = Record<string, unknown>

/**
 * The OpenAPI 3.1 document of the given operations. Deterministic (same input, same text), so
 * the committed `docs/openapi.json` can be checked for drift.
 */
export function openApiDocument(operations: readonly Operation[], options: OpenApiOptions): Json {
  const byIdentity = new Map<TSchema, string>()
  for (const [name, schema] of Object.entries(COMPONENTS)) byIdentity.set(schema, name)
  const ref = (schema: TSchema): unknown => toJson(schema, byIdentity)

  const paths: Record<string, Record<string, Json>> = {}
  for (const operation of operations) {
    paths[operation.path] ??= {}
    paths[operation.path][operation.method.toLowerCase()] = operationObject(operation, ref)
  }
  const schemas: Json = {}
  for (const [name, schema] of Object.entries(COMPONENTS)) schemas[name] = toJson(schema, byIdentity, schema)

  return {
    openapi: '3.1.0',
    info: {
      title: 'edgeforge control plane',
      version: options.version,
      description:
        'The management API of edgeforge: endpoints, their lifecycle, the job queue. Every answer is the ' +
        '{ ok, data } envelope or { ok: false, error: { code, message, details? } } with a code from the registry.',
    },
    servers: options.servers ?? [
      { url: 'http://127.0.0.1:9081', description: 'The control plane on its default loopback address' },
    ],
    security: [{ bearer: [] }],
    tags: [...new Set(operations.map((operation) => operation.context))].map((name) => ({
      name,
      description: CONTEXTS[name] ?? name,
    })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The admin token (EDGEFORGE_ADMIN_TOKEN). Without one configured, the loopback control plane is open.',
        },
      },
      schemas,
    },
  }
}

function operationObject(operation: Operation, ref: (schema: TSchema) => unknown): Json {
  const parameters: Json[] = []
  for (const name of pathParams(operation.path)) {
    const schema = (operation.params as { properties?: Record<string, TSchema> } | undefined)?.properties?.[
      name
    ]
    parameters.push(parameter(name, 'path', true, schema, ref))
  }
  const query = operation.query as { properties?: Record<string, TSchema>; required?: string[] } | undefined
  for (const [name, schema] of Object.entries(query?.properties ?? {})) {
    parameters.push(parameter(name, 'query', query?.required?.includes(name) ?? false, schema, ref))
  }

  const responses: Json = {}
  for (const [status, schema] of Object.entries(operation.responses)) {
    const content = operation.produces ?? 'application/json'
    responses[status] = {
      description: (schema as { description?: string }).description ?? 'Success',
      content: { [content]: { schema: ref(schema) } },
    }
  }
  const byStatus = new Map<number, string[]>()
  for (const code of errorsOf(operation)) {
    const status = ERROR_STATUS[code]
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  for (const [status, codes] of byStatus) {
    responses[String(status)] = {
      description: `error.code: ${codes.join(', ')}`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
    }
  }

  const result: Json = {
    operationId: operation.name,
    summary: operation.summary,
    tags: [operation.context],
  }
  if (operation.description) result.description = operation.description
  if (parameters.length) result.parameters = parameters
  if (operation.body) {
    result.requestBody = { required: true, content: { 'application/json': { schema: ref(operation.body) } } }
  }
  if (operation.consumes) {
    result.requestBody = {
      required: true,
      content: { [operation.consumes]: { schema: { type: 'string', format: 'binary' } } },
    }
  }
  result.responses = responses
  result['x-edgeforge-client'] = `${operation.client.group}.${operation.client.method}`
  result['x-edgeforge-scopes'] = scopeJson(operation.scopes)
  result['x-edgeforge-stability'] = operation.stability
  return result
}

function parameter(
  name: string,
  where: 'path' | 'query',
  required: boolean,
  schema: TSchema | undefined,
  ref: (schema: TSchema) => unknown,
): Json {
  const json = (schema ? ref(schema) : { type: 'string' }) as Json
  const { description, ...rest } = json
  const result: Json = { name, in: where, required, schema: rest }
  if (typeof description === 'string') result.description = description
  return result
}

function scopeJson(expression: ScopeExpression): unknown {
  return expression
}

/** A plain JSON copy of a schema, with named components replaced by references. */
function toJson(schema: unknown, names: Map<TSchema, string>, root?: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toJson(item, names))
  if (schema === null || typeof schema !== 'object') return schema
  const name = names.get(schema as TSchema)
  if (name && schema !== root) return { $ref: `#/components/schemas/${name}` }
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) out[key] = toJson(value, names)
  return out
}
