/**
 * A database location without secrets, for logs and API answers: a file path as is; a URL without
 * its password and without password-like query parameters (`?password=…` is valid for pg).
 */
export function redactLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location
  try {
    const url = new URL(location)
    url.password = ''
    for (const key of [...url.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) url.searchParams.delete(key)
    }
    return url.toString()
  } catch {
    return '(a database URL that does not parse)'
  }
}
