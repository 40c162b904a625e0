import { type Static, Type } from 'typebox'

/*
 * The catalog's wire shapes: domains, collections and endpoints as the management API sends and
 * receives them (snake_case, ISO-8601 times, booleans). The server, the client and the CLI all
 * read these, so a field cannot mean one thing on one side and another on the other.
 */

/** A hostname: labels of letters, digits and inner hyphens, joined by dots. Stored lower-case. */
export const HOST_PATTERN =
  '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'
/** What an endpoint's `domain` accepts: a hostname, or `*` for every host. */
export const ENDPOINT_DOMAIN_PATTERN = `^(?:\\*|${HOST_PATTERN.slice(1, -1)})$`
export const ENDPOINT_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$'
export const QUEUE_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$'

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

export const ENDPOINT_KINDS = ['http', 'job'] as const
export type EndpointKind = (typeof ENDPOINT_KINDS)[number]

export const ENDPOINT_STATUSES = ['created', 'compiled', 'running', 'stopped', 'error'] as const
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number]

/** Upper bounds of the per-endpoint limits; the lower bounds are in the schemas. */
export const MAX_TIMEOUT_MS = 86_400_000
export const MAX_BODY_LIMIT_BYTES = 268_435_456
export const MAX_DRAIN_TIMEOUT_MS = 3_600_000
/** An endpoint environment variable's name, as a shell would accept it; `EDGEFORGE_` is the server's. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$'
export const MAX_ENV_VALUE_BYTES = 32_768
export const MAX_ENV_VARIABLES = 100

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description })
const Timestamp = (description: string) => Type.String({ format: 'date-time', description })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, description: string) =>
  // Null first: with type coercion on, a string branch tried first would turn null into "".
  Type.Union([Type.Null(), schema], { description })

const DisplayName = Type.String({ minLength: 1, maxLength: 200, description: 'Display name' })
const Description = Nullable(Type.String({ maxLength: 2000 }), 'Free text for humans; null clears it')
const Host = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: HOST_PATTERN,
  description: 'Hostname the domain serves, e.g. api.example.com (no port, no scheme); stored lower-case',
})
const Enabled = Type.Boolean({
  description: 'Whether it serves traffic; false unroutes it (and everything under it)',
})
const BasePath = Type.String({
  maxLength: 1024,
  description:
    "Prefix of every endpoint path in the collection, e.g. /v1 or /tenants/{tenant}: empty, or a path template; a trailing '/' is dropped",
})

// ---------------------------------------------------------------------------------------------
// Domains

export const Domain = Type.Object(
  {
    id: Id('Domain id (UUIDv7)'),
    name: DisplayName,
    host: Host,
    description: Description,
    enabled: Enabled,
    created_at: Timestamp('When it was created'),
    updated_at: Timestamp('When it was last changed'),
  },
  { additionalProperties: false, description: 'A host that endpoints are served on, e.g. api.example.com' },
)
export type Domain = Static<typeof Domain>

export const DomainCreate = Type.Object(
  {
    name: DisplayName,
    host: Host,
    description: Type.Optional(Description),
    enabled: Type.Optional(
      Type.Boolean({ default: true, description: 'Whether it serves traffic (default true)' }),
    ),
  },
  { additionalProperties: false, description: 'A new domain; its host must not be taken by another domain' },
)
export type DomainCreate = Static<typeof DomainCreate>

export const DomainUpdate = Type.Object(
  {
    name: Type.Optional(DisplayName),
    host: Type.Optional(Host),
    description: Type.Optional(Description),
    enabled: Type.Optional(Enabled),
  },
  {
    additionalProperties: false,
    description:
      'Fields to change; absent fields keep their value. A new host moves the endpoints that were served on the old one',
  },
)
export type DomainUpdate = Static<typeof DomainUpdate>

// ---------------------------------------------------------------------------------------------
// Collections

export const Collection = Type.Object(
  {
    id: Id('Collection id (UUIDv7)'),
    domain_id: Id('The domain it belongs to'),
    name: DisplayName,
    description: Description,
    base_path: BasePath,
    enabled: Enabled,
    created_at: Timestamp('When it was created'),
    updated_at: Timestamp('When it was last changed'),
  },
  {
    additionalProperties: false,
    description: 'A group of related endpoints within a domain, sharing a base path',
  },
)
export type Collection = Static<typeof Collection>

export const CollectionCreate = Type.Object(
  {
    domain_id: Id('The domain it belongs to; must exist'),
    name: DisplayName,
    description: Type.Optional(Description),
    base_path: Type.Optional(BasePath),
    enabled: Type.Optional(
      Type.Boolean({ default: true, description: 'Whether it serves traffic (default true)' }),
    ),
  },
  { additionalProperties: false, description: 'A new collection in an existing domain' },
)
export type CollectionCreate = Static<typeof CollectionCreate>

export const CollectionUpdate = Type.Object(
  {
    name: Type.Optional(DisplayName),
    description: Type.Optional(Description),
    base_path: Type.Optional(BasePath),
    enabled: Type.Optional(Enabled),
  },
  {
    additionalProperties: false,
    description: 'Fields to change; absent fields keep their value. A collection stays in its domain',
  },
)
export type CollectionUpdate = Static<typeof CollectionUpdate>

// ---------------------------------------------------------------------------------------------
// Endpoints

const EndpointName = Type.String({
  pattern: ENDPOINT_NAME_PATTERN,
  description: 'Unique name: letters, digits, _ . - (up to 100), starting with a letter or digit',
})
/** Where an endpoint is in its deploy lifecycle; only the lifecycle changes it. */
export const EndpointStatusSchema = Type.Union(
  [
    Type.Literal('created'),
    Type.Literal('compiled'),
    Type.Literal('running'),
    Type.Literal('stopped'),
    Type.Literal('error'),
  ],
  {
    description:
      'created: never compiled; compiled: a version is built but not serving; running: serving; stopped: unrouted; error: the last compile or start failed',
  },
)

const KIND_DESCRIPTION = "'http' serves requests on a route; 'job' runs jobs taken from a queue"
const Kind = Type.Union([Type.Literal('http'), Type.Literal('job')], { description: KIND_DESCRIPTION })
const Queue = Type.String({
  pattern: QUEUE_NAME_PATTERN,
  description: 'Queue a job endpoint takes its jobs from: a-z 0-9 _ . - (up to 64); job kind only',
})
const PathTemplate = Type.String({
  minLength: 1,
  maxLength: 1024,
  description:
    "Path template relative to the collection's base_path, e.g. /pets/{id}: segments are literals or {param}, and the last may be a catch-all {*rest}; http kind only",
})
const Method = Type.String({
  minLength: 1,
  maxLength: 16,
  description:
    'HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (any case; stored upper-case); http kind only',
})
const EndpointDomain = Type.String({
  maxLength: 253,
  pattern: ENDPOINT_DOMAIN_PATTERN,
  description:
    "Host the endpoint serves on, or '*' for every host. In a collection it is the collection's domain host (the default there); elsewhere the default is '*'",
})
const Code = Type.String({ maxLength: 4_194_304, description: 'TypeScript source of the handler' })
const Dependencies = Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 256 }), {
  maxProperties: 100,
  description: 'npm packages the handler imports: package name → version range (or a file:/git: spec)',
})
/** Write-only: what a create or update sends. Answers carry only the names (`env_set`). */
const EnvInput = Type.Record(
  Type.String(),
  Type.Union([Type.Null(), Type.String({ maxLength: MAX_ENV_VALUE_BYTES })]),
  {
    maxProperties: MAX_ENV_VARIABLES,
    description:
      "Environment variables and secrets handed to the handler as ctx.env: NAME → value (names like a shell's, not starting with EDGEFORGE_; a value up to 32 KiB). Write-only: no answer returns a value, only the names in env_set. On update the map is merged into the stored one and null removes a name. Takes effect with the endpoint's next start or deploy, which swaps in a fresh instance with drain",
  },
)
const EnvSet = Type.Array(Type.String(), {
  description:
    'Names of the environment variables set on the endpoint (ctx.env), sorted; values are never returned',
})
const TimeoutMs = Type.Integer({
  minimum: 1,
  maximum: MAX_TIMEOUT_MS,
  description:
    "Per-request (or per-job) time limit in ms; default: the server's EDGEFORGE_REQUEST_TIMEOUT_MS",
})
const BodyLimitBytes = Type.Integer({
  minimum: 0,
  maximum: MAX_BODY_LIMIT_BYTES,
  description:
    "Largest request body in bytes (413 beyond it); default: the server's EDGEFORGE_BODY_LIMIT_BYTES",
})
const DrainTimeoutMs = Type.Integer({
  minimum: 0,
  maximum: MAX_DRAIN_TIMEOUT_MS,
  description:
    "How long a replaced version may finish in-flight requests, in ms; default: the server's EDGEFORGE_DRAIN_TIMEOUT_MS",
})
const CollectionRef = Nullable(Id('Collection id'), 'The collection it belongs to, or null')

/** A protected endpoint: callers need a bearer credential holding every one of these scopes. */
export const EndpointAuth = Nullable(
  Type.Object(
    {
      scopes: Type.Array(Type.String({ pattern: '^[\\x21-\\x7e]{1,256}$' }), {
        maxItems: 100,
        description: 'Scopes the caller must hold, all of them (a held scope ending in * covers any suffix)',
      }),
    },
    { additionalProperties: false },
  ),
  'null: public. Otherwise the gateway answers 401/403 unless the bearer credential holds the scopes; the handler sees ctx.auth',
)

const endpointProperties = {
  id: Id('Endpoint id (UUIDv7)'),
  name: EndpointName,
  kind: Kind,
  queue: Nullable(Queue, 'Queue of a job endpoint; null for http'),
  path: Nullable(PathTemplate, 'Path template; null for job endpoints'),
  method: Nullable(
    Type.Union([
      Type.Literal('GET'),
      Type.Literal('POST'),
      Type.Literal('PUT'),
      Type.Literal('PATCH'),
      Type.Literal('DELETE'),
      Type.Literal('HEAD'),
      Type.Literal('OPTIONS'),
    ]),
    'HTTP method (upper-case); null for job endpoints',
  ),
  domain: EndpointDomain,
  collection_id: CollectionRef,
  description: Description,
  code: Code,
  dependencies: Dependencies,
  enabled: Enabled,
  timeout_ms: TimeoutMs,
  body_limit_bytes: BodyLimitBytes,
  drain_timeout_ms: DrainTimeoutMs,
  auth: EndpointAuth,
  env_set: EnvSet,
  status: EndpointStatusSchema,
  running_version: Nullable(Type.Integer(), 'Version that serves requests, or null'),
  compiled_version: Nullable(Type.Integer(), 'Newest successfully compiled version, or null'),
  last_error: Nullable(Type.String(), 'Message of the last failed compile or start, or null'),
  full_path: Nullable(Type.String(), "The collection's base_path joined with path: what the gateway routes"),
  created_at: Timestamp('When it was created'),
  updated_at: Timestamp('When its definition was last changed (deploys do not count)'),
}

export const Endpoint = Type.Object(endpointProperties, {
  additionalProperties: false,
  description: 'A TypeScript handler and where it is served',
})
export type Endpoint = Static<typeof Endpoint>

/** An endpoint in a list: `code` appears only when the list is asked for it (include_code=true). */
export const EndpointListItem = Type.Object(
  { ...endpointProperties, code: Type.Optional(Code) },
  { additionalProperties: false, description: 'An endpoint; code only with include_code=true' },
)
export type EndpointListItem = Static<typeof EndpointListItem>

export const EndpointCreate = Type.Object(
  {
    name: EndpointName,
    kind: Type.Optional(
      Type.Union([Type.Literal('http'), Type.Literal('job')], {
        default: 'http',
        description: `${KIND_DESCRIPTION} (default http)`,
      }),
    ),
    queue: Type.Optional(Queue),
    path: Type.Optional(PathTemplate),
    method: Type.Optional(Method),
    domain: Type.Optional(EndpointDomain),
    collection_id: Type.Optional(CollectionRef),
    description: Type.Optional(Description),
    code: Type.Optional(Code),
    dependencies: Type.Optional(Dependencies),
    enabled: Type.Optional(
      Type.Boolean({ default: true, description: 'Whether it serves traffic (default true)' }),
    ),
    timeout_ms: Type.Optional(TimeoutMs),
    body_limit_bytes: Type.Optional(BodyLimitBytes),
    drain_timeout_ms: Type.Optional(DrainTimeoutMs),
    auth: Type.Optional(EndpointAuth),
    env: Type.Optional(EnvInput),
  },
  {
    additionalProperties: false,
    description:
      'A new endpoint. kind http (default) needs path and method; kind job needs queue and no path/method',
  },
)
export type EndpointCreate = Static<typeof EndpointCreate>

export const EndpointUpdate = Type.Object(
  {
    name: Type.Optional(EndpointName),
    kind: Type.Optional(
      Type.Union([Type.Literal('http'), Type.Literal('job')], {
        description: 'Accepted only when equal to the current kind: the kind of an endpoint cannot change',
      }),
    ),
    queue: Type.Optional(Queue),
    path: Type.Optional(PathTemplate),
    method: Type.Optional(Method),
    domain: Type.Optional(EndpointDomain),
    collection_id: Type.Optional(CollectionRef),
    description: Type.Optional(Description),
    code: Type.Optional(Code),
    dependencies: Type.Optional(Dependencies),
    enabled: Type.Optional(Enabled),
    timeout_ms: Type.Optional(TimeoutMs),
    body_limit_bytes: Type.Optional(BodyLimitBytes),
    drain_timeout_ms: Type.Optional(DrainTimeoutMs),
    auth: Type.Optional(EndpointAuth),
    env: Type.Optional(EnvInput),
  },
  {
    additionalProperties: false,
    description:
      'Fields to change; absent fields keep their value. Changing code does not redeploy: compile/start or deploy does',
  },
)
export type EndpointUpdate = Static<typeof EndpointUpdate>
