// Command-line numbers of the benchmark scripts: a bad value stops the script with exit code 2 and
// a message naming the flag and its range.

/** `raw` as an integer from `min` to `max`; `script` names the benchmark in the message. */
export function intFlag(
  script: string,
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`${script}: --${name} must be an integer from ${min} to ${max}, got ${raw}`)
    process.exit(2)
  }
  return value
}
