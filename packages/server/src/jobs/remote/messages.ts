import type { AgentMessage, HelloMessage } from '@edgeforge/protocol'
import { QUEUE_NAME } from '../validate.ts'

/** Parses one text frame from an agent; a string says what is wrong with it. */
export function parseAgentMessage(text: string): AgentMessage | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'a frame is not JSON'
  }
  if (typeof value !== 'object' || value === null) return 'a message is a JSON object'
  const message = value as Record<string, unknown>
  switch (message.type) {
    case 'hello':
      return checkHello(message)
    case 'log':
      if (!isRun(message) || !isCount(message.offset) || !Array.isArray(message.lines))
        return 'log needs job_id, attempt, offset and lines'
      for (const line of message.lines)
        if (!Array.isArray(line) || typeof line[0] !== 'number' || typeof line[1] !== 'string')
          return 'a log line is [unix milliseconds, text]'
      return message as unknown as AgentMessage
    case 'progress':
      if (!isRun(message) || typeof message.fraction !== 'number')
        return 'progress needs job_id, attempt, fraction'
      return message as unknown as AgentMessage
    case 'finish':
      if (!isRun(message) || !['succeeded', 'failed', 'released'].includes(String(message.outcome)))
        return 'finish needs job_id, attempt and outcome succeeded | failed | released'
      return message as unknown as AgentMessage
    case 'draining':
      return { type: 'draining' }
    default:
      return `unknown message type ${JSON.stringify(message.type)}`
  }
}

function checkHello(message: Record<string, unknown>): HelloMessage | string {
  if (typeof message.protocol !== 'number') return 'hello needs protocol (a number)'
  if (typeof message.worker_id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(message.worker_id))
    return 'hello.worker_id is 1-128 letters, digits, dots, colons, dashes or underscores'
  if (!Array.isArray(message.queues) || message.queues.length === 0)
    return 'hello.queues lists at least one queue'
  for (const queue of message.queues)
    if (typeof queue !== 'string' || !QUEUE_NAME.test(queue))
      return `hello.queues: ${String(queue)} is not a queue name`
  if (
    !Number.isInteger(message.concurrency) ||
    (message.concurrency as number) < 1 ||
    (message.concurrency as number) > 1000
  )
    return 'hello.concurrency is a whole number from 1 to 1000'
  if (
    message.running !== undefined &&
    (!Array.isArray(message.running) ||
      !message.running.every((run) => isRun(run) && (run.input_seq === undefined || isCount(run.input_seq))))
  )
    return 'hello.running lists { job_id, attempt, input_seq }'
  return {
    type: 'hello',
    protocol: message.protocol,
    worker_id: message.worker_id,
    group: typeof message.group === 'string' ? message.group.slice(0, 128) : undefined,
    queues: [...new Set(message.queues as string[])],
    concurrency: message.concurrency as number,
    agent_version: typeof message.agent_version === 'string' ? message.agent_version.slice(0, 64) : 'unknown',
    running: (message.running as HelloMessage['running']) ?? [],
  }
}

function isRun(value: unknown): boolean {
  const run = value as { job_id?: unknown; attempt?: unknown }
  return typeof run === 'object' && run !== null && typeof run.job_id === 'string' && isCount(run.attempt)
}

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0
}
