import assert from 'node:assert/strict'

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that; fails
 * after `timeoutMs` naming `what` it waited for (a function is asked at that moment, so it can say
 * what it saw last). The one polling helper of the test suites.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
