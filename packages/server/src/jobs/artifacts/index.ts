// Job artifacts: main.ts builds an ArtifactService on a blob store (openArtifactBlobs) and
// registers artifactRoutes(app, service); the job runtime and the worker hub hand runs a
// job-scoped credential to upload with (credential.ts).

export { FilesystemBlobs } from './blob-fs.ts'
export { S3Blobs, type S3BlobsConfig } from './blob-s3.ts'
export { type BlobStore, BlobTooLarge } from './blobs.ts'
export { type ArtifactCredentials, artifactScopes } from './credential.ts'
export { artifactDto, artifactRoutes } from './routes.ts'
export { ArtifactService, type ArtifactServiceOptions } from './service.ts'
