/** Splits argv into positionals and `--flag value` / `--flag=value` / `--switch` options. */
export function parseArgs(
  argv: string[],
  switches: readonly string[] = ['help', 'json'],
): {
  positionals: string[]
  flags: Record<string, string>
} {
  const positionals: string[] = []
  const flags: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '-h') {
      flags.help = 'true'
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      if (eq !== -1) {
        flags[arg.slice(2, eq)] = arg.slice(eq + 1)
      } else {
        const name = arg.slice(2)
        const next = argv[i + 1]
        if (switches.includes(name) || next === undefined || next.startsWith('--')) flags[name] = 'true'
        else {
          flags[name] = next
          i += 1
        }
      }
    } else {
      positionals.push(arg)
    }
  }
  return { positionals, flags }
}

export class UsageError extends Error {}

/** Every value of a flag given more than once (`--service db=main --service cache=redis`). */
export function repeatedFlag(argv: string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === `--${name}` && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) {
      values.push(argv[i + 1])
      i += 1
    } else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3))
  }
  return values
}

/** `key=value` pairs into an object; a value that parses as JSON (5432, true, null, "007") is taken as such. */
export function keyValues(pairs: string[], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`--${flag} takes key=value, got "${pair}"`)
    const raw = pair.slice(eq + 1)
    let value: unknown = raw
    try {
      value = JSON.parse(raw)
    } catch {}
    out[pair.slice(0, eq)] = value
  }
  return out
}

/**
 * The endpoint environment a command's `--env NAME=value`, `--env NAME` (the value of NAME in this
 * shell's environment, so a secret need not appear on the command line) and `--unset-env NAME`
 * flags ask for: NAME → value, or null to remove it.
 */
export function envFlags(argv: string[], env: NodeJS.ProcessEnv): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const pair of repeatedFlag(argv, 'env')) {
    const eq = pair.indexOf('=')
    if (eq === 0) throw new UsageError(`--env takes NAME=value or NAME; got "${pair}"`)
    if (eq > 0) {
      out[pair.slice(0, eq)] = pair.slice(eq + 1)
      continue
    }
    const value = env[pair]
    if (value === undefined)
      throw new UsageError(
        `--env ${pair}: ${pair} is not set in this shell's environment; give --env ${pair}=value or export it`,
      )
    out[pair] = value
  }
  for (const name of repeatedFlag(argv, 'unset-env')) out[name] = null
  return out
}
