/**
 * `@edgeforge/sdk`: what edgeforge handler and job authors import.
 *
 * @example
 * import { handler, Response } from '@edgeforge/sdk'
 * export default handler(() => Response.ok({ hello: 'world' }))
 */
export type { ArtifactBody, ArtifactInfo, ArtifactPutOptions, JobArtifacts } from './artifacts.ts'
export type { CallerAuth, Context, EnqueuedJob, EnqueueOptions, JobsClient, Logger } from './context.ts'
export { HandlerError, type HandlerErrorOptions, isHandlerError } from './errors.ts'
export { type HandlerDefinition, type HandlerFunction, handler, isHandlerDefinition } from './handler.ts'
export {
  isJobDefinition,
  isUnrecoverableError,
  type JobContext,
  type JobDefinition,
  type JobFunction,
  job,
  UnrecoverableError,
} from './job.ts'
export { Multipart, type MultipartFile } from './multipart.ts'
export type { ParamType } from './params.ts'
export { Request, type RequestInit } from './request.ts'
export { Response } from './response.ts'
export {
  type CacheClient,
  type DatabaseClient,
  type EmailAttachment,
  type EmailClient,
  type EmailMessage,
  type ExecuteResult,
  type FileEntry,
  type FilesClient,
  isServiceError,
  type ObjectInfo,
  type RecordsClient,
  type Row,
  type ServiceAccess,
  ServiceError,
  type SqlParam,
  type SqlRunner,
  type StorageClient,
  type StoredObject,
  type StoredRecord,
  type StreamedObject,
} from './services.ts'
