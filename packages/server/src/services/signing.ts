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

  private mac(service: string, key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${service}\n${key}\n${expires}`).digest('base64url')
  }
}
