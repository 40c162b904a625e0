import { Type } from 'typebox'
import { declare } from './declare.ts'
import { Ok, OkList, OkNull, PageQuery } from './envelope.ts'

/*
 * The auth context: who is calling (current-scopes) and the clients. Client ids may contain
 * slashes (`ci/hello`): URL-encode them in the path (`/api/clients/ci%2Fhello`).
 */

/** Printable ASCII without spaces, 1-256 characters; a held scope ending in `*` covers any suffix. */
export const SCOPE_PATTERN = '^[\\x21-\\x7e]{1,256}$'
/** Letters, digits and `!@/:.+|_-`, 1-128 characters (Taskcluster's client ids). */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9!@/:.+|_-]{1,128}$'

const Scope = Type.String({ pattern: SCOPE_PATTERN, description: 'A scope; a trailing * covers any suffix' })
const Iso = Type.String({ format: 'date-time', description: 'ISO-8601 UTC time' })

export const ClientView = Type.Object(
  {
    client_id: Type.String(),
    description: Type.String(),
    scopes: Type.Array(Type.String()),
    expires: Type.Union([Type.Null(), Iso], { description: 'When the client stops working; null never' }),
    disabled: Type.Boolean(),
    created: Iso,
    updated: Iso,
    last_token_reset: Iso,
  },
  { additionalProperties: false },
)
export const ClientWithToken = Type.Object(
  {
    ...ClientView.properties,
    access_token: Type.String({ description: 'Shown this once; the server keeps only a hash of it' }),
  },
  { additionalProperties: false },
)
export const ClientParams = Type.Object(
  {
    clientId: Type.String({ pattern: CLIENT_ID_PATTERN, description: 'Client id (URL-encode its slashes)' }),
  },
  { additionalProperties: false },
)
const Expires = Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 64 })], {
  description: 'ISO-8601 time after which the client stops working; null or absent: never',
})
export const ClientCreate = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    // Optional: a client created without scopes has none (Fastify fills the default in).
    scopes: Type.Optional(Type.Array(Scope, { maxItems: 500, default: [] })),
    expires: Type.Optional(Expires),
  },
  { additionalProperties: false },
)
export const ClientUpdate = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    scopes: Type.Optional(Type.Array(Scope, { maxItems: 500 })),
    expires: Type.Optional(Expires),
  },
  { additionalProperties: false },
)
export const ClientListQuery = Type.Object(
  {
    ...PageQuery,
    prefix: Type.Optional(
      Type.String({ maxLength: 128, description: 'Only clients whose id starts with this' }),
    ),
  },
  { additionalProperties: false },
)
export const CurrentScopes = Type.Object(
  {
    client_id: Type.String(),
    scopes: Type.Array(Type.String()),
    via: Type.Union(
      [
        Type.Literal('root'),
        Type.Literal('client'),
        Type.Literal('temporary'),
        Type.Literal('signed-url'),
        Type.Literal('open'),
      ],
      { description: 'How the caller proved it; open: loopback without an admin token' },
    ),
    expires: Type.Union([Type.Null(), Iso]),
  },
  { additionalProperties: false },
)

const context = 'auth' as const
const stability = 'stable' as const
/** Giving, resetting or re-enabling a client needs the caller to hold the client's scopes. */
const GRANTS = ['insufficient_scopes', 'not_found'] as const

export const authApi = {
  currentScopes: declare({
    name: 'currentScopes',
    client: { group: 'auth', method: 'currentScopes' },
    context,
    method: 'GET',
    path: '/api/auth/current-scopes',
    summary: "The calling credential's client id and scopes (after x-edgeforge-authorized-scopes)",
    responses: { 200: Ok(CurrentScopes) },
    errors: [],
    scopes: { AllOf: [] },
    stability,
  }),
  listClients: declare({
    name: 'listClients',
    client: { group: 'auth', method: 'listClients' },
    context,
    method: 'GET',
    path: '/api/clients',
    summary: 'List clients by id; prefix= narrows the list and the scope it needs',
    query: ClientListQuery,
    responses: { 200: OkList(ClientView) },
    errors: [],
    scopes: 'clients:read:<prefix>*',
    stability,
  }),
  getClient: declare({
    name: 'getClient',
    client: { group: 'auth', method: 'getClient' },
    context,
    method: 'GET',
    path: '/api/clients/{clientId}',
    summary: 'Get a client (never its access token)',
    params: ClientParams,
    responses: { 200: Ok(ClientView) },
    errors: ['not_found'],
    scopes: 'clients:read:<clientId>',
    stability,
  }),
  createClient: declare({
    name: 'createClient',
    client: { group: 'auth', method: 'createClient' },
    context,
    method: 'POST',
    path: '/api/clients/{clientId}',
    summary: 'Create a client; the answer carries its access token, shown this once',
    description: 'The caller must hold every scope it gives (else 403). root is taken (409).',
    params: ClientParams,
    body: ClientCreate,
    responses: { 201: Ok(ClientWithToken) },
    errors: ['insufficient_scopes', 'conflict'],
    scopes: 'clients:create:<clientId>',
    stability,
  }),
  updateClient: declare({
    name: 'updateClient',
    client: { group: 'auth', method: 'updateClient' },
    context,
    method: 'PUT',
    path: '/api/clients/{clientId}',
    summary: 'Update a client (only the fields sent); its access token stays',
    params: ClientParams,
    body: ClientUpdate,
    responses: { 200: Ok(ClientView) },
    errors: [...GRANTS],
    scopes: 'clients:update:<clientId>',
    stability,
  }),
  deleteClient: declare({
    name: 'deleteClient',
    client: { group: 'auth', method: 'deleteClient' },
    context,
    method: 'DELETE',
    path: '/api/clients/{clientId}',
    summary: 'Delete a client; its token, temporary credentials and signed URLs stop working',
    params: ClientParams,
    responses: { 200: OkNull },
    errors: ['not_found'],
    scopes: 'clients:delete:<clientId>',
    stability,
  }),
  resetClientToken: declare({
    name: 'resetClientToken',
    client: { group: 'auth', method: 'resetAccessToken' },
    context,
    method: 'POST',
    path: '/api/clients/{clientId}/reset',
    summary: 'A new access token (shown this once); the old one and everything signed with it stop working',
    params: ClientParams,
    responses: { 200: Ok(ClientWithToken) },
    errors: [...GRANTS],
    scopes: 'clients:reset:<clientId>',
    stability,
  }),
  enableClient: declare({
    name: 'enableClient',
    client: { group: 'auth', method: 'enableClient' },
    context,
    method: 'POST',
    path: '/api/clients/{clientId}/enable',
    summary: 'Enable a disabled client again',
    params: ClientParams,
    responses: { 200: Ok(ClientView) },
    errors: [...GRANTS],
    scopes: 'clients:enable:<clientId>',
    stability,
  }),
  disableClient: declare({
    name: 'disableClient',
    client: { group: 'auth', method: 'disableClient' },
    context,
    method: 'POST',
    path: '/api/clients/{clientId}/disable',
    summary: 'Disable a client: its token, temporary credentials and signed URLs get 401 until enabled',
    params: ClientParams,
    responses: { 200: Ok(ClientView) },
    errors: ['not_found'],
    scopes: 'clients:disable:<clientId>',
    stability,
  }),
}
