/** The scopes of a run's artifact credential: its own job's artifacts, nothing else. */
export function artifactScopes(jobId: string): string[] {
  return [`artifacts:upload:${jobId}`, `artifacts:read:${jobId}`]
}

/**
 * Makes the temporary credential a running job uploads its artifacts with, for that job only,
 * expiring at `expiry` (the end of the lease it was made for); undefined when the server cannot
 * sign one (no admin token: the open loopback control plane needs none). main.ts supplies it
 * from the auth context, so jobs/ does not import auth/.
 */
export type ArtifactCredentials = (jobId: string, expiry: number) => string | undefined
