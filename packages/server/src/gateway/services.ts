import type {
  CacheClient,
  DatabaseClient,
  EmailClient,
  FilesClient,
  RecordsClient,
  ServiceAccess,
  StorageClient,
} from '@edgeforge/sdk'

/**
 * A version's services, as the gateway holds them: ServiceAccess whose methods also take the id
 * of the request (or job) asking, so a failed call lands in the endpoint's log under that id.
 */
export interface VersionServices {
  database(name: string, requestId?: string): DatabaseClient
  cache(name: string, requestId?: string): CacheClient
  storage(name: string, requestId?: string): StorageClient
  files(name: string, requestId?: string): FilesClient
  email(name: string, requestId?: string): EmailClient
  records(name: string, collection: string, requestId?: string): RecordsClient
}

function unbound(method: string) {
  return (name: string): never => {
    throw new Error(
      `ctx.${method}("${name}"): this endpoint binds no services; bind one with POST /api/endpoints/{id}/services or \`edgeforge deploy --service ${name}=<service>\`, then deploy`,
    )
  }
}

/** What a version without bindings (or a server without services) answers to `ctx.database()`…. */
export const NO_SERVICES: VersionServices = {
  database: unbound('database'),
  cache: unbound('cache'),
  storage: unbound('storage'),
  files: unbound('files'),
  email: unbound('email'),
  records: unbound('records'),
}

/** The service methods of a handler's or job's ctx, delegating to its version's bindings. */
export function serviceMethods(
  version: { services: VersionServices | undefined },
  requestId: string,
): ServiceAccess {
  const of = () => version.services ?? NO_SERVICES
  return {
    database: (name) => of().database(name, requestId),
    cache: (name) => of().cache(name, requestId),
    storage: (name) => of().storage(name, requestId),
    files: (name) => of().files(name, requestId),
    email: (name) => of().email(name, requestId),
    records: (name, collection) => of().records(name, collection, requestId),
  }
}
