import assert from 'node:assert/strict'
import type { Pools } from './control-fuzz.ts'

/*
 * Records that exist before a fuzz run, and a snapshot of them to compare after it: the run may
 * read them and send them invalid input, and must leave every one of them as it was.
 */

type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; data: unknown }>

export interface Seeded {
  pools: Pools
  snapshot(): Promise<unknown>
}

export async function seedControlPlane(controlUrl: string, gatewayUrl: string): Promise<Seeded> {
  const call: Call = async (method, path, body) => {
    const response = await fetch(controlUrl + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const json = (await response.json()) as { data: unknown }
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`)
    return { status: response.status, data: json.data }
  }
  const id = (reply: { data: unknown }) => (reply.data as { id: string }).id
  const domain = id(
    await call('POST', '/api/domains', {
      name: 'kept-domain',
      host: 'kept.example.test',
      description: 'before the run',
    }),
  )
  const collection = id(
    await call('POST', '/api/collections', {
      domain_id: domain,
      name: 'kept-collection',
      base_path: '/kept',
    }),
  )
  const endpoint = id(
    await call('POST', '/api/endpoints', {
      name: 'kept-endpoint',
      path: '/kept-hello',
      method: 'GET',
      code: "import { handler, Response } from '@edgeforge/sdk'\nexport default handler(() => Response.text(200, 'still here'))\n",
    }),
  )
  await call('POST', `/api/endpoints/${endpoint}/deploy`)
  const job = (
    (
      await call('POST', '/jobs', {
        queue: 'kept-queue',
        payload: { keep: true },
        run_at: '2999-01-01T00:00:00Z',
      })
    ).data as { job: { id: string } }
  ).job.id
  await call('POST', '/cron', {
    name: 'kept-cron',
    cron: '0 0 1 1 *',
    queue: 'kept-cron-queue',
    payload: { keep: 1 },
  })

  const snapshot = async () => ({
    domain: (await call('GET', `/api/domains/${domain}`)).data,
    collection: (await call('GET', `/api/collections/${collection}`)).data,
    endpoint: (await call('GET', `/api/endpoints/${endpoint}`)).data,
    job: (await call('GET', `/jobs/${job}`)).data,
    cron: (await call('GET', '/cron/kept-cron')).data,
    served: await (await fetch(`${gatewayUrl}/kept-hello`)).text(),
  })
  return {
    pools: {
      domainIds: [domain],
      collectionIds: [collection],
      endpointIds: [endpoint],
      jobIds: [job],
      queueNames: ['kept-queue', 'kept-cron-queue'],
      cronNames: ['kept-cron'],
    },
    snapshot,
  }
}
