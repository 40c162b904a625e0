import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { ApiError, servicesApi } from '@edgeforge/protocol'
import { isHandlerError, isServiceError } from '@edgeforge/sdk'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import busboy from 'busboy'
import { type App, declared, ok } from '../http/index.ts'
import type { ServiceRuntime } from './runtime.ts'
import type { ActiveService } from './service.ts'
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
 * `expires` + `signature` pair (a `filesystem` presignedUrl) is the same download. Uploads and
 * downloads stream: the object is never held whole (see the kinds' `streams`).
 */

/** The largest object one upload may carry (S3's limit for a single PutObject; multipart parts go past it, but a limit must exist). */
export const MAX_UPLOAD_BYTES = 5 * 2 ** 30

export function objectRoutes(app: App, runtime: ServiceRuntime, signer: UrlSigner): void {
  const storage = (service: string): ActiveService => {
    const active = runtime.get(service)
    if (active?.kind.family !== 'storage')
      throw new ApiError(
        'not_found',
        `no active storage service named ${service} (GET /api/services lists them)`,
      )
    return active
  }
  const call = async (service: string, op: string, args: unknown[]) => {
    storage(service)
    try {
      return await runtime.call({ service, family: 'storage', binding: service }, op, args)
    } catch (error) {
      throw toApiError(error)
    }
  }

  void app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>()
    // Uploads arrive as multipart/form-data: the handler reads the body as it streams in.
    scope.addContentTypeParser('multipart/form-data', (_req, payload, done) => done(null, payload))

    scope.route({
      ...declared(servicesApi.listObjects),
      handler: async (req) => {
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
    })

    scope.route({
      ...declared(servicesApi.uploadObject),
      handler: async (req, reply) => {
        const type = req.headers['content-type'] ?? ''
        if (!type.startsWith('multipart/form-data'))
          throw new ApiError(
            'unsupported_media_type',
            'upload with multipart/form-data: a "file" part and an optional "key" field',
          )
        const active = storage(req.params.service)
        const saved = await streamUpload(req.headers, req.body as unknown as Readable, active)
        return reply.code(201).send(ok({ service: req.params.service, ...saved }))
      },
    })

    scope.route({
      ...declared(servicesApi.getObject),
      handler: async (req, reply) => {
        const key = objectKeyOf(req.params)
        const { expires, signature } = req.query
        if (signature !== undefined && !signer.verify(req.params.service, key, expires ?? 0, signature))
          throw new ApiError('forbidden', 'the signed URL is invalid or has expired')
        const active = storage(req.params.service)
        const object = await active.download(key).catch((error: unknown) => {
          throw toApiError(error)
        })
        if (!object) throw new ApiError('not_found', `no object ${key} in ${req.params.service}`)
        reply.header('content-type', object.contentType)
        reply.header('content-length', object.size)
        // The declaration types the body as its OpenAPI schema (a string); the bytes stream out as they are.
        const body: unknown = object.body
        return reply.send(body as string)
      },
    })

    scope.route({
      ...declared(servicesApi.deleteObject),
      handler: async (req) => {
        const key = objectKeyOf(req.params)
        const deleted = (await call(req.params.service, 'delete', [key])) as boolean
        return ok({ service: req.params.service, key, deleted })
      },
    })
  })
}

/**
 * Reads a multipart body as it arrives and streams its file part into the service. A `key`
 * field, to be used, comes before the file part (the file's name is the key otherwise); parts
 * after the first file are skipped.
 */
function streamUpload(
  headers: IncomingHttpHeaders,
  body: Readable,
  active: ActiveService,
): Promise<{ key: string; size: number; content_type: string }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy
    try {
      parser = busboy({
        headers,
        limits: { files: 1, fileSize: MAX_UPLOAD_BYTES, fields: 16, fieldSize: 4096 },
      })
    } catch (error) {
      reject(new ApiError('bad_request', `the multipart body cannot be read: ${(error as Error).message}`))
      return
    }
    const fields: Record<string, string> = {}
    let upload: Promise<{ key: string; size: number; content_type: string }> | undefined
    let tooLarge = false
    let failed = false
    const fail = (error: unknown) => {
      if (failed) return
      failed = true
      // Nothing more is read into the parser; the rest of the body is discarded.
      body.unpipe(parser)
      body.resume()
      reject(
        tooLarge
          ? new ApiError('payload_too_large', `an object is at most ${MAX_UPLOAD_BYTES} bytes`)
          : toApiError(error),
      )
    }
    parser.on('field', (name, value) => {
      fields[name] = value
    })
    parser.on('file', (_name, file, info) => {
      if (upload || failed) {
        file.resume()
        return
      }
      const key = fields.key || info.filename
      if (!key) {
        file.resume()
        fail(
          new ApiError(
            'validation_failed',
            'body.key is required (before the file part) when the file has no name',
            {
              field: 'body.key',
            },
          ),
        )
        return
      }
      file.on('limit', () => {
        tooLarge = true
        file.destroy(new Error('the object is too large'))
      })
      const contentType = info.mimeType || 'application/octet-stream'
      upload = active
        .upload(key, file, contentType)
        .then(({ size }) => ({ key, size, content_type: contentType }))
      upload.catch(fail)
    })
    parser.on('error', (error: Error) =>
      fail(new ApiError('bad_request', `the multipart body is malformed: ${error.message}`)),
    )
    parser.on('close', () => {
      if (failed) return
      if (!upload) fail(new ApiError('validation_failed', 'body.file is required', { field: 'body.file' }))
      else upload.then(resolve, fail)
    })
    body.on('error', fail)
    body.pipe(parser)
  })
}

/** The object key: Fastify's `*` parameter, the rest of the path after /objects/. */
function objectKeyOf(params: unknown): string {
  const key = (params as Record<string, unknown>)['*']
  if (typeof key !== 'string' || key === '')
    throw new ApiError('validation_failed', 'params.key is required', { field: 'params.key' })
  return key
}

function toApiError(error: unknown): unknown {
  if (error instanceof ApiError) return error
  if (isHandlerError(error)) {
    if (error.code === 'service_busy') return new ApiError('service_busy', error.message)
    if (error.code === 'service_timeout') return new ApiError('service_timeout', error.message)
    return new ApiError('service_unavailable', error.message)
  }
  if (error instanceof TypeError) return new ApiError('validation_failed', error.message)
  if (isServiceError(error) && error.code === 'not_found') return new ApiError('not_found', error.message)
  return error
}
