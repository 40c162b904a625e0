import { type Static, Type } from 'typebox'

/*
 * The services' wire shapes: service records (`/api/services`) and endpoint bindings
 * (`/api/endpoints/{id}/services`). Secrets go in with a record and never come out: an answer
 * names the secret fields that are set, not their values.
 */

export const SERVICE_TYPES = [
  'sqlite',
  'postgres',
  'mysql',
  'memory',
  'redis',
  'memcached',
  'filesystem',
  's3',
  'ftp',
  'email',
] as const
export type ServiceType = (typeof SERVICE_TYPES)[number]

export const SERVICE_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$'
/** A name a handler uses in `ctx.database(name)`: same rule as service names. */
export const BINDING_NAME_PATTERN = SERVICE_NAME_PATTERN

const ServiceName = Type.String({
  pattern: SERVICE_NAME_PATTERN,
  description: 'Unique name, e.g. main-db: letters, digits, . _ - (up to 100)',
})
const Fields = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description })
const ServiceTypeSchema = Type.Union(
  SERVICE_TYPES.map((t) => Type.Literal(t)),
  { description: 'The kind of backend' },
)

export const ServiceCreate = Type.Object(
  {
    name: ServiceName,
    service_type: ServiceTypeSchema,
    config: Type.Optional(Fields('Plain settings of the type (see docs/services.md); validated per field')),
    secrets: Type.Optional(Fields('Write-only settings (passwords, keys): stored, never returned or logged')),
    enabled: Type.Optional(
      Type.Boolean({ default: true, description: 'Activate it now and at every start' }),
    ),
  },
  { additionalProperties: false },
)
export type ServiceCreate = Static<typeof ServiceCreate>

export const ServiceUpdate = Type.Object(
  {
    name: Type.Optional(ServiceName),
    config: Type.Optional(Fields('Merged into the stored config; a null value removes that field')),
    secrets: Type.Optional(Fields('Merged into the stored secrets; a null value removes that secret')),
    enabled: Type.Optional(Type.Boolean({ description: 'false deactivates it, true activates it' })),
  },
  { additionalProperties: false },
)
export type ServiceUpdate = Static<typeof ServiceUpdate>

export const ServiceStatus = Type.Object(
  {
    active: Type.Boolean({ description: 'Its actor runs in this process' }),
    connected: Type.Boolean({ description: 'A connection was made and the last attempt did not fail' }),
    connections: Type.Integer({ description: 'Connections open' }),
    in_use: Type.Integer({ description: 'Connections running an operation' }),
    queued: Type.Integer({ description: 'Operations waiting for a connection' }),
    last_error: Type.Union([Type.Null(), Type.String()], {
      description: "The backend's last reason for a failure",
    }),
  },
  { additionalProperties: false },
)

export const Service = Type.Object(
  {
    id: Type.String({ description: 'Service id (UUIDv7)' }),
    name: Type.String(),
    service_type: Type.String(),
    config: Fields('Plain settings as stored (defaults not filled in)'),
    secrets_set: Type.Array(Type.String(), { description: 'Names of the secrets that have a value' }),
    enabled: Type.Boolean(),
    status: ServiceStatus,
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
)
export type Service = Static<typeof Service>

export const ServiceTestResult = Type.Object(
  {
    connected: Type.Boolean(),
    latency_ms: Type.Optional(Type.Integer()),
    message: Type.Optional(Type.String()),
    error: Type.Optional(Type.String({ description: "The backend's reason (secrets masked)" })),
  },
  { additionalProperties: false },
)

export const ServiceBinding = Type.Object(
  {
    binding: Type.String({
      pattern: BINDING_NAME_PATTERN,
      description: 'The name the handler uses: ctx.database("db")',
    }),
    service: Type.String({
      pattern: SERVICE_NAME_PATTERN,
      description: 'The service it reaches, e.g. main-db',
    }),
  },
  { additionalProperties: false },
)
export type ServiceBinding = Static<typeof ServiceBinding>

export const EndpointBindings = Type.Object(
  {
    endpoint_id: Type.String(),
    bindings: Type.Record(Type.String(), Type.String(), { description: 'binding name → service name' }),
    note: Type.String({ description: 'When a change reaches the running version' }),
  },
  { additionalProperties: false },
)
