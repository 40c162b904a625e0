/**
 * The `event` frames of a Server-Sent Events body, each one's `data:` parsed as JSON, in order.
 * Other frames (snapshot, heartbeat, retry) are skipped. Stop reading by breaking out of the loop.
 */
export async function* sseEvents<T = unknown>(body: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf('\n\n')
      if (frame.startsWith('event: event')) yield JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as T
    }
  }
}
