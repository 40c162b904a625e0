import { ApiError, authApi } from '@edgeforge/protocol'
import type { FastifyRequest } from 'fastify'
import { type App, declared, decodeToken, ok, okPage, toPage } from '../http/index.ts'
import type { Principal } from './authenticator.ts'
import type { ClientRecord, ClientStore } from './clients.ts'
import { checkScopes } from './guard.ts'

/*
 * The auth context's API: who am I (`/api/auth/current-scopes`) and the clients. A caller may only
 * give a client scopes it holds itself, and may only reset or re-enable a client whose scopes it
 * holds: otherwise `clients:create:*` alone would be a way to mint `*`.
 */

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
  app.route({
    ...declared(authApi.currentScopes),
    handler: async (req) => {
      const principal = principalOf(req)
      return ok({
        client_id: principal.clientId,
        scopes: [...principal.scopes],
        via: principal.via,
        expires: principal.expiresAt === null ? null : new Date(principal.expiresAt).toISOString(),
      })
    },
  })

  app.route({
    ...declared(authApi.listClients),
    handler: async (req) => {
      const limit = req.query.limit ?? 100
      const rows = await clients.list({
        limit: limit + 1,
        after: decodeToken(req.query.continuation_token),
        prefix: req.query.prefix,
      })
      const page = toPage(rows, limit, (row) => row.clientId)
      return okPage({ items: page.items.map(clientDto), continuation_token: page.continuation_token })
    },
  })

  app.route({
    ...declared(authApi.getClient),
    handler: async (req) => ok(clientDto(await clients.get(req.params.clientId))),
  })

  app.route({
    ...declared(authApi.createClient),
    handler: async (req, reply) => {
      const scopes = req.body.scopes ?? []
      grantable(principalOf(req), scopes)
      const { client, accessToken } = await clients.create(req.params.clientId, {
        description: req.body.description,
        scopes,
        expiresAt: parseExpires(req.body.expires),
      })
      return reply.code(201).send(ok({ ...clientDto(client), access_token: accessToken }))
    },
  })

  app.route({
    ...declared(authApi.updateClient),
    handler: async (req) => {
      if (req.body.scopes) grantable(principalOf(req), req.body.scopes)
      const client = await clients.update(req.params.clientId, {
        description: req.body.description,
        scopes: req.body.scopes,
        expiresAt: req.body.expires === undefined ? undefined : parseExpires(req.body.expires),
      })
      return ok(clientDto(client))
    },
  })

  app.route({
    ...declared(authApi.deleteClient),
    handler: async (req) => {
      await clients.delete(req.params.clientId)
      return ok(null)
    },
  })

  app.route({
    ...declared(authApi.resetClientToken),
    handler: async (req) => {
      grantable(principalOf(req), (await clients.get(req.params.clientId)).scopes)
      const { client, accessToken } = await clients.resetToken(req.params.clientId)
      return ok({ ...clientDto(client), access_token: accessToken })
    },
  })

  app.route({
    ...declared(authApi.enableClient),
    handler: async (req) => {
      grantable(principalOf(req), (await clients.get(req.params.clientId)).scopes)
      return ok(clientDto(await clients.setDisabled(req.params.clientId, false)))
    },
  })

  app.route({
    ...declared(authApi.disableClient),
    handler: async (req) => ok(clientDto(await clients.setDisabled(req.params.clientId, true))),
  })
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
