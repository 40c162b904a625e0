// The peer of bench:services: a bare node:http server doing what the edgeforge handlers do —
// `SELECT 1` on PostgreSQL with pg, `GET` on Redis with ioredis — with the same client libraries
// and the same pool size, and the same JSON answers. Runs as a child process of bench/services.ts.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import pg from 'pg'
import { ready, stopOnRequest } from '../support/child.ts'

const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 10)
const database = process.env.BENCH_PG_DATABASE ?? 'postgres'
const db = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database, max: poolSize })
// As many Redis connections as edgeforge's pool, used in turn.
const redis = Array.from({ length: poolSize }, () => new Redis({ host: '127.0.0.1', port: 6379 }))
let next = 0

const json = { 'content-type': 'application/json; charset=utf-8' }
const server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, (req, res) => {
  if (req.url === '/db') {
    db.query('SELECT 1 AS one').then(
      (result) => {
        const body = JSON.stringify({ one: result.rows[0].one })
        res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(body) }).end(body)
      },
      () => res.writeHead(500).end(),
    )
  } else if (req.url === '/cache') {
    const client = redis[next]
    next = (next + 1) % redis.length
    client.get('bench:key').then(
      (value) => {
        const body = JSON.stringify({ value })
        res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(body) }).end(body)
      },
      () => res.writeHead(500).end(),
    )
  } else res.writeHead(404).end()
})

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  ready({ url: `http://127.0.0.1:${port}` })
})

stopOnRequest(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await db.end()
  for (const client of redis) client.disconnect()
})
