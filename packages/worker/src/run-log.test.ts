import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LogBudget, RunLog } from './run-log.ts'

const texts = (chunks: Array<{ offset: number; lines: Array<[number, string]> }>) =>
  chunks.flatMap((chunk) => chunk.lines.map((line, index) => `${chunk.offset + index}:${line[1]}`))

describe('an agent run log', () => {
  test('numbers lines from the server offset, sends each once, resends from the ack after a reconnect', () => {
    const log = new RunLog(10, new LogBudget(100))
    log.append('a')
    log.append('b')
    assert.deepEqual(texts(log.unsent('j', 1)), ['10:a', '11:b'])
    assert.deepEqual(log.unsent('j', 1), [], 'nothing is sent twice on one connection')
    log.append('c')
    log.ack(11)
    // The socket dropped; the server had stored up to offset 11 (exclusive).
    log.resumeFrom(11)
    assert.deepEqual(texts(log.unsent('j', 1)), ['11:b', '12:c'])
    log.ack(13)
    assert.equal(log.pending, 0)
  })

  test('past the budget, lines are dropped and counted, and the count is logged once there is room', () => {
    const budget = new LogBudget(3)
    const log = new RunLog(0, budget)
    for (const line of ['1', '2', '3', '4', '5']) log.append(line)
    assert.equal(budget.used, 3)
    assert.equal(log.droppedTotal, 2)
    assert.deepEqual(texts(log.unsent('j', 1)), ['0:1', '1:2', '2:3'])
    log.ack(3)
    assert.equal(budget.used, 0)
    log.append('6')
    assert.deepEqual(texts(log.unsent('j', 1)), [
      "3:… 2 log lines dropped: the agent's log buffer (3 lines) was full",
      '4:6',
    ])
  })

  test('many acknowledged lines are forgotten without losing the unacknowledged ones', () => {
    const log = new RunLog(0, new LogBudget(100_000))
    for (let index = 0; index < 20_000; index += 1) log.append(`l${index}`)
    log.unsent('j', 1)
    for (let offset = 1000; offset <= 19_000; offset += 1000) log.ack(offset)
    log.resumeFrom(19_000)
    const rest = texts(log.unsent('j', 1))
    assert.equal(rest.length, 1000)
    assert.equal(rest[0], '19000:l19000')
    assert.equal(rest[999], '19999:l19999')
  })
})
