export { AGENT_VERSION, Agent, type AgentOptions } from './agent.ts'
