// Hot swap under load (issue 2, "Proof expected"): keep requests flowing on loopback while an
// endpoint is redeployed 20 times, and check that no request fails, every answer comes from a
// version that was live while it ran, no client ever goes back to an older version, and requests
// in flight on the old version finish on it. With two handler threads (issue 10): every swap
// reaches both, and the probes that prove the drain ran on both. Not timed: nothing here asserts
// on speed.
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import { test } from 'node:test'
import { handlerSource, startTestServer, type TestServer } from './support/server.ts'
import { waitFor } from './support/wait.ts'

const SWAPS = 20
const CLIENTS = 32
/** Every PROBE_EVERY-th swap also runs a slow request that must finish on the version it started on. */
const PROBE_EVERY = 4
const PROBE_HOLD_MS = 600
/** Probes per probed swap, each on a new connection: the kernel spreads them over the threads. */
const PROBES_PER_SWAP = 4
const THREADS = 2
/** Hard stop for the load, whatever happens to the deploys. */
const LOAD_DEADLINE_MS = 30_000
const REQUEST_TIMEOUT_MS = 10_000
const MAX_REQUESTS_PER_CLIENT = 20_000

/**
 * Version `marker` of the handler: it answers `{ v: marker }` after 5–25 ms, so requests overlap
 * every swap; `?hold=ms` makes it log a line (so the test knows it is running) and hold that long.
 */
function versionSource(marker: number): string {
  return handlerSource(`import { threadId } from 'node:worker_threads'
export default handler(async (req) => {
  const hold = Number(req.queryParam('hold') ?? '0')
  if (hold > 0) console.log('probe holding', hold)
  await new Promise((resolve) => setTimeout(resolve, hold > 0 ? hold : 5 + Math.random() * 20))
  return Response.ok({ v: ${marker}, t: threadId })
})`)
}

interface Reply {
  status: number
  body: string
}

interface Sample {
  client: number
  seq: number
  sentAt: number
  receivedAt: number
  reply?: Reply
  error?: string
}

interface DeployReport {
  running_version: number
  swapped: boolean
  draining: Array<{ version: number; in_flight: number }>
  compile?: { reused: boolean }
}

interface Swap {
  marker: number
  startedAt: number
  returnedAt: number
  report: DeployReport
  probes?: { samples: Sample[]; previousVersion: number }
}

function get(
  url: URL,
  path: string,
  agent: Agent | false,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      )
      res.on('error', reject)
    })
    req.setTimeout(REQUEST_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)),
    )
    req.on('error', reject)
    req.end()
  })
}

async function timed(client: number, seq: number, send: () => Promise<Reply>): Promise<Sample> {
  const sentAt = performance.now()
  try {
    const reply = await send()
    return { client, seq, sentAt, receivedAt: performance.now(), reply }
  } catch (error) {
    return { client, seq, sentAt, receivedAt: performance.now(), error: (error as Error).message }
  }
}

/** The marker of a successful answer, or a description of what was wrong with it. */
function markerOf(sample: Sample): number | string {
  if (sample.error !== undefined) return `failed: ${sample.error}`
  const { status, body } = sample.reply!
  if (status !== 200) return `HTTP ${status}: ${body}`
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>
    const { v, t } = parsed
    const exact =
      Object.keys(parsed).length === 2 && Number.isInteger(v) && typeof v === 'number' && Number.isInteger(t)
    if (exact && v >= 0 && v <= SWAPS) return v
  } catch {
    // reported below
  }
  return `unexpected body: ${body}`
}

/** The handler thread that answered a successful sample. */
function threadOf(sample: Sample): number {
  return (JSON.parse(sample.reply!.body) as { t: number }).t
}

async function api<T>(srv: TestServer, method: string, path: string, body?: unknown): Promise<T> {
  const reply = await srv.api<T>(method, path, body)
  assert.ok(
    reply.status >= 200 && reply.status < 300,
    `${method} ${path}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`,
  )
  return reply.body.data
}

test('hot swap under load on 2 handler threads: 20 redeploys, no failed request, no step back, no request cut off', {
  timeout: 60_000,
}, async (t) => {
  const srv = await startTestServer(t, { 'gateway-threads': String(THREADS) })
  const gateway = new URL(srv.gatewayUrl)
  const endpoint = await api<{ id: string }>(srv, 'POST', '/api/endpoints', {
    name: 'swapped',
    path: '/swapped',
    method: 'GET',
    code: versionSource(0),
  })
  const first = await api<DeployReport>(srv, 'POST', `/api/endpoints/${endpoint.id}/deploy`)
  /** running_version of the version answering { v: marker }, by marker. */
  const versionOfMarker = [first.running_version]

  // The load: CLIENTS clients on keep-alive connections, each sending its next request as soon as
  // the previous one is answered, until the swaps are over (or the deadline).
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })
  t.after(() => agent.destroy())
  const samples: Sample[][] = Array.from({ length: CLIENTS }, () => [])
  let stopLoad = false
  const loadDeadline = Date.now() + LOAD_DEADLINE_MS
  const clients = samples.map(async (mine, client) => {
    for (let seq = 0; !stopLoad && Date.now() < loadDeadline && seq < MAX_REQUESTS_PER_CLIENT; seq += 1) {
      mine.push(await timed(client, seq, () => get(gateway, '/swapped', agent)))
    }
  })
  const everyClientAnswered = (after: number) =>
    samples.every((mine) => mine.some((sample) => sample.sentAt > after && sample.reply !== undefined))
  try {
    await waitFor('every client to get an answer from version 0', () => everyClientAnswered(0), 10_000)

    const swaps: Swap[] = []
    for (let marker = 1; marker <= SWAPS; marker += 1) {
      await api(srv, 'PUT', `/api/endpoints/${endpoint.id}`, { code: versionSource(marker) })
      let probes: Promise<Sample[]> | undefined
      if (marker % PROBE_EVERY === 0) {
        // Compile first (the slow part), start slow requests on the old version, each on a new
        // connection, and wait until their handlers run; then deploy, which only swaps.
        await api(srv, 'POST', `/api/endpoints/${endpoint.id}/compile`)
        const requestIds = Array.from({ length: PROBES_PER_SWAP }, (_, i) => `probe-${marker}-${i}`)
        probes = Promise.all(
          requestIds.map((requestId) =>
            timed(-1, marker, () =>
              get(gateway, `/swapped?hold=${PROBE_HOLD_MS}`, false, { 'x-request-id': requestId }),
            ),
          ),
        )
        await waitFor(
          `probes of swap ${marker} to be running`,
          async () => {
            const lines = await api<Array<{ request_id: string | null }>>(
              srv,
              'GET',
              `/api/endpoints/${endpoint.id}/logs?limit=100`,
            )
            return requestIds.every((id) => lines.some((line) => line.request_id === id))
          },
          10_000,
        )
      }
      const startedAt = performance.now()
      const report = await api<DeployReport>(srv, 'POST', `/api/endpoints/${endpoint.id}/deploy`)
      const returnedAt = performance.now()
      versionOfMarker.push(report.running_version)
      const swap: Swap = { marker, startedAt, returnedAt, report }
      if (probes) swap.probes = { samples: await probes, previousVersion: versionOfMarker[marker - 1] }
      swaps.push(swap)
    }
    // Let every client get at least one answer sent after the last swap returned.
    const lastReturned = swaps[swaps.length - 1].returnedAt
    await waitFor(
      'every client to get an answer after the last swap',
      () => everyClientAnswered(lastReturned),
      10_000,
    )
    stopLoad = true
    await Promise.all(clients)

    const all = samples.flat()
    t.diagnostic(`${all.length} requests by ${CLIENTS} clients across ${SWAPS} swaps`)

    // Zero failed requests, zero non-2xx, every body { v: k } with k in 0..20.
    const wrong = all
      .map((sample) => ({ sample, marker: markerOf(sample) }))
      .filter((x) => typeof x.marker === 'string')
    assert.deepEqual(
      wrong.slice(0, 5).map((x) => `client ${x.sample.client} #${x.sample.seq}: ${x.marker}`),
      [],
      `${wrong.length} of ${all.length} requests failed or answered wrongly`,
    )

    // Every swap swapped, to a newer version; probe swaps reused what /compile had built.
    for (const swap of swaps) {
      assert.equal(swap.report.swapped, true, `swap ${swap.marker} swapped`)
      assert.ok(
        swap.report.running_version > versionOfMarker[swap.marker - 1],
        `swap ${swap.marker} is newer`,
      )
      if (swap.probes)
        assert.equal(swap.report.compile?.reused, true, `swap ${swap.marker} reused the compile`)
    }

    // Each answer comes from a version that was live while the request ran: not older than the
    // last swap that returned before it was sent, not newer than the last swap begun before its
    // answer arrived.
    for (const sample of all) {
      const marker = markerOf(sample) as number
      const oldest = swaps.filter((swap) => swap.returnedAt < sample.sentAt).length
      const newest = swaps.filter((swap) => swap.startedAt < sample.receivedAt).length
      assert.ok(
        marker >= oldest && marker <= newest,
        `client ${sample.client} #${sample.seq} got v${marker}, live versions were v${oldest}..v${newest}`,
      )
    }

    // A client never sees an older version after a newer one. This must hold: its next request
    // is sent after the previous answer, so it is routed later, and a slot's current version only
    // moves forward (swaps run one at a time and install increasing versions).
    for (const mine of samples) {
      for (let i = 1; i < mine.length; i += 1) {
        const before = markerOf(mine[i - 1]) as number
        const now = markerOf(mine[i]) as number
        assert.ok(now >= before, `client ${mine[i].client} saw v${before} then v${now}`)
      }
    }
    const seen = new Set(all.map((sample) => markerOf(sample)))
    assert.ok(seen.has(0) && seen.has(SWAPS), 'the load saw the first and the last version')
    t.diagnostic(`the load saw ${seen.size} of ${SWAPS + 1} versions`)

    // The load reached every thread.
    const loadThreads = new Set(all.map(threadOf))
    assert.equal(loadThreads.size, THREADS, `the load was served by threads ${[...loadThreads]}`)

    // The probes: started on the old version, still running when the swap returned, finished on the
    // old version with a 200 — on whichever thread held them — and the deploy reported that old
    // version draining with every probe counted (summed over the threads).
    const probed = swaps.filter((swap) => swap.probes)
    assert.equal(probed.length, Math.floor(SWAPS / PROBE_EVERY))
    const probeThreads = new Set<number>()
    for (const swap of probed) {
      const { samples: probeSamples, previousVersion } = swap.probes!
      for (const sample of probeSamples) {
        assert.equal(
          markerOf(sample),
          swap.marker - 1,
          `probe of swap ${swap.marker} finished on the old version`,
        )
        assert.ok(
          sample.receivedAt > swap.returnedAt,
          `probe of swap ${swap.marker} was still in flight when the deploy returned (hold ${PROBE_HOLD_MS} ms)`,
        )
        probeThreads.add(threadOf(sample))
      }
      const old = swap.report.draining.find((entry) => entry.version === previousVersion)
      assert.ok(
        old && old.in_flight >= PROBES_PER_SWAP,
        `swap ${swap.marker} reports v${previousVersion} draining with its ${PROBES_PER_SWAP} probes: ${JSON.stringify(swap.report.draining)}`,
      )
    }
    // 20 probe connections all landing on one of two threads would be a 1-in-500,000 draw.
    assert.equal(
      probeThreads.size,
      THREADS,
      `probes finished on old versions in threads ${[...probeThreads]}`,
    )
    const drainingSwaps = swaps.filter((swap) => swap.report.draining.length > 0).length
    t.diagnostic(`${drainingSwaps} of ${SWAPS} deploys reported versions still draining`)

    // With no request left in flight, every old version has drained and been let go.
    await waitFor(
      'old versions to finish draining',
      async () => {
        const stats = await api<{ http_handlers: { draining: number; draining_requests: number } }>(
          srv,
          'GET',
          '/api/stats',
        )
        return stats.http_handlers.draining === 0 && stats.http_handlers.draining_requests === 0
      },
      10_000,
    )
  } finally {
    stopLoad = true
    await Promise.all(clients)
  }
})
