/**
 * The types the deploy context's modules share: what the lifecycle reads of an endpoint, the ports
 * it is given, and the reports it returns. They live here, not in lifecycle.ts, so placement.ts,
 * version.ts and routes.ts need not import the lifecycle (which imports them).
 */
import type { EndpointStatus } from '@edgeforge/protocol'
import type { Diagnostic } from '../compiler/index.ts'
import type { DrainReport, EndpointLimits, Route, SwapResult } from '../gateway/index.ts'

export type { EndpointStatus }

/** What the lifecycle reads of an endpoint record. */
export interface LifecycleEndpoint {
  id: string
  name: string
  kind: 'http' | 'job'
  queue: string | null
  code: string
  dependencies: Record<string, string>
  status: EndpointStatus
  runningVersion: number | null
  compiledVersion: number | null
  /** Enabled, and so are its collection and domain. */
  active: boolean
  /** Stopped by a disable while running: being enabled again puts `runningVersion` back. */
  resumeOnEnable: boolean
  limits: EndpointLimits
  /** Service bindings: the name a handler uses → the service's name. */
  services: Record<string, string>
  /** Its environment variables and secrets (NAME → value): the handler's ctx.env. Never logged. */
  env: Record<string, string>
}

/** The catalog as the lifecycle needs it; main adapts the real catalog to this. */
export interface CatalogPort {
  getEndpoint(id: string): Promise<LifecycleEndpoint>
  /** Null when the endpoint is not routable (a job, or it, its collection or its domain is disabled). */
  routeOf(id: string): Promise<Route | null>
  listRunning(): Promise<LifecycleEndpoint[]>
  setState(
    id: string,
    patch: {
      status?: EndpointStatus
      runningVersion?: number | null
      compiledVersion?: number | null
      lastError?: string | null
      resumeOnEnable?: boolean
    },
  ): Promise<void>
}

/**
 * An HTTP endpoint's version as the main thread holds it: the artifact, never the evaluated code.
 * The handler threads load it (threads/).
 */
export interface HttpVersion {
  endpointId: string
  endpointName: string
  version: number
  bundle: string
  sourceMap: string
  /** The endpoint's service bindings (the name a handler uses → the service) it was loaded with. */
  bindings: Record<string, string>
  /** The endpoint's environment (ctx.env) this instance was made with. */
  env: Record<string, string>
  /** Tells bindings and environment apart from another instance's (see lifecycle.ts `setupKey`). */
  bindingKey: string
}

/**
 * A job endpoint's version as the main thread holds it: the same artifact as an HTTP version's.
 * The job threads load it (jobs/local/job-thread.ts).
 */
export type JobVersion = HttpVersion

/** Where HTTP versions are served: the handler threads' supervisor. */
export interface GatewayPort {
  /** What is served for an endpoint; undefined when it is not served. */
  get(
    endpointId: string,
  ): { route: Route; version: number; endpointName: string; bindingKey: string } | undefined
  ids(): string[]
  /** Loads the version once, off the main thread, and drops it; throws with why it cannot load. */
  validate(version: HttpVersion): Promise<void>
  /** Resolves once every handler thread serves `version`. */
  install(endpointId: string, route: Route, limits: EndpointLimits, version: HttpVersion): Promise<SwapResult>
  remove(endpointId: string): Promise<SwapResult>
  update(endpointId: string, route: Route, limits: EndpointLimits): Promise<void>
  quarantine(endpointId: string): Promise<void>
  drainingOf(endpointId: string): Promise<DrainReport[]>
}

/** Where job versions go; the job runtime fills this in. */
export interface JobHandlerPort {
  /** Loads the version once in a job thread and drops it; throws with why it cannot load. */
  validate(version: JobVersion): Promise<void>
  install(endpoint: LifecycleEndpoint, version: JobVersion): DrainReport[]
  remove(endpointId: string): DrainReport[]
  drainingOf(endpointId: string): DrainReport[]
  /** The queue an installed job endpoint serves; undefined when it is not installed. */
  queueOf(endpointId: string): string | undefined
  current(endpointId: string): JobVersion | undefined
  /** The ids of the job endpoints installed here. */
  installed(): Iterable<string>
}

export interface CompileReport {
  endpoint_id: string
  status: EndpointStatus
  compiled_version: number
  reused: boolean
  diagnostics: Diagnostic[]
  timings_ms?: { install: number; type_check: number; bundle: number }
}

export interface RunReport {
  endpoint_id: string
  status: EndpointStatus
  running_version: number | null
  swapped: boolean
  /** Old versions still finishing requests when the call returned. */
  draining: DrainReport[]
  compile?: CompileReport
}
