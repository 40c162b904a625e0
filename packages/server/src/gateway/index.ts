export {
  Dispatcher,
  type DispatcherOptions,
  type EndpointGuard,
  type GateVerdict,
  type RequestMetrics,
  requestScope,
} from './dispatch.ts'
export { GatewayListener } from './listener.ts'
export {
  type DrainReport,
  type EndpointLimits,
  type EndpointSlot,
  HandlerRegistry,
  HandlerVersion,
  type Route,
  type SwapResult,
} from './registry.ts'
export { RouterSnapshot } from './router.ts'
export { NO_SERVICES, serviceMethods, type VersionServices } from './services.ts'
