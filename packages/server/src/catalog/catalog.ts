import type {
  CollectionCreate,
  CollectionUpdate,
  DomainCreate,
  DomainUpdate,
  EndpointCreate,
  EndpointStatus,
  EndpointUpdate,
} from '@edgeforge/protocol'
import type { Page } from '../http/paging.ts'
import type { Db } from '../store/index.ts'
import * as collections from './collections.ts'
import * as domains from './domains.ts'
import * as endpoints from './endpoints.ts'
import {
  type CatalogContext,
  type CatalogHooks,
  type CollectionRecord,
  type DomainRecord,
  type EndpointDefaults,
  type EndpointFilter,
  type EndpointRecord,
  type EndpointStatePatch,
  type EndpointSummary,
  type PageRequest,
  type Route,
  routeOf,
} from './records.ts'

/** The limits of a new endpoint when neither the request nor the server's settings say otherwise. */
export const ENDPOINT_DEFAULTS: EndpointDefaults = {
  timeoutMs: 30_000,
  bodyLimitBytes: 1_048_576,
  drainTimeoutMs: 30_000,
}

/**
 * Domains, collections and endpoints as records: validation, CRUD, and what a change means for
 * routing. Every change is one transaction; a change that re-routes a running endpoint asks
 * `hooks.assertRouteFree` first (a conflict stores nothing), and every committed change of
 * routing — or deletion — is reported through `hooks.endpointsChanged` afterwards.
 *
 * Inputs are the wire DTOs (already shape-checked by the route schemas); the catalog adds the
 * checks a schema cannot express and throws `ApiError`s with stable codes and field names.
 *
 * @example
 * const catalog = new Catalog(db, { assertRouteFree: registry.assertFree, endpointsChanged: lifecycle.reroute })
 * const hello = await catalog.createEndpoint({ name: 'hello', path: '/hello', method: 'get', code })
 */
export class Catalog {
  private readonly ctx: CatalogContext

  constructor(db: Db, hooks: CatalogHooks, defaults: Partial<EndpointDefaults> = {}) {
    this.ctx = { db, hooks, defaults: { ...ENDPOINT_DEFAULTS, ...defaults } }
  }

  // Domains ------------------------------------------------------------------------------------

  /** 409 conflict when another domain has the host. */
  createDomain(input: DomainCreate): Promise<DomainRecord> {
    return domains.createDomain(this.ctx, input)
  }

  /** 404 not_found naming the id. */
  getDomain(id: string): Promise<DomainRecord> {
    return domains.loadDomain(this.ctx.db, id)
  }

  listDomains(page: PageRequest = {}): Promise<Page<DomainRecord>> {
    return domains.listDomains(this.ctx, page)
  }

  /** Only the given fields change; a new host moves the endpoints served on the old one with it. */
  updateDomain(id: string, patch: DomainUpdate): Promise<DomainRecord> {
    return domains.updateDomain(this.ctx, id, patch)
  }

  /** Also deletes its collections, their endpoints, and the endpoints served on its host. */
  deleteDomain(id: string): Promise<void> {
    return domains.deleteDomain(this.ctx, id)
  }

  // Collections --------------------------------------------------------------------------------

  /** 400 validation_failed (field body.domain_id) when the domain does not exist. */
  createCollection(input: CollectionCreate): Promise<CollectionRecord> {
    return collections.createCollection(this.ctx, input)
  }

  getCollection(id: string): Promise<CollectionRecord> {
    return collections.loadCollection(this.ctx.db, id)
  }

  listCollections(
    filter: { domainId?: string } = {},
    page: PageRequest = {},
  ): Promise<Page<CollectionRecord>> {
    return collections.listCollections(this.ctx, filter, page)
  }

  /** Only the given fields change; a new base_path must join validly with every member's path. */
  updateCollection(id: string, patch: CollectionUpdate): Promise<CollectionRecord> {
    return collections.updateCollection(this.ctx, id, patch)
  }

  /** Also deletes its endpoints. */
  deleteCollection(id: string): Promise<void> {
    return collections.deleteCollection(this.ctx, id)
  }

  // Endpoints ----------------------------------------------------------------------------------

  /** 409 conflict on a taken name; 400 validation_failed (field body.collection_id) on an unknown collection. */
  createEndpoint(input: EndpointCreate): Promise<EndpointRecord> {
    return endpoints.createEndpoint(this.ctx, input)
  }

  /** 404 not_found naming the id. */
  getEndpoint(id: string): Promise<EndpointRecord> {
    return endpoints.loadEndpoint(this.ctx.db, id)
  }

  /** NAME → value of its environment variables (ctx.env): for the deploy lifecycle only, never an answer. */
  endpointEnv(id: string): Promise<Record<string, string>> {
    return endpoints.endpointEnv(this.ctx.db, id)
  }

  findEndpointByName(name: string): Promise<EndpointRecord | undefined> {
    return endpoints.findEndpointByName(this.ctx, name)
  }

  /** Items carry `code` only with `filter.includeCode`. */
  listEndpoints(filter: EndpointFilter = {}, page: PageRequest = {}): Promise<Page<EndpointSummary>> {
    return endpoints.listEndpoints(this.ctx, filter, page)
  }

  /** How many endpoints exist and how many of each kind are recorded as running (for the stats route). */
  countEndpoints(): Promise<{ total: number; running: { http: number; job: number } }> {
    return endpoints.countEndpoints(this.ctx)
  }

  /** Every endpoint in that status, with code, ordered by id: what a restart brings back. */
  listEndpointsByStatus(status: EndpointStatus): Promise<EndpointRecord[]> {
    return endpoints.listEndpointsByStatus(this.ctx, status)
  }

  /**
   * Only the given fields change; `kind` cannot. When a running endpoint's route changes, the new
   * route must be free (409 conflict, nothing stored).
   */
  updateEndpoint(id: string, patch: EndpointUpdate): Promise<EndpointRecord> {
    return endpoints.updateEndpoint(this.ctx, id, patch)
  }

  deleteEndpoint(id: string): Promise<void> {
    return endpoints.deleteEndpoint(this.ctx, id)
  }

  /**
   * The deploy lifecycle's bookkeeping: status, versions, last error. `undefined` leaves a field
   * alone, `null` clears it. It neither calls the hooks nor touches `updatedAt`, which tracks
   * edits of the definition only.
   */
  setEndpointState(id: string, patch: EndpointStatePatch): Promise<EndpointRecord> {
    return endpoints.setEndpointState(this.ctx, id, patch)
  }

  /** Where the endpoint is served, or null (job kind; it, its collection or its domain disabled). */
  routeOf(endpoint: Omit<EndpointRecord, 'code'>): Route | null {
    return routeOf(endpoint)
  }
}
