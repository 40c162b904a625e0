import { Type } from 'typebox'
import { JobArtifact, JobArtifactParams } from '../artifacts.ts'
import { declare } from './declare.ts'
import { Ok } from './envelope.ts'
import { JobParams } from './jobs.ts'

/*
 * Job artifacts: uploaded by a run with its job-scoped temporary credential, listed and
 * downloaded by whoever may read the job (or holds `artifacts:read:<id>`). The download is a
 * GET, so a signed URL (`?ef_sig=`) works for it without a header.
 */

const context = 'jobs' as const
const stability = 'experimental' as const

const readScopes = { AnyOf: ['artifacts:read:<id>', 'jobs:read:<queue>'] }

export const artifactsApi = {
  uploadJobArtifact: declare({
    name: 'uploadJobArtifact',
    client: { group: 'jobs', method: 'uploadArtifact' },
    context,
    method: 'PUT',
    path: '/jobs/{id}/artifacts/{name}',
    summary: 'Upload an artifact of a job (the raw body, streamed; its content-type is kept)',
    description:
      'The body is stored as it arrives, hashed (SHA-256) on the way, never held whole in memory. A second upload of a name replaces the first once it is complete. Over EDGEFORGE_ARTIFACT_MAX_BYTES is a 413 and nothing is kept; so is nothing of an upload the client aborted.',
    params: JobArtifactParams,
    consumes: 'application/octet-stream',
    responses: { 201: Ok(JobArtifact) },
    errors: ['not_found', 'conflict', 'payload_too_large', 'service_unavailable'],
    scopes: 'artifacts:upload:<id>',
    stability,
  }),
  listJobArtifacts: declare({
    name: 'listJobArtifacts',
    client: { group: 'jobs', method: 'listArtifacts' },
    context,
    method: 'GET',
    path: '/jobs/{id}/artifacts',
    summary: "A job's artifacts: name, size, sha256, content type, created, downloads",
    params: JobParams,
    responses: { 200: Ok(Type.Array(JobArtifact)) },
    errors: ['not_found', 'conflict'],
    scopes: readScopes,
    stability,
  }),
  getJobArtifact: declare({
    name: 'getJobArtifact',
    client: { group: 'jobs', method: 'getArtifact' },
    context,
    method: 'GET',
    path: '/jobs/{id}/artifacts/{name}',
    summary: 'Download an artifact (streamed; etag, Range, If-None-Match)',
    description:
      'Answers the bytes with `etag` (the SHA-256 in quotes), `content-length`, `content-type` and `accept-ranges: bytes`. `Range: bytes=a-b` (one range) answers 206 with `content-range`; a range past the end 416. `If-None-Match` with the etag answers 304.',
    params: JobArtifactParams,
    produces: 'application/octet-stream',
    responses: {
      200: Type.String({ description: "The artifact's bytes, with its own content-type" }),
      206: Type.String({ description: 'The requested byte range' }),
    },
    errors: ['not_found', 'conflict', 'range_not_satisfiable', 'service_unavailable'],
    scopes: readScopes,
    stability,
  }),
}
