export { Catalog, ENDPOINT_DEFAULTS } from './catalog.ts'
export { collectionDto, domainDto, endpointDto, endpointListItemDto } from './dto.ts'
export {
  basePathProblem,
  catchAllParam,
  joinPath,
  MAX_PATH_LENGTH,
  normalizeBasePath,
  pathParams,
  pathTemplateProblem,
  toRouterPath,
} from './path-template.ts'
export {
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
  sameRoute,
} from './records.ts'
export { catalogRoutes } from './routes.ts'
