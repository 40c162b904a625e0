import { Type } from 'typebox'
import { EndpointStatusSchema } from '../catalog.ts'
import { EndpointId } from './catalog.ts'
import { declare } from './declare.ts'
import { Ok } from './envelope.ts'

/* The endpoint lifecycle over HTTP: compile, start, stop, deploy, and the endpoint's log. */

export const Diagnostic = Type.Object(
  {
    severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
    message: Type.String(),
    file: Type.Optional(Type.String()),
    line: Type.Optional(Type.Integer()),
    column: Type.Optional(Type.Integer()),
    code: Type.Optional(Type.String({ description: 'TS2322 for the type checker, E404 for npm installs' })),
    lineText: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

export const CompileReport = Type.Object(
  {
    endpoint_id: Type.String(),
    status: EndpointStatusSchema,
    compiled_version: Type.Integer({ minimum: 1 }),
    reused: Type.Boolean({
      description: 'The code and dependencies were unchanged: the stored artifact was kept',
    }),
    diagnostics: Type.Array(Diagnostic),
    timings_ms: Type.Optional(
      Type.Object(
        { install: Type.Number(), type_check: Type.Number(), bundle: Type.Number() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const DrainReport = Type.Object(
  { version: Type.Integer(), in_flight: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
)

export const RunReport = Type.Object(
  {
    endpoint_id: Type.String(),
    status: EndpointStatusSchema,
    running_version: Type.Union([Type.Integer(), Type.Null()]),
    swapped: Type.Boolean(),
    draining: Type.Array(DrainReport, {
      description: 'Old versions still finishing requests when the call returned',
    }),
    compile: Type.Optional(CompileReport),
  },
  { additionalProperties: false },
)

export const EndpointLogLine = Type.Object(
  {
    time: Type.String({ format: 'date-time' }),
    level: Type.String(),
    request_id: Type.Union([Type.String(), Type.Null()]),
    version: Type.Union([Type.Integer(), Type.Null()]),
    message: Type.String(),
  },
  { additionalProperties: false },
)

export const LogsQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 100 })) },
  { additionalProperties: false },
)

const context = 'deploy' as const
const stability = 'stable' as const

export const deployApi = {
  compileEndpoint: declare({
    name: 'compileEndpoint',
    client: { group: 'endpoints', method: 'compile' },
    context,
    method: 'POST',
    path: '/api/endpoints/{id}/compile',
    summary: 'Compile the endpoint: type-check, install its npm dependencies, bundle, store the artifact',
    description:
      'Fails with 400 compile_failed and diagnostics (line, column) in error.details; a running endpoint keeps serving its previous version.',
    params: EndpointId,
    responses: { 200: Ok(CompileReport) },
    errors: ['compile_failed', 'not_found', 'conflict'],
    scopes: 'endpoints:deploy:<name>',
    stability,
  }),
  startEndpoint: declare({
    name: 'startEndpoint',
    client: { group: 'endpoints', method: 'start' },
    context,
    method: 'POST',
    path: '/api/endpoints/{id}/start',
    summary:
      'Load the compiled version and route it; on a running endpoint with a newer compiled version, hot-swap it',
    params: EndpointId,
    responses: { 200: Ok(RunReport) },
    errors: ['compile_failed', 'not_found', 'conflict'],
    scopes: 'endpoints:deploy:<name>',
    stability,
  }),
  stopEndpoint: declare({
    name: 'stopEndpoint',
    client: { group: 'endpoints', method: 'stop' },
    context,
    method: 'POST',
    path: '/api/endpoints/{id}/stop',
    summary: 'Unroute the endpoint; requests in flight finish on their version (reported as draining)',
    params: EndpointId,
    responses: { 200: Ok(RunReport) },
    errors: ['not_found', 'conflict'],
    scopes: 'endpoints:stop:<name>',
    stability,
  }),
  deployEndpoint: declare({
    name: 'deployEndpoint',
    client: { group: 'endpoints', method: 'deploy' },
    context,
    method: 'POST',
    path: '/api/endpoints/{id}/deploy',
    summary:
      'Compile when the code or dependencies changed, then start or hot-swap; returns once the new version serves',
    params: EndpointId,
    responses: { 200: Ok(RunReport) },
    errors: ['compile_failed', 'not_found', 'conflict'],
    scopes: 'endpoints:deploy:<name>',
    stability,
  }),
  readEndpointLogs: declare({
    name: 'readEndpointLogs',
    client: { group: 'endpoints', method: 'getLogs' },
    context,
    method: 'GET',
    path: '/api/endpoints/{id}/logs',
    summary: "What the endpoint's handlers wrote with console.* or ctx.log, newest last",
    params: EndpointId,
    query: LogsQuery,
    responses: { 200: Ok(Type.Array(EndpointLogLine)) },
    errors: ['not_found'],
    scopes: 'endpoints:logs:<name>',
    stability,
  }),
} as const
