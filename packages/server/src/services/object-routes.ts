import { ApiError } from '@edgeforge/protocol'
import { isHandlerError, isServiceError, type Multipart, Request } from '@edgeforge/sdk'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { type App, ok } from '../http/index.ts'
import type { ServiceRuntime } from './runtime.ts'
import type { UrlSigner } from './signing.ts'

/*
 * The built-in object routes of every active storage service (the reference's
 * /api/minio/objects), under the service's name so several stores each have theirs:
 *
 *   GET    /api/storage/{service}/objects?prefix=&limit=&continuation_token=   list
 *   POST   /api/storage/{service}/objects        multipart: a `file` part, optional `key` field
 *   GET    /api/storage/{service}/objects/{key}  the object, with its content type and length
 *   DELETE /api/storage/{service}/objects/{key}
 *
 * They go through the service's actor like a handler's calls. A GET that carries a valid
 * `expires` + `signature` pair (a `filesystem` presignedUrl) is the same download.
 */

const TAGS = ['storage']
const ServiceParams = Type.Object(
  { service: Type.String({ minLength: 1, maxLength: 100, description: 'The storage service name' }) },
  { additionalProperties: false },
)
const KeyParams = Type.Object(
  {
    service: Type.String({ minLength: 1, maxLength: 100 }),
    '*': Type.String({ minLength: 1, maxLength: 1024, description: 'The object key (slashes allowed)' }),
  },
  { additionalProperties: false },
)
const ListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 1024, default: '' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
    continuation_token: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
)
const SignedQuery = Type.Object(
  { expires: Type.Optional(Type.Integer()), signature: Type.Optional(Type.String({ maxLength: 128 })) },
  { additionalProperties: false },
)

export function objectRoutes(app: App, runtime: ServiceRuntime, signer: UrlSigner): void {
  const call = async (service: string, op: string, args: unknown[]) => {
    const active = runtime.get(service)
    if (active?.kind.family !== 'storage')
      throw new ApiError(
        'not_found',
        `no active storage service named ${service} (GET /api/services lists them)`,
      )
    try {
      return await runtime.call({ service, family: 'storage', binding: service }, op, args)
    } catch (error) {
      throw toApiError(error)
    }
  }

  void app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>()
    // Uploads arrive as multipart/form-data; read whole (the body limit applies) and parsed below.
    scope.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    )

    scope.get(
      '/api/storage/:service/objects',
      {
        schema: {
          tags: TAGS,
          summary: "List a storage service's objects",
          params: ServiceParams,
          querystring: ListQuery,
        },
      },
      async (req) => {
        const { prefix = '', limit = 1000, continuation_token: token } = req.query
        const page = (await call(req.params.service, 'list', [prefix, limit, token ?? null])) as {
          objects: { key: string; size: number; lastModified: string | null }[]
          continuationToken: string | null
        }
        return ok({
          service: req.params.service,
          prefix,
          objects: page.objects.map((o) => ({ key: o.key, size: o.size, last_modified: o.lastModified })),
          continuation_token: page.continuationToken,
        })
      },
    )

    scope.post(
      '/api/storage/:service/objects',
      {
        schema: {
          tags: TAGS,
          summary: 'Upload an object (multipart: file, and key or the file name)',
          params: ServiceParams,
        },
      },
      async (req, reply) => {
        const type = req.headers['content-type'] ?? ''
        if (!type.startsWith('multipart/form-data') || !Buffer.isBuffer(req.body))
          throw new ApiError(
            'unsupported_media_type',
            'upload with multipart/form-data: a "file" part and an optional "key" field',
          )
        let form: Multipart
        try {
          // The SDK's parser, through a Request: the same rules as a handler's req.multipart().
          form = new Request({
            method: 'POST',
            path: req.url,
            rawQuery: '',
            headers: { 'content-type': type },
            params: {},
            body: req.body,
            clientIp: undefined,
            requestId: req.id,
          }).multipart()
        } catch (error) {
          throw new ApiError('bad_request', (error as Error).message)
        }
        const file = form.files.find((f) => f.fieldName === 'file') ?? form.files[0]
        if (!file) throw new ApiError('validation_failed', 'body.file is required', { field: 'body.file' })
        const key = form.fields.key || file.filename
        if (!key)
          throw new ApiError('validation_failed', 'body.key is required when the file has no name', {
            field: 'body.key',
          })
        await call(req.params.service, 'put', [key, file.data, file.contentType])
        return reply.code(201).send(
          ok({
            service: req.params.service,
            key,
            size: file.data.byteLength,
            content_type: file.contentType,
          }),
        )
      },
    )

    scope.get(
      '/api/storage/:service/objects/*',
      { schema: { tags: TAGS, summary: 'Download an object', params: KeyParams, querystring: SignedQuery } },
      async (req, reply) => {
        const key = req.params['*']
        const { expires, signature } = req.query
        if (signature !== undefined && !signer.verify(req.params.service, key, expires ?? 0, signature))
          throw new ApiError('forbidden', 'the signed URL is invalid or has expired')
        const object = (await call(req.params.service, 'get', [key])) as {
          body: Uint8Array
          contentType: string
        } | null
        if (!object) throw new ApiError('not_found', `no object ${key} in ${req.params.service}`)
        reply.header('content-type', object.contentType)
        reply.header('content-length', object.body.byteLength)
        return reply.send(Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength))
      },
    )

    scope.delete(
      '/api/storage/:service/objects/*',
      { schema: { tags: TAGS, summary: 'Delete an object', params: KeyParams } },
      async (req) => {
        const key = req.params['*']
        const deleted = (await call(req.params.service, 'delete', [key])) as boolean
        return ok({ service: req.params.service, key, deleted })
      },
    )
  })
}

function toApiError(error: unknown): unknown {
  if (isHandlerError(error)) {
    if (error.code === 'service_busy') return new ApiError('service_busy', error.message)
    if (error.code === 'service_timeout') return new ApiError('service_timeout', error.message)
    return new ApiError('service_unavailable', error.message)
  }
  if (error instanceof TypeError) return new ApiError('validation_failed', error.message)
  if (isServiceError(error) && error.code === 'not_found') return new ApiError('not_found', error.message)
  return error
}
