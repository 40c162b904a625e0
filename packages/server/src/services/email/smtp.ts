import type { EmailMessage } from '@edgeforge/sdk'
import nodemailer, { type Transporter } from 'nodemailer'
import {
  ACTOR_FIELDS,
  bool,
  int,
  isSocketError,
  type ResolvedConfig,
  type ServiceKind,
  str,
} from '../kind.ts'

interface Sender {
  transport: Transporter
  config: ResolvedConfig
}

/**
 * `email` over SMTP (nodemailer). A pooled connection is one transport; nodemailer opens an SMTP
 * session per message, so a server that restarts costs nothing but that message. Connecting runs
 * `verify()` (connect, TLS, login), so a wrong password shows as `service_unavailable`.
 */
export const smtpKind: ServiceKind<Sender> = {
  type: 'email',
  family: 'email',
  defaultPoolSize: 2,
  fields: [
    { name: 'host', type: 'string', required: true, help: 'SMTP server host name or address' },
    { name: 'port', type: 'integer', default: 587, min: 1, max: 65535, help: 'SMTP port' },
    {
      name: 'encryption',
      type: 'string',
      default: 'starttls',
      choices: ['none', 'starttls', 'tls'],
      help: 'none: plain; starttls: upgrade required (port 587); tls: TLS from the start (port 465)',
    },
    { name: 'username', type: 'string', help: 'Login name, when the server asks for one' },
    { name: 'password', type: 'string', secret: true, help: 'Password (write-only)' },
    {
      name: 'allow_self_signed',
      type: 'boolean',
      default: false,
      help: 'Accept a certificate no authority signed',
    },
    {
      name: 'from_address',
      type: 'string',
      required: true,
      help: 'Sender address when a message names none',
    },
    { name: 'from_name', type: 'string', help: 'Sender display name' },
    { name: 'reply_to', type: 'string', help: 'Reply-To when a message names none' },
    {
      name: 'timeout_seconds',
      type: 'integer',
      default: 30,
      min: 1,
      max: 600,
      help: 'Time to connect and to answer',
    },
    ...ACTOR_FIELDS,
  ],
  connector(_service, config) {
    return {
      async connect() {
        const encryption = str(config, 'encryption')
        const timeout = int(config, 'timeout_seconds') * 1000
        const transport = nodemailer.createTransport({
          host: str(config, 'host'),
          port: int(config, 'port'),
          secure: encryption === 'tls',
          requireTLS: encryption === 'starttls',
          ignoreTLS: encryption === 'none',
          auth:
            config.username === undefined
              ? undefined
              : {
                  user: str(config, 'username'),
                  pass: config.password === undefined ? '' : str(config, 'password'),
                },
          tls: { rejectUnauthorized: !bool(config, 'allow_self_signed') },
          connectionTimeout: timeout,
          greetingTimeout: timeout,
          socketTimeout: timeout,
        })
        try {
          await transport.verify()
        } catch (error) {
          transport.close()
          throw error
        }
        return { transport, config }
      },
      async close({ transport }) {
        transport.close()
      },
      isConnectionError: (error) =>
        isSocketError(error) ||
        ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EAUTH'].includes(String((error as { code?: unknown }).code)),
    }
  },
  operations: {
    async send({ transport, config }, [message]) {
      const m = checkMessage(message)
      const fromAddress = m.from ?? str(config, 'from_address')
      const fromName = m.fromName ?? (config.from_name === undefined ? undefined : str(config, 'from_name'))
      const info = await transport.sendMail({
        from: fromName ? { name: fromName, address: fromAddress } : fromAddress,
        to: m.to,
        cc: m.cc,
        replyTo: m.replyTo ?? (config.reply_to === undefined ? undefined : str(config, 'reply_to')),
        subject: m.subject,
        text: m.text,
        html: m.html,
        attachments: m.attachments?.map((a) => ({
          filename: a.filename,
          content: typeof a.content === 'string' ? a.content : Buffer.from(a.content),
          contentType: a.contentType,
        })),
      })
      return {
        messageId: String(info.messageId),
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
      }
    },
  },
  async ping({ transport }) {
    await transport.verify()
  },
}

function checkMessage(message: unknown): EmailMessage {
  const m = message as EmailMessage
  if (typeof m !== 'object' || m === null) throw new TypeError('send() takes a message object')
  const to = Array.isArray(m.to) ? m.to : [m.to]
  if (to.length === 0 || to.some((a) => typeof a !== 'string' || !a.includes('@')))
    throw new TypeError('message.to must be an address or a list of addresses')
  if (typeof m.subject !== 'string') throw new TypeError('message.subject must be a string')
  if (m.text === undefined && m.html === undefined) throw new TypeError('a message needs text or html')
  return m
}
