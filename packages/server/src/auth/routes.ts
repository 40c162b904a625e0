import { ApiError } from '@edgeforge/protocol'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { type App, decodeToken, Ok, OkList, OkNull, ok, okPage, PageQuery, toPage } from '../http/index.ts'
import type { Principal } from './authenticator.ts'
import { CLIENT_ID_PATTERN, type ClientRecord, type ClientStore } from './clients.ts'
import { checkScopes } from './guard.ts'
import { SCOPE_PATTERN } from './scopes.ts'

/*
 * The auth context's API: who am I (`/api/auth/current-scopes`) and the clients. A caller may only
 * give a client scopes it holds itself, and may only reset or re-enable a client whose scopes it
 * holds: otherwise `clients:create:*` alone would be a way to mint `*`.
 */

const Scope = Type.String({ pattern: SCOPE_PATTERN, description: 'A scope; a trailing * covers any suffix' })
const Iso = Type.String({ description: 'ISO-8601 UTC time' })
const ClientView = Type.Object(
  {
    client_id: Type.String(),
    description: Type.String(),
    scopes: Type.Array(Type.String()),
    expires: Type.Union([Iso, Type.Null()], { description: 'When the client stops working; null never' }),
    disabled: Type.Boolean(),
    created: Iso,
    updated: Iso,
    last_token_reset: Iso,
  },
  { additionalProperties: false },
)
const ClientWithToken = Type.Object(
  {
    ...ClientView.properties,
    access_token: Type.String({ description: 'Shown this once; the server keeps only a hash of it' }),
  },
  { additionalProperties: false },
)
const ClientParams = Type.Object(
  {
    clientId: Type.String({ pattern: CLIENT_ID_PATTERN, description: 'Client id (URL-encode its slashes)' }),
  },
  { additionalProperties: false },
)
const Expires = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], {
  description: 'ISO-8601 time after which the client stops working; null or absent never',
})
const ClientCreate = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    scopes: Type.Array(Scope, { maxItems: 500, default: [] }),
    expires: Type.Optional(Expires),
  },
  { additionalProperties: false },
)
const ClientUpdate = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    scopes: Type.Optional(Type.Array(Scope, { maxItems: 500 })),
    expires: Type.Optional(Expires),
  },
  { additionalProperties: false },
)
const ClientListQuery = Type.Object(
  {
    ...PageQuery,
    prefix: Type.Optional(
      Type.String({ maxLength: 128, description: 'Only clients whose id starts with this' }),
    ),
  },
  { additionalProperties: false },
)
const CurrentScopes = Type.Object(
  {
    client_id: Type.String(),
    scopes: Type.Array(Type.String()),
    via: Type.String({
      description: 'root, client, temporary, signed-url or open (loopback without a token)',
    }),
    expires: Type.Union([Iso, Type.Null()]),
  },
  { additionalProperties: false },
)

const TAGS = ['auth']

function clientDto(client: ClientRecord) {
  return {
    client_id: client.clientId,
    description: client.description,
    scopes: client.scopes,
    expires: client.expiresAt === null ? null : new Date(client.expiresAt).toISOString(),
    disabled: client.disabled,
    created: new Date(client.createdAt).toISOString(),
    updated: new Date(client.updatedAt).toISOString(),
    last_token_reset: new Date(client.tokenResetAt).toISOString(),
  }
}

export function authRoutes(app: App, clients: ClientStore): void {
  app.get(
    '/api/auth/current-scopes',
    {
      schema: {
        tags: TAGS,
        summary: "The calling credential's client id and scopes (after authorizedScopes)",
        response: { 200: Ok(CurrentScopes) },
      },
    },
    async (req) => {
      const principal = principalOf(req)
      return ok({
        client_id: principal.clientId,
        scopes: [...principal.scopes],
        via: principal.via,
        expires: principal.expiresAt === null ? null : new Date(principal.expiresAt).toISOString(),
      })
    },
  )

  app.get(
    '/api/clients',
    {
      schema: {
        tags: TAGS,
        summary: 'List clients, by id',
        querystring: ClientListQuery,
        response: { 200: OkList(ClientView) },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100
      const rows = await clients.list({
        limit: limit + 1,
        after: decodeToken(req.query.continuation_token),
        prefix: req.query.prefix,
      })
      const page = toPage(rows, limit, (row) => row.clientId)
      return okPage({ items: page.items.map(clientDto), continuation_token: page.continuation_token })
    },
  )

  app.get(
    '/api/clients/:clientId',
    {
      schema: {
        tags: TAGS,
        summary: 'Get a client',
        params: ClientParams,
        response: { 200: Ok(ClientView) },
      },
    },
    async (req) => ok(clientDto(await clients.get(req.params.clientId))),
  )

  app.post(
    '/api/clients/:clientId',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a client; the answer carries its access token, shown this once',
        params: ClientParams,
        body: ClientCreate,
        response: { 201: Ok(ClientWithToken) },
      },
    },
    async (req, reply) => {
      grantable(principalOf(req), req.body.scopes)
      const { client, accessToken } = await clients.create(req.params.clientId, {
        description: req.body.description,
        scopes: req.body.scopes,
        expiresAt: parseExpires(req.body.expires),
      })
      return reply.code(201).send(ok({ ...clientDto(client), access_token: accessToken }))
    },
  )

  app.put(
    '/api/clients/:clientId',
    {
      schema: {
        tags: TAGS,
        summary: 'Update a client (only the fields sent); its token stays',
        params: ClientParams,
        body: ClientUpdate,
        response: { 200: Ok(ClientView) },
      },
    },
    async (req) => {
      if (req.body.scopes) grantable(principalOf(req), req.body.scopes)
      const client = await clients.update(req.params.clientId, {
        description: req.body.description,
        scopes: req.body.scopes,
        expiresAt: req.body.expires === undefined ? undefined : parseExpires(req.body.expires),
      })
      return ok(clientDto(client))
    },
  )

  app.delete(
    '/api/clients/:clientId',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a client; its token, temporary credentials and signed URLs stop working',
        params: ClientParams,
        response: { 200: OkNull },
      },
    },
    async (req) => {
      await clients.delete(req.params.clientId)
      return ok(null)
    },
  )

  app.post(
    '/api/clients/:clientId/reset',
    {
      schema: {
        tags: TAGS,
        summary:
          'A new access token (shown this once); the old one and everything signed with it stop working',
        params: ClientParams,
        response: { 200: Ok(ClientWithToken) },
      },
    },
    async (req) => {
      grantable(principalOf(req), (await clients.get(req.params.clientId)).scopes)
      const { client, accessToken } = await clients.resetToken(req.params.clientId)
      return ok({ ...clientDto(client), access_token: accessToken })
    },
  )

  for (const action of ['enable', 'disable'] as const) {
    app.post(
      `/api/clients/:clientId/${action}`,
      {
        schema: {
          tags: TAGS,
          summary:
            action === 'disable'
              ? 'Disable a client: its token, temporary credentials and signed URLs get 401 until enabled'
              : 'Enable a disabled client again',
          params: ClientParams,
          response: { 200: Ok(ClientView) },
        },
      },
      async (req) => {
        if (action === 'enable') grantable(principalOf(req), (await clients.get(req.params.clientId)).scopes)
        return ok(clientDto(await clients.setDisabled(req.params.clientId, action === 'disable')))
      },
    )
  }
}

function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('unauthorized', 'this call needs credentials')
  return req.principal
}

/** A caller may hand out only scopes it holds. */
function grantable(principal: Principal, scopes: readonly string[]): void {
  checkScopes(principal, { AllOf: [...scopes] })
}

function parseExpires(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null
  const ms = Date.parse(value)
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(value))
    throw new ApiError(
      'validation_failed',
      'body.expires must be an ISO-8601 time such as 2027-01-01T00:00:00Z',
      {
        field: 'body.expires',
      },
    )
  return ms
}
