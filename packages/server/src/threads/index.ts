export { type GatewayStats, type SupervisorOptions, ThreadSupervisor } from './supervisor.ts'
