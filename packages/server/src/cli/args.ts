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
