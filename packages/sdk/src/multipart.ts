import { HandlerError } from './errors.ts'

/**
 * One uploaded file of a multipart/form-data body.
 *
 * @example
 * const avatar = req.multipart().requireFile('avatar')
 * ctx.log.info(avatar.filename, avatar.contentType, avatar.data.byteLength)
 */
export interface MultipartFile {
  /** The form field the file was sent under. @example file.fieldName // 'avatar' */
  readonly fieldName: string
  /** The file name as the client sent it; never use it as a path as is. @example file.filename // 'me.png' */
  readonly filename: string
  /** The part's content type, `application/octet-stream` when the client sent none. @example file.contentType // 'image/png' */
  readonly contentType: string
  /** The file's bytes: a view into the request body, not a copy. @example file.data.byteLength // 5120 */
  readonly data: Uint8Array
}

/**
 * A parsed multipart/form-data body: its text fields and its files, in the order sent.
 *
 * @example
 * const form = req.multipart()
 * const title = form.requireField('title')
 * const upload = form.requireFile('document')
 */
export class Multipart {
  /**
   * The text fields by name; when a name repeats, the first value wins.
   *
   * @example
   * const { title, description } = req.multipart().fields
   */
  readonly fields: Record<string, string>

  /**
   * Every uploaded file, in body order (several may share a field name).
   *
   * @example
   * const images = req.multipart().files.filter((f) => f.contentType.startsWith('image/'))
   */
  readonly files: MultipartFile[]

  /**
   * Wraps fields and files; `Request#multipart()` builds this for you.
   *
   * @example
   * const form = new Multipart({ title: 'hi' }, [])
   */
  constructor(fields: Record<string, string>, files: MultipartFile[]) {
    this.fields = fields
    this.files = files
  }

  /**
   * A text field, or `undefined` when absent.
   *
   * @example
   * const note = form.field('note') ?? ''
   */
  field(name: string): string | undefined {
    return Object.hasOwn(this.fields, name) ? this.fields[name] : undefined
  }

  /**
   * A text field; throws `HandlerError.badRequest` naming the field when absent.
   *
   * @example
   * const title = form.requireField('title')
   */
  requireField(name: string): string {
    const value = this.field(name)
    if (value === undefined) throw HandlerError.badRequest(`missing required form field "${name}"`)
    return value
  }

  /**
   * The first file sent under `name`, or `undefined`.
   *
   * @example
   * const attachment = form.file('attachment')
   */
  file(name: string): MultipartFile | undefined {
    return this.files.find((file) => file.fieldName === name)
  }

  /**
   * The first file sent under `name`; throws `HandlerError.badRequest` naming the field when none was.
   *
   * @example
   * const upload = form.requireFile('upload')
   */
  requireFile(name: string): MultipartFile {
    const file = this.file(name)
    if (file === undefined) throw HandlerError.badRequest(`missing required file in form field "${name}"`)
    return file
  }
}

const CR = 0x0d
const LF = 0x0a
const DASH = 0x2d
const SPACE = 0x20
const TAB = 0x09
const encoder = new TextEncoder()
const HEADER_END = encoder.encode('\r\n\r\n')
const utf8 = new TextDecoder()

/**
 * Parses a multipart/form-data body (RFC 7578) whose content type carries the boundary.
 * Throws `HandlerError.badRequest` for a body that does not follow the format.
 */
export function parseMultipart(body: Uint8Array, contentType: string): Multipart {
  const boundary = parseHeaderValue(contentType).params.get('boundary')
  if (boundary === undefined || boundary === '' || boundary.length > 200) {
    throw HandlerError.badRequest('multipart request has no usable boundary in its content-type')
  }
  const dashBoundary = encoder.encode(`--${boundary}`)
  const delimiter = encoder.encode(`\r\n--${boundary}`)
  const fields: Record<string, string> = {}
  const files: MultipartFile[] = []

  // The first boundary may follow a preamble, which is ignored.
  let position: number
  if (matchesAt(body, dashBoundary, 0)) position = dashBoundary.length
  else {
    const first = indexOfBytes(body, delimiter, 0)
    if (first < 0) throw malformed('no boundary found in the body')
    position = first + delimiter.length
  }

  for (;;) {
    if (body[position] === DASH && body[position + 1] === DASH) break // closing delimiter
    while (body[position] === SPACE || body[position] === TAB) position++
    if (body[position] !== CR || body[position + 1] !== LF) throw malformed('boundary not followed by CRLF')
    position += 2

    let contentStart: number
    let headerText: string
    if (body[position] === CR && body[position + 1] === LF) {
      headerText = ''
      contentStart = position + 2
    } else {
      const headerEnd = indexOfBytes(body, HEADER_END, position)
      if (headerEnd < 0) throw malformed('part headers do not end')
      headerText = utf8.decode(body.subarray(position, headerEnd))
      contentStart = headerEnd + HEADER_END.length
    }
    const contentEnd = indexOfBytes(body, delimiter, contentStart)
    if (contentEnd < 0) throw malformed('closing boundary missing')
    addPart(
      headerText,
      new Uint8Array(body.buffer, body.byteOffset + contentStart, contentEnd - contentStart),
    )
    position = contentEnd + delimiter.length
  }
  return new Multipart(fields, files)

  function addPart(headerText: string, data: Uint8Array): void {
    let disposition: string | undefined
    let partType: string | undefined
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      if (name === 'content-disposition') disposition = line.slice(colon + 1).trim()
      else if (name === 'content-type') partType = line.slice(colon + 1).trim()
    }
    if (disposition === undefined) return
    const { value, params } = parseHeaderValue(disposition)
    const fieldName = params.get('name')
    if (value.toLowerCase() !== 'form-data' || fieldName === undefined) return
    const filename = params.get('filename*') ?? params.get('filename')
    if (filename === undefined) {
      if (!Object.hasOwn(fields, fieldName)) defineOwn(fields, fieldName, utf8.decode(data))
      return
    }
    // A browser sends an empty, nameless part for a file input left empty: that is no file.
    if (filename === '' && data.byteLength === 0) return
    files.push({ fieldName, filename, contentType: partType || 'application/octet-stream', data })
  }
}

/** Where `needle` first occurs in `haystack` at or after `from`, or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]
  const last = haystack.length - needle.length
  // The native indexOf finds candidates for the first byte; only those are compared in full.
  for (
    let start = haystack.indexOf(first, from);
    start !== -1 && start <= last;
    start = haystack.indexOf(first, start + 1)
  ) {
    if (matchesAt(haystack, needle, start)) return start
  }
  return -1
}

function matchesAt(haystack: Uint8Array, needle: Uint8Array, start: number): boolean {
  if (start + needle.length > haystack.length) return false
  for (let index = 1; index < needle.length; index++) {
    if (haystack[start + index] !== needle[index]) return false
  }
  return haystack[start] === needle[0]
}

function malformed(reason: string): HandlerError {
  return HandlerError.badRequest(`malformed multipart body: ${reason}`)
}

/**
 * Splits a header value such as `form-data; name="a"; filename="b.txt"` into its leading value
 * and its parameters (names lower-cased). Quoted strings may contain `;` and escaped quotes;
 * an RFC 8187 `name*=UTF-8''…` parameter is percent-decoded.
 */
export function parseHeaderValue(header: string): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>()
  let index = header.indexOf(';')
  const value = (index < 0 ? header : header.slice(0, index)).trim()
  while (index >= 0 && index < header.length) {
    index++ // past ';'
    const equals = header.indexOf('=', index)
    const nextSemicolon = header.indexOf(';', index)
    if (equals < 0 || (nextSemicolon >= 0 && nextSemicolon < equals)) {
      index = nextSemicolon
      continue
    }
    const name = header.slice(index, equals).trim().toLowerCase()
    let paramValue: string
    index = equals + 1
    while (header[index] === ' ' || header[index] === '\t') index++
    if (header[index] === '"') {
      paramValue = ''
      index++
      while (index < header.length && header[index] !== '"') {
        // Browsers leave a backslash in a file name as is, so only \" and \\ are escapes.
        if (header[index] === '\\' && (header[index + 1] === '"' || header[index + 1] === '\\')) index++
        paramValue += header[index]
        index++
      }
      index = header.indexOf(';', index)
    } else {
      const end = header.indexOf(';', index)
      paramValue = (end < 0 ? header.slice(index) : header.slice(index, end)).trim()
      index = end
    }
    if (name.endsWith('*')) {
      const decoded = decodeExtendedValue(paramValue)
      if (decoded === undefined) continue
      paramValue = decoded
    }
    if (name !== '' && !params.has(name)) params.set(name, paramValue)
  }
  return { value, params }
}

function decodeExtendedValue(value: string): string | undefined {
  const match = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(value)
  if (match === null || !/^utf-8$/i.test(match[1])) return undefined
  try {
    return decodeURIComponent(match[2])
  } catch {
    return undefined
  }
}

/** Assigns even a key such as `__proto__` as an own property. */
export function defineOwn(target: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else target[key] = value
}
