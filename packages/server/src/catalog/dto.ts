import type { Collection, Domain, Endpoint, EndpointListItem } from '@edgeforge/protocol'
import type { CollectionRecord, DomainRecord, EndpointRecord, EndpointSummary } from './records.ts'

/* Records → the management API's wire shapes: snake_case, ISO-8601 times. */

const iso = (ms: number) => new Date(ms).toISOString()

export function domainDto(domain: DomainRecord): Domain {
  return {
    id: domain.id,
    name: domain.name,
    host: domain.host,
    description: domain.description,
    enabled: domain.enabled,
    created_at: iso(domain.createdAt),
    updated_at: iso(domain.updatedAt),
  }
}

export function collectionDto(collection: CollectionRecord): Collection {
  return {
    id: collection.id,
    domain_id: collection.domainId,
    name: collection.name,
    description: collection.description,
    base_path: collection.basePath,
    enabled: collection.enabled,
    created_at: iso(collection.createdAt),
    updated_at: iso(collection.updatedAt),
  }
}

/** An endpoint in a list: `code` only when the record carries it. */
export function endpointListItemDto(endpoint: EndpointSummary): EndpointListItem {
  const dto: EndpointListItem = {
    id: endpoint.id,
    name: endpoint.name,
    kind: endpoint.kind,
    queue: endpoint.queue,
    path: endpoint.path,
    method: endpoint.method,
    domain: endpoint.domain,
    collection_id: endpoint.collectionId,
    description: endpoint.description,
    dependencies: endpoint.dependencies,
    enabled: endpoint.enabled,
    timeout_ms: endpoint.timeoutMs,
    body_limit_bytes: endpoint.bodyLimitBytes,
    drain_timeout_ms: endpoint.drainTimeoutMs,
    auth: endpoint.authScopes === null ? null : { scopes: endpoint.authScopes },
    env_set: endpoint.envNames,
    status: endpoint.status,
    running_version: endpoint.runningVersion,
    compiled_version: endpoint.compiledVersion,
    last_error: endpoint.lastError,
    full_path: endpoint.fullPath,
    created_at: iso(endpoint.createdAt),
    updated_at: iso(endpoint.updatedAt),
  }
  if (endpoint.code !== undefined) dto.code = endpoint.code
  return dto
}

export function endpointDto(endpoint: EndpointRecord): Endpoint {
  return { ...endpointListItemDto(endpoint), code: endpoint.code }
}
