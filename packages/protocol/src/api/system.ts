import { type Static, Type } from 'typebox'
import { declare } from './declare.ts'
import { Ok } from './envelope.ts'

/* Health, statistics, metrics and the API's own description. */

export const Health = Type.Object(
  { status: Type.String({ description: "'healthy' when the server answers" }), version: Type.String() },
  { additionalProperties: false },
)

export const SystemStats = Type.Object(
  {
    endpoints_total: Type.Integer({ minimum: 0 }),
    endpoints_running: Type.Integer({ minimum: 0 }),
    requests_handled: Type.Integer({ minimum: 0 }),
    uptime_seconds: Type.Integer({ minimum: 0 }),
    handlers: Type.Object(
      {
        loaded: Type.Integer({ minimum: 0 }),
        draining: Type.Integer({ minimum: 0 }),
        active_requests: Type.Integer({ minimum: 0 }),
        draining_requests: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export type SystemStats = Static<typeof SystemStats>

const context = 'system' as const
const stability = 'stable' as const

export const systemApi = {
  health: declare({
    name: 'health',
    context,
    method: 'GET',
    path: '/api/health',
    summary: 'Whether the server is up, and its version',
    responses: { 200: Ok(Health) },
    errors: [],
    scopes: 'system:read',
    stability,
  }),
  stats: declare({
    name: 'stats',
    context,
    method: 'GET',
    path: '/api/stats',
    summary: 'Endpoint counts, requests handled, uptime, loaded and draining handler versions',
    responses: { 200: Ok(SystemStats) },
    errors: [],
    scopes: 'system:read',
    stability,
  }),
  metrics: declare({
    name: 'metrics',
    context,
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics: gateway requests and latency per endpoint, job queues, process',
    produces: 'text/plain; version=0.0.4',
    responses: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
    errors: [],
    scopes: 'system:metrics',
    stability,
  }),
  openApi: declare({
    name: 'openApi',
    context,
    method: 'GET',
    path: '/api/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from the route declarations',
    responses: { 200: Type.Object({}, { additionalProperties: true, description: 'The OpenAPI document' }) },
    errors: [],
    scopes: 'system:read',
    stability,
  }),
} as const
