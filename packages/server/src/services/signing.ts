import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Signs and checks the URLs that `presignedUrl` hands out for `filesystem` storage: an HMAC of
 * service, key and expiry under a key drawn when the process starts. So a URL stops working
 * when it expires or when the process restarts, and no other process can make one.
 */
export class UrlSigner {
  private readonly secret = randomBytes(32)
  private base: string

  constructor(base = '') {
    this.base = base
  }

  /** The control plane's URL, known once it listens. */
  setBase(base: string): void {
    this.base = base
  }

  sign(service: string, key: string, seconds: number, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + seconds
    const signature = this.mac(service, key, expires)
    const path = key.split('/').map(encodeURIComponent).join('/')
    return `${this.base}/api/storage/${encodeURIComponent(service)}/objects/${path}?expires=${expires}&signature=${signature}`
  }

  verify(service: string, key: string, expires: number, signature: string, now = Date.now()): boolean {
    if (!Number.isInteger(expires) || expires * 1000 < now) return false
    const expected = Buffer.from(this.mac(service, key, expires))
    const given = Buffer.from(signature)
    return expected.length === given.length && timingSafeEqual(expected, given)
  }

  /**
   * What a request URL proves when it is one of these signed downloads: the service it may read,
   * `'invalid'` for a download URL whose signature is wrong or expired, undefined for any other URL.
   * The auth guard calls it so a signed link works without credentials (it is the credential).
   */
  check(url: string, now = Date.now()): { service: string } | 'invalid' | undefined {
    const query = url.indexOf('?')
    if (query < 0) return undefined
    const search = new URLSearchParams(url.slice(query + 1))
    const signature = search.get('signature')
    if (signature === null) return undefined
    const match = /^\/api\/storage\/([^/]+)\/objects\/(.+)$/.exec(url.slice(0, query))
    if (!match) return undefined
    let service: string
    let key: string
    try {
      service = decodeURIComponent(match[1])
      key = match[2].split('/').map(decodeURIComponent).join('/')
    } catch {
      return 'invalid'
    }
    return this.verify(service, key, Number(search.get('expires')), signature, now) ? { service } : 'invalid'
  }

  private mac(service: string, key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${service}\n${key}\n${expires}`).digest('base64url')
  }
}
