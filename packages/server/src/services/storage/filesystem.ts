import { createWriteStream } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ACTOR_FIELDS, type ServiceKind, str } from '../kind.ts'
import { expirySeconds, listArgs, objectBody, objectKey } from './keys.ts'

interface Root {
  service: string
  objects: string
  meta: string
  signUrl(key: string, seconds: number): string
}

/** Longest encoded file name we write; most file systems stop at 255 bytes. */
const MAX_NAME = 240

/**
 * `filesystem`: objects under `<data dir>/services/storage/<root>/`. Keys are stored flat,
 * percent-encoded, one file each (so `a` and `a/b` can both exist, and no key can reach outside
 * the folder); the content type sits beside it in `meta/`. Writes go to a temporary file first
 * and are renamed into place, so a reader never sees half an object.
 */
export const filesystemKind: ServiceKind<Root> = {
  type: 'filesystem',
  family: 'storage',
  defaultPoolSize: 8,
  fields: [
    {
      name: 'root',
      type: 'string',
      help: 'Folder name under <data dir>/services/storage/ (letters, digits, . _ -); the service name by default',
    },
    ...ACTOR_FIELDS,
  ],
  connector(service, config, env) {
    const rootName = str(config, 'root') || service
    if (!/^[A-Za-z0-9._-]+$/.test(rootName) || rootName === '.' || rootName === '..')
      throw new RangeError('root must be a plain folder name (letters, digits, . _ -)')
    const base = join(env.dataDir, 'services', 'storage', rootName)
    const root: Root = {
      service,
      objects: join(base, 'objects'),
      meta: join(base, 'meta'),
      signUrl: (key, seconds) => env.signUrl(service, key, seconds),
    }
    return {
      async connect() {
        await mkdir(root.objects, { recursive: true })
        await mkdir(root.meta, { recursive: true })
        return root
      },
      async close() {},
      isConnectionError: () => false,
    }
  },
  operations: {
    async put(root, [key, body, contentType]) {
      const name = fileName(objectKey(key))
      const temp = tempName(root)
      await writeFile(temp, objectBody(body))
      await writeFile(
        join(root.meta, name),
        typeof contentType === 'string' ? contentType : 'application/octet-stream',
      )
      await rename(temp, join(root.objects, name))
    },
    async get(root, [key]) {
      const name = fileName(objectKey(key))
      const body = await readFile(join(root.objects, name)).catch(missing)
      if (body === null) return null
      return { body: new Uint8Array(body), contentType: await contentTypeOf(root, name), size: body.length }
    },
    async head(root, [key]) {
      const name = fileName(objectKey(key))
      const info = await stat(join(root.objects, name)).catch(missing)
      if (info === null) return null
      return { contentType: await contentTypeOf(root, name), size: info.size }
    },
    async list(root, args) {
      const { prefix, limit, token } = listArgs(args)
      const names = await readdir(root.objects)
      const keys = names
        .filter((n) => !n.startsWith('.tmp-'))
        .map(decodeURIComponent)
        .filter((k) => k.startsWith(prefix) && (token === null || k > token))
        .sort()
      const page = keys.slice(0, limit)
      const objects = await Promise.all(
        page.map(async (key) => {
          const info = await stat(join(root.objects, fileName(key))).catch(missing)
          return { key, size: info?.size ?? 0, lastModified: info ? info.mtime.toISOString() : null }
        }),
      )
      return { objects, continuationToken: keys.length > limit ? (page.at(-1) ?? null) : null }
    },
    async delete(root, [key]) {
      const name = fileName(objectKey(key))
      const existed = (await stat(join(root.objects, name)).catch(missing)) !== null
      await rm(join(root.objects, name), { force: true })
      await rm(join(root.meta, name), { force: true })
      return existed
    },
    async presignedUrl(root, [key, seconds]) {
      return root.signUrl(objectKey(key), expirySeconds(seconds))
    },
  },
  streams: {
    async write(root, key, source, contentType) {
      const name = fileName(objectKey(key))
      const temp = tempName(root)
      let size = 0
      source.on('data', (chunk: Buffer) => {
        size += chunk.byteLength
      })
      try {
        await pipeline(source, createWriteStream(temp))
        await writeFile(join(root.meta, name), contentType)
        await rename(temp, join(root.objects, name))
      } catch (error) {
        await rm(temp, { force: true })
        throw error
      }
      return { size }
    },
    async read(root, key) {
      const name = fileName(objectKey(key))
      // Opened before it is measured: a rename that replaces the object meanwhile leaves this reader on the old one, whole.
      const handle = await open(join(root.objects, name), 'r').catch(missing)
      if (handle === null) return null
      try {
        const { size } = await handle.stat()
        return { body: handle.createReadStream(), contentType: await contentTypeOf(root, name), size }
      } catch (error) {
        await handle.close()
        throw error
      }
    },
  },
  async ping(root) {
    await stat(root.objects)
  },
}

function tempName(root: Root): string {
  return join(root.objects, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`)
}

function fileName(key: string): string {
  // encodeURIComponent leaves "." alone, and objectKey already refused "." and ".." segments,
  // but a whole key of "." is one segment, so it never reaches here.
  const name = encodeURIComponent(key)
  if (name.length > MAX_NAME)
    throw new TypeError(`object key "${key.slice(0, 40)}…" is too long for filesystem storage`)
  return name
}

async function contentTypeOf(root: Root, name: string): Promise<string> {
  return (await readFile(join(root.meta, name), 'utf8').catch(missing)) ?? 'application/octet-stream'
}

function missing(error: NodeJS.ErrnoException): null {
  if (error.code === 'ENOENT') return null
  throw error
}
