import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire, isBuiltin } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Script } from 'node:vm'
import type { Edgeforge } from '@edgeforge/client'
import type { HandlerRef } from '@edgeforge/protocol'
import type { JobFunction } from '@edgeforge/sdk'
import * as sdk from '@edgeforge/sdk'

const nodeRequire = createRequire(import.meta.url)

export interface HandlerLoaderOptions {
  /** The control plane, with the agent's credential: bundles come from `GET /workers/handlers/{endpoint}/{version}`. */
  client: Edgeforge
  cacheDir: string
  localFile?: string
}

/**
 * The job functions an agent runs: the queue's deployed version, fetched once per version from
 * the server, checked against its SHA-256 and cached on disk under that hash (so a restart or a
 * second agent on the machine does not fetch it again) — or one local file (`--handler`).
 */
export class HandlerLoader {
  private readonly loaded = new Map<string, Promise<JobFunction>>()
  private readonly options: HandlerLoaderOptions

  constructor(options: HandlerLoaderOptions) {
    this.options = options
  }

  /** The function to run for a job pushed with `ref` (ignored with --handler). */
  functionFor(ref: HandlerRef | null, queue: string): Promise<JobFunction> {
    const local = this.options.localFile
    const key = local ? `file:${local}` : ref ? ref.sha256 : ''
    if (!key) return Promise.reject(new Error(`no job handler is deployed for queue ${queue}`))
    let loading = this.loaded.get(key)
    if (!loading) {
      loading = local ? loadLocal(local) : this.loadDeployed(ref as HandlerRef)
      // A failed load is tried again by the next job, not remembered.
      loading.catch(() => this.loaded.delete(key))
      this.loaded.set(key, loading)
    }
    return loading
  }

  private async loadDeployed(ref: HandlerRef): Promise<JobFunction> {
    const file = join(this.options.cacheDir, `${ref.sha256}.js`)
    let code = await readFile(file, 'utf8').catch(() => undefined)
    if (code === undefined || sha256(code) !== ref.sha256) {
      try {
        code = (await this.options.client.workers.getHandler(ref.endpoint_id, String(ref.version))).data
      } catch (error) {
        throw new Error(
          `fetching ${ref.endpoint_name} v${ref.version}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        )
      }
      if (typeof code !== 'string')
        throw new Error(
          `fetching ${ref.endpoint_name} v${ref.version}: the server answered JSON, not a bundle`,
        )
      const got = sha256(code)
      if (got !== ref.sha256)
        throw new Error(
          `${ref.endpoint_name} v${ref.version}: the bundle's SHA-256 is ${got}, the server announced ${ref.sha256}`,
        )
      await mkdir(this.options.cacheDir, { recursive: true })
      const partial = `${file}.${process.pid}.tmp`
      await writeFile(partial, code)
      await rename(partial, file)
    }
    return evaluate(code, `edgeforge:${ref.endpoint_name}@v${ref.version}.js`)
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function functionOf(definition: unknown, where: string): JobFunction {
  if (!sdk.isJobDefinition(definition))
    throw new Error(`${where} must \`export default job(async (payload, ctx) => …)\` from '@edgeforge/sdk'`)
  return definition.fn
}

async function loadLocal(file: string): Promise<JobFunction> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown }
  return functionOf(mod.default, file)
}

/** Evaluates a CommonJS bundle the way the gateway does, handing it this agent's SDK. */
function evaluate(code: string, filename: string): JobFunction {
  const bundleRequire = (id: string): unknown => {
    if (id === '@edgeforge/sdk') return sdk
    if (isBuiltin(id)) return nodeRequire(id)
    throw new Error(
      `Cannot require "${id}" in ${filename}: a bundle gets only @edgeforge/sdk and node builtins`,
    )
  }
  const module: { exports: Record<string, unknown> } = { exports: {} }
  const wrapper = new Script(`(function (exports, require, module, console) {\n${code}\n})`, {
    filename,
  }).runInThisContext() as (...args: unknown[]) => void
  wrapper.call(module.exports, module.exports, bundleRequire, module, console)
  const exported = module.exports
  return functionOf(Object.hasOwn(exported, 'default') ? exported.default : exported, filename)
}
