import pg from 'pg'

export interface ListenOptions {
  /** Called with each notice's payload. */
  onNotice(payload: string): void
  /**
   * Called each time LISTEN is (again) in place: whatever was notified while the connection was
   * down was missed, so the listener catches up here.
   */
  onListening?(): void
}

/**
 * One long-lived PostgreSQL connection that LISTENs on one channel. It reconnects with a growing
 * delay (100 ms up to 10 s) when the connection drops; `onListening` runs after every (re)connect.
 */
export class ListenConnection {
  private readonly url: string
  private readonly channel: string
  private readonly options: ListenOptions
  private client: pg.Client | null = null
  private connecting = false
  private closed = false
  private retryDelayMs = 100
  private retryTimer: NodeJS.Timeout | null = null

  constructor(url: string, channel: string, options: ListenOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`)
    this.url = url
    this.channel = channel
    this.options = options
  }

  /** True once LISTEN is in place. */
  get listening(): boolean {
    return this.client !== null
  }

  /** Connects, unless connected, connecting or closed. */
  open(): void {
    if (!this.client && !this.connecting && !this.closed) void this.connect()
  }

  private async connect(): Promise<void> {
    this.connecting = true
    const client = new pg.Client({ connectionString: this.url })
    const lost = () => {
      if (this.client === client) this.client = null
      client.removeAllListeners('notification')
      client.end().catch(() => {})
      this.scheduleReconnect()
    }
    client.on('error', lost)
    client.on('end', () => {
      if (this.client === client) lost()
    })
    client.on('notification', (message: { channel: string; payload?: string }) => {
      if (message.channel === this.channel && message.payload) this.options.onNotice(message.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${this.channel}`)
      if (this.closed) {
        await client.end()
        return
      }
      this.client = client
      this.retryDelayMs = 100
      this.options.onListening?.()
    } catch {
      client.removeAllListeners()
      client.on('error', () => {})
      client.end().catch(() => {})
      this.scheduleReconnect()
    } finally {
      this.connecting = false
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.client && !this.connecting) void this.connect()
    }, this.retryDelayMs)
    this.retryTimer.unref()
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 10_000)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    const client = this.client
    this.client = null
    if (client) {
      client.removeAllListeners('end')
      await client.end().catch(() => {})
    }
  }
}
