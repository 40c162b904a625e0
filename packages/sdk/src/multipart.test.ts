import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { describe, test } from 'node:test'
import { HandlerError } from './errors.ts'
import { Multipart, parseHeaderValue, parseMultipart } from './multipart.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Serializes a FormData the way fetch does (undici), giving a body a real client would send. */
async function encodeForm(form: FormData): Promise<{ body: Uint8Array; contentType: string }> {
  const encoded = new globalThis.Response(form)
  const contentType = encoded.headers.get('content-type')
  assert.ok(contentType !== null)
  return { body: new Uint8Array(await encoded.arrayBuffer()), contentType }
}

function crlf(...lines: string[]): Uint8Array {
  return encoder.encode(lines.join('\r\n'))
}

function badRequestMessage(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof HandlerError, `expected a HandlerError, got ${String(error)}`)
    assert.equal(error.status, 400)
    assert.equal(error.code, 'bad_request')
    return error.message
  }
  assert.fail('expected a HandlerError to be thrown')
}

describe('parseMultipart on bodies encoded by fetch', () => {
  test('a text field and a binary file', async () => {
    // Every byte value, including CR, LF and dashes that could be mistaken for a delimiter.
    const binary = new Uint8Array(512).map((_, index) => index % 256)
    const form = new FormData()
    form.append('title', 'Grüße aus Köln ✓')
    form.append('upload', new File([binary], 'photo.png', { type: 'image/png' }))
    const { body, contentType } = await encodeForm(form)

    const parsed = parseMultipart(body, contentType)
    assert.deepEqual(parsed.fields, { title: 'Grüße aus Köln ✓' })
    assert.equal(parsed.files.length, 1)
    const file = parsed.requireFile('upload')
    assert.equal(file.fieldName, 'upload')
    assert.equal(file.filename, 'photo.png')
    assert.equal(file.contentType, 'image/png')
    assert.deepEqual(file.data, binary)
  })

  test('several files under one name, in order; a file without a type is octet-stream', async () => {
    const form = new FormData()
    form.append('docs', new File(['first'], 'a.txt', { type: 'text/plain' }))
    form.append('docs', new File(['second'], 'b.bin'))
    form.append('note', 'n1')
    form.append('note', 'n2')
    const { body, contentType } = await encodeForm(form)

    const parsed = parseMultipart(body, contentType)
    assert.deepEqual(
      parsed.files.map((file) => [
        file.fieldName,
        file.filename,
        file.contentType,
        decoder.decode(file.data),
      ]),
      [
        ['docs', 'a.txt', 'text/plain', 'first'],
        ['docs', 'b.bin', 'application/octet-stream', 'second'],
      ],
    )
    assert.equal(parsed.file('docs')?.filename, 'a.txt', 'file() returns the first')
    assert.equal(parsed.field('note'), 'n1', 'the first value of a repeated field wins')
  })

  test('agrees with fetch’s own parser on the same body', async () => {
    const form = new FormData()
    form.append('a', 'x;y="z"')
    form.append('empty', '')
    form.append('f', new File([encoder.encode('line1\r\nline2\r\n')], 'notes.txt', { type: 'text/plain' }))
    const { body, contentType } = await encodeForm(form)

    const reference = await new globalThis.Response(body, {
      headers: { 'content-type': contentType },
    }).formData()
    const parsed = parseMultipart(body, contentType)
    assert.equal(parsed.field('a'), reference.get('a'))
    assert.equal(parsed.field('empty'), '')
    const referenceFile = reference.get('f')
    assert.ok(referenceFile instanceof File)
    assert.deepEqual(parsed.requireFile('f').data, new Uint8Array(await referenceFile.arrayBuffer()))
  })
})

describe('parseMultipart on hand-written bodies', () => {
  test('preamble, epilogue, a quoted boundary and padding after a delimiter', () => {
    const body = crlf(
      'This preamble is ignored.',
      '--simple boundary:1  ',
      'Content-Disposition: form-data; name="greeting"',
      '',
      'hello',
      '--simple boundary:1',
      'content-disposition: FORM-DATA; name=bare',
      '',
      'unquoted name',
      '--simple boundary:1--',
      'This epilogue is ignored too.',
    )
    const parsed = parseMultipart(body, 'multipart/form-data; boundary="simple boundary:1"')
    assert.deepEqual(parsed.fields, { greeting: 'hello', bare: 'unquoted name' })
    assert.deepEqual(parsed.files, [])
  })

  test('an RFC 8187 filename* wins over filename; UTF-8 names are decoded', () => {
    const body = crlf(
      '--B',
      `Content-Disposition: form-data; name="doc"; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`,
      '',
      'x',
      '--B',
      'Content-Disposition: form-data; name="raw"; filename="Übersicht.pdf"',
      'Content-Type: application/pdf',
      '',
      '%PDF',
      '--B--',
    )
    const parsed = parseMultipart(body, 'multipart/form-data; boundary=B')
    assert.equal(parsed.requireFile('doc').filename, '€ rates.txt')
    assert.equal(parsed.requireFile('raw').filename, 'Übersicht.pdf')
    assert.equal(parsed.requireFile('raw').contentType, 'application/pdf')
  })

  test('content that nearly matches the delimiter stays content', () => {
    const tricky = 'a\r\n--BOUN\r\n-BOUNDARY\r\n--BOUNDAR\r\n\r\n--'
    const body = crlf('--BOUNDARY', 'Content-Disposition: form-data; name="t"', '', tricky, '--BOUNDARY--')
    assert.equal(parseMultipart(body, 'multipart/form-data; boundary=BOUNDARY').field('t'), tricky)
  })

  test('parts without a name, with another disposition or without headers are skipped', () => {
    const body = crlf(
      '--B',
      'Content-Type: text/plain',
      '',
      'no disposition',
      '--B',
      'Content-Disposition: attachment; name="x"',
      '',
      'not form-data',
      '--B',
      'Content-Disposition: form-data',
      '',
      'no name',
      '--B',
      '',
      'no headers at all',
      '--B',
      'Content-Disposition: form-data; name="kept"',
      '',
      '',
      '--B--',
    )
    const parsed = parseMultipart(body, 'multipart/form-data; boundary=B')
    assert.deepEqual(parsed.fields, { kept: '' })
    assert.deepEqual(parsed.files, [])
  })

  test('an empty file input (empty filename, no bytes) is not a file', () => {
    const body = crlf(
      '--B',
      'Content-Disposition: form-data; name="avatar"; filename=""',
      'Content-Type: application/octet-stream',
      '',
      '',
      '--B--',
    )
    const parsed = parseMultipart(body, 'multipart/form-data; boundary=B')
    assert.equal(parsed.file('avatar'), undefined)
    assert.match(
      badRequestMessage(() => parsed.requireFile('avatar')),
      /file in form field "avatar"/,
    )
  })

  test('a __proto__ field is stored as data', () => {
    const body = crlf('--B', 'Content-Disposition: form-data; name="__proto__"', '', 'x', '--B--')
    const parsed = parseMultipart(body, 'multipart/form-data; boundary=B')
    assert.equal(parsed.field('__proto__'), 'x')
    assert.equal(Object.getPrototypeOf(parsed.fields), Object.prototype)
    assert.equal(parsed.field('toString'), undefined)
  })

  test('file data is a plain Uint8Array view at the right offset of a pooled Buffer', () => {
    const text = crlf('--B', 'Content-Disposition: form-data; name="f"; filename="a"', '', 'PAYLOAD', '--B--')
    // Small Buffers share one pool, so this one starts at a non-zero offset of its ArrayBuffer.
    Buffer.from('occupy the pool')
    const pooled = Buffer.from(text)
    assert.ok(pooled.byteOffset > 0, 'the test needs a Buffer that does not start its ArrayBuffer')
    const data = parseMultipart(pooled, 'multipart/form-data; boundary=B').requireFile('f').data
    assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype)
    assert.equal(decoder.decode(data), 'PAYLOAD')
  })

  test('malformed bodies are bad requests', () => {
    const type = 'multipart/form-data; boundary=B'
    assert.match(
      badRequestMessage(() => parseMultipart(crlf('x'), 'multipart/form-data')),
      /no usable boundary/,
    )
    assert.match(
      badRequestMessage(() => parseMultipart(crlf('x'), 'multipart/form-data; boundary=')),
      /no usable boundary/,
    )
    assert.match(
      badRequestMessage(() => parseMultipart(crlf('no delimiters here'), type)),
      /no boundary found/,
    )
    assert.match(
      badRequestMessage(() =>
        parseMultipart(crlf('--B', 'Content-Disposition: form-data; name="a"', '', 'x'), type),
      ),
      /closing boundary missing/,
    )
    assert.match(
      badRequestMessage(() => parseMultipart(crlf('--B', 'Content-Disposition: form-data; name="a"'), type)),
      /part headers do not end/,
    )
    assert.match(
      badRequestMessage(() => parseMultipart(encoder.encode('--Bjunk'), type)),
      /not followed by CRLF/,
    )
  })
})

describe('Multipart accessors', () => {
  const form = new Multipart({ title: 'T' }, [
    { fieldName: 'doc', filename: 'd.txt', contentType: 'text/plain', data: encoder.encode('d') },
  ])

  test('field and requireField', () => {
    assert.equal(form.field('title'), 'T')
    assert.equal(form.field('missing'), undefined)
    assert.equal(form.requireField('title'), 'T')
    assert.match(
      badRequestMessage(() => form.requireField('summary')),
      /form field "summary"/,
    )
  })

  test('file and requireFile', () => {
    assert.equal(form.file('doc')?.filename, 'd.txt')
    assert.equal(form.file('title'), undefined)
    assert.equal(form.requireFile('doc').contentType, 'text/plain')
    assert.match(
      badRequestMessage(() => form.requireFile('image')),
      /form field "image"/,
    )
  })
})

describe('parseHeaderValue', () => {
  test('splits the value from its parameters, honouring quotes', () => {
    const { value, params } = parseHeaderValue('form-data; name="a;b"; filename="say \\"hi\\".txt"; X=1')
    assert.equal(value, 'form-data')
    assert.deepEqual(Object.fromEntries(params), { name: 'a;b', filename: 'say "hi".txt', x: '1' })
  })

  test('keeps a lone backslash as browsers send it', () => {
    assert.equal(
      parseHeaderValue('form-data; filename="C:\\dir\\a.txt"').params.get('filename'),
      'C:\\dir\\a.txt',
    )
  })

  test('drops an undecodable extended value', () => {
    const { params } = parseHeaderValue("form-data; filename*=ISO-8859-1''%A3; name*=UTF-8''%E2%82")
    assert.equal(params.has('filename*'), false)
    assert.equal(params.has('name*'), false)
  })
})
