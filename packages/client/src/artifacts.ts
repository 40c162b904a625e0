import { Core, type UploadBody } from './core.ts'
import { operations } from './operations.generated.ts'

/** The shapes of `@edgeforge/sdk`'s JobArtifacts, repeated so the client needs no SDK. */
export interface ArtifactInfo {
  jobId: string
  name: string
  size: number
  sha256: string
  contentType: string
  created: string
}
export interface JobArtifacts {
  put(
    name: string,
    body: UploadBody,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<ArtifactInfo>
}

/**
 * `ctx.artifacts` over the control plane's REST API: the in-process job runtime and the remote
 * worker agent both hand their jobs this, so artifacts travel the same way from wherever a job
 * runs. `credential()` is asked before each upload (a job-scoped temporary credential that the
 * server renews with the lease); undefined sends none (the open loopback control plane).
 *
 * @example
 * const artifacts = jobArtifacts({ url: 'http://127.0.0.1:9081', jobId, credential: () => token })
 * await artifacts.put('app.tgz', createReadStream('dist/app.tgz'), { contentType: 'application/gzip' })
 */
export function jobArtifacts(options: {
  url: string | (() => string)
  jobId: string
  credential: () => string | undefined
  fetch?: typeof fetch
}): JobArtifacts {
  return {
    async put(name, body, put = {}) {
      if (typeof name !== 'string')
        throw new TypeError('ctx.artifacts.put(name, body): name must be a string')
      const core = new Core({
        url: typeof options.url === 'function' ? options.url() : options.url,
        accessToken: options.credential(),
        fetch: options.fetch,
      })
      const stored = await operations(core).jobs.uploadArtifact(
        options.jobId,
        name,
        typeof body === 'string' ? new TextEncoder().encode(body) : body,
        { contentType: put.contentType, signal: put.signal },
      )
      return {
        jobId: stored.job_id,
        name: stored.name,
        size: stored.size,
        sha256: stored.sha256,
        contentType: stored.content_type,
        created: stored.created,
      }
    },
  }
}
