import { ApiError, artifactsApi, type JobArtifactDto } from '@edgeforge/protocol'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { type App, declared, ok } from '../../http/index.ts'
import { BlobMissing } from './blobs.ts'
import { matchesEtag, parseRange } from './ranges.ts'
import type { ArtifactRecord } from './rows.ts'
import type { ArtifactService } from './service.ts'

/*
 * PUT/GET /jobs/{id}/artifacts/{name} and GET /jobs/{id}/artifacts. The upload route lives in
 * a scope of its own whose only body parser hands the request stream on unread, so the body
 * goes from the socket to the blob store a chunk at a time (the control plane's 16 MiB body
 * limit does not apply; EDGEFORGE_ARTIFACT_MAX_BYTES does). Credentials were checked by then:
 * the auth hook runs on onRequest, before any byte of the body is read.
 */

export function artifactRoutes(app: App, artifacts: ArtifactService): void {
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>()
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined))

    scope.route({
      ...declared(artifactsApi.uploadJobArtifact),
      handler: async (req, reply) => {
        const length = req.headers['content-length']
        const contentType = req.headers['content-type']?.trim() || 'application/octet-stream'
        let artifact: ArtifactRecord
        try {
          artifact = await artifacts.upload(
            req.params.id,
            req.params.name,
            req.raw,
            contentType,
            length === undefined ? undefined : Number(length),
          )
        } catch (error) {
          // The rest of a refused body is not read: close the connection after the answer.
          if (!req.raw.readableEnded) reply.header('connection', 'close')
          throw error
        }
        return reply.code(201).send(ok(artifactDto(artifact)))
      },
    })
  })

  app.route({
    ...declared(artifactsApi.listJobArtifacts),
    handler: async (req) => ok((await artifacts.list(req.params.id)).map(artifactDto)),
  })

  app.route({
    ...declared(artifactsApi.getJobArtifact),
    handler: async (req, reply) => {
      const artifact = await artifacts.find(req.params.id, req.params.name)
      const etag = `"${artifact.sha256}"`
      reply.header('etag', etag)
      reply.header('accept-ranges', 'bytes')
      reply.header('cache-control', 'private, no-cache')
      // Not a declared response (those are the successes): an empty 304, as HTTP caches expect.
      if (matchesEtag(req.headers['if-none-match'], etag))
        return reply.code(304 as 200).send(null as unknown as string)
      const range = parseRange(req.headers.range, artifact.size)
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${artifact.size}`)
        throw new ApiError(
          'range_not_satisfiable',
          `the range ${req.headers.range} is outside the artifact's ${artifact.size} bytes`,
          { size: artifact.size },
        )
      }
      let body: unknown
      try {
        body = await artifacts.read(artifact, range)
      } catch (error) {
        if (error instanceof BlobMissing)
          throw new ApiError('not_found', `the bytes of artifact ${artifact.name} are gone from the store`)
        throw error
      }
      reply.header('content-type', artifact.contentType)
      if (range) {
        reply.code(206)
        reply.header('content-range', `bytes ${range.start}-${range.end}/${artifact.size}`)
        reply.header('content-length', range.end - range.start + 1)
      } else reply.header('content-length', artifact.size)
      // The declaration types the body as its OpenAPI schema (a string); a stream goes out as is.
      return reply.send(body as string)
    },
  })
}

export function artifactDto(artifact: ArtifactRecord): JobArtifactDto {
  return {
    job_id: artifact.jobId,
    name: artifact.name,
    size: artifact.size,
    sha256: artifact.sha256,
    content_type: artifact.contentType,
    created: new Date(artifact.createdAt).toISOString(),
    downloads: artifact.downloads,
  }
}
