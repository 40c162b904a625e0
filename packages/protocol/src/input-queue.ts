/**
 * The messages a running job reads from `ctx.input`: pushed by whoever delivers them (the
 * in-process runtime, the remote agent), read in order with `for await`. The iteration ends when
 * the job ends (`close()`); messages that nobody read by then are dropped with it.
 */
export class JobInputQueue implements AsyncIterable<unknown> {
  private readonly messages: unknown[] = []
  private readonly waiting: Array<(result: IteratorResult<unknown>) => void> = []
  private closed = false

  push(message: unknown): void {
    if (this.closed) return
    const reader = this.waiting.shift()
    if (reader) reader({ value: message, done: false })
    else this.messages.push(message)
  }

  close(): void {
    this.closed = true
    for (const reader of this.waiting.splice(0)) reader({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return {
      next: () => {
        if (this.messages.length > 0) return Promise.resolve({ value: this.messages.shift(), done: false })
        if (this.closed) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => this.waiting.push(resolve))
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    }
  }
}
