import { jobArtifacts } from '@edgeforge/client'
import type { JobArtifacts } from '@edgeforge/sdk'

/** Where a job thread uploads a run's artifacts: the control plane's URL and the run's credential. */
export interface ArtifactAccess {
  url: string
  /** A temporary credential for this job's artifacts, or undefined on an open loopback control plane. */
  credential: string | undefined
}

/**
 * `ctx.artifacts` of a job running in a job thread. The bytes do not cross to the main thread: the
 * thread streams them over HTTP to the control plane's own `PUT /jobs/{id}/artifacts/{name}`,
 * like a remote agent does, with a credential it asks the main thread for before each upload
 * (`artifacts.access`: the credential expires with the lease, so a fresh one per put).
 */
export function threadArtifacts(
  jobId: string,
  access: (jobId: string) => Promise<ArtifactAccess>,
): JobArtifacts {
  return {
    async put(name, body, options) {
      const { url, credential } = await access(jobId)
      if (!url) throw new Error('ctx.artifacts: the control plane is not listening yet')
      return jobArtifacts({ url, jobId, credential: () => credential }).put(name, body, options)
    },
  }
}
