import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

/** What a send cut short by a crash is recorded with: tests that audit an inbox against the records need it. */
export { INTERRUPTED_REASON } from '../src/email/sender.ts';

/**
 * A real SMTP server on loopback for the email tests (the `smtp-server`
 * package, the one nodemailer's own tests use), with a script of refusals
 * per recipient address, and a record of every attempt and every message.
 */
export interface ReceivedEmail {
  /** The envelope recipient (RCPT TO). */
  to: string;
  from: string;
  headers: Map<string, string>;
  subject: string;
  text: string;
  at: number;
}

export type Stage = 'rcpt' | 'data';

export interface TestSmtpServer {
  url: string;
  messages: ReceivedEmail[];
  /** Every RCPT TO and every DATA the server saw, refused or not, in order. */
  attempts: { address: string; stage: Stage; at: number; refusedWith?: number }[];
  /** Refuse the next `codes.length` attempts to `address` at `stage` with these reply codes, then accept. */
  refuse(address: string, stage: Stage, codes: number[]): void;
  /** Refuse every attempt to `address` at `stage` with `code`. */
  refuseAlways(address: string, stage: Stage, code: number): void;
  /** Connections that broke off mid-transaction (a sender killed while sending): logged, as a real server would, never thrown. */
  connectionErrors: Error[];
  messagesTo(address: string): ReceivedEmail[];
  attemptsTo(address: string, stage: Stage): { at: number; refusedWith?: number }[];
  close(): Promise<void>;
}

export async function startTestSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedEmail[] = [];
  const attempts: TestSmtpServer['attempts'] = [];
  const scripts = new Map<string, number[] | { always: number }>();
  const key = (address: string, stage: Stage) => `${stage}:${address.toLowerCase()}`;

  /** The reply code to refuse this attempt with, if the script says so. */
  const refusal = (address: string, stage: Stage): number | undefined => {
    const script = scripts.get(key(address, stage));
    if (!script) return undefined;
    if (!Array.isArray(script)) return script.always;
    return script.shift();
  };
  const refuse = (code: number) =>
    Object.assign(new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later'), { responseCode: code });

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const code = refusal(address.address, 'rcpt');
      attempts.push({
        address: address.address.toLowerCase(),
        stage: 'rcpt',
        at: Date.now(),
        ...(code ? { refusedWith: code } : {}),
      });
      callback(code ? refuse(code) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const codes = recipients.map((to) => refusal(to, 'data'));
        const code = codes.find((c) => c !== undefined);
        for (const to of recipients)
          attempts.push({ address: to, stage: 'data', at: Date.now(), ...(code ? { refusedWith: code } : {}) });
        if (code) return callback(refuse(code));
        const parsed = parseMessage(Buffer.concat(chunks).toString('utf8'));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        for (const to of recipients) messages.push({ to, from, ...parsed, at: Date.now() });
        callback(null);
      });
    },
  });
  const connectionErrors: Error[] = [];
  server.on('error', (error: Error) => void connectionErrors.push(error));
  const listening = await new Promise<AddressInfo>((resolve) => {
    const socket = server.listen(0, '127.0.0.1', () => resolve(socket.address() as AddressInfo));
  });
  const { port } = listening;

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    attempts,
    connectionErrors,
    refuse: (address, stage, codes) => void scripts.set(key(address, stage), [...codes]),
    refuseAlways: (address, stage, code) => void scripts.set(key(address, stage), { always: code }),
    messagesTo: (address) => messages.filter((m) => m.to === address.toLowerCase()),
    attemptsTo: (address, stage) => attempts.filter((a) => a.address === address.toLowerCase() && a.stage === stage),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Just enough RFC 5322/2045 for what nodemailer writes for a plain-text message. */
function parseMessage(raw: string): Pick<ReceivedEmail, 'headers' | 'subject' | 'text'> {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let text = raw.slice(split + 4).replace(/\r\n$/, '');
  if (/quoted-printable/i.test(headers.get('content-transfer-encoding') ?? '')) {
    text = Buffer.from(
      text
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  }
  return { headers, subject: headers.get('subject') ?? '', text };
}
