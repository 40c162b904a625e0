import { type Static, Type } from 'typebox'

/*
 * Job artifacts on the wire: files a job run uploads (`PUT /jobs/{id}/artifacts/{name}`) and
 * anyone with read access downloads. Names are checked by `artifactNameProblem`, here so the
 * server, the client and the agent refuse the same names.
 */

/**
 * Longest artifact name, in characters: the control plane's router reads path parameters up to
 * 100 characters and answers a longer one 414 `uri_too_long` before any route runs.
 */
export const MAX_ARTIFACT_NAME = 100

/**
 * Why `name` cannot be an artifact name, or undefined when it can: 1–100 printable characters,
 * no `/` or `\` (names are flat, never paths), not `.` or `..`, no control characters.
 */
export function artifactNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'an artifact name must not be empty'
  if (name.length > MAX_ARTIFACT_NAME)
    return `an artifact name is at most ${MAX_ARTIFACT_NAME} characters, this one has ${name.length}`
  if (name === '.' || name === '..') return `"${name}" is not an artifact name`
  if (name.includes('/') || name.includes('\\'))
    return 'an artifact name is one flat name: no "/" or "\\" (use app-linux.tgz, not dist/app.tgz)'
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'an artifact name must not hold control characters'
  return undefined
}

export const JobArtifactParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, description: 'Job id' }),
    name: Type.String({
      minLength: 1,
      maxLength: MAX_ARTIFACT_NAME,
      description: 'Artifact name: 1-100 characters, no "/", "\\", control characters, "." or ".."',
    }),
  },
  { additionalProperties: false },
)

export const JobArtifact = Type.Object({
  job_id: Type.String(),
  name: Type.String(),
  size: Type.Integer({ minimum: 0, description: 'Bytes' }),
  sha256: Type.String({ description: 'SHA-256 of the bytes, hex; also the download etag' }),
  content_type: Type.String(),
  created: Type.String({ format: 'date-time', description: 'When this upload completed' }),
  downloads: Type.Integer({
    minimum: 0,
    description: 'Downloads counted so far (buffered: at most one flush interval behind)',
  }),
})
export type JobArtifactDto = Static<typeof JobArtifact>
