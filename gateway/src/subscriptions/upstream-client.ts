import { randomUUID } from 'node:crypto';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import WebSocket from 'ws';
import { signConnection, signSubscription, type Identity } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';

/**
 * The gateway's one graphql-ws connection to a subgraph, shared by every
 * upstream subscription to it (many users: each operation carries its own
 * signed identity). Lazy: opened by the first subscription, closed when the
 * last one ends.
 *
 * Failures, and why they are handled as they are:
 * - Connecting fails → retried with exponential backoff; subscriptions wait.
 *   Each subscribe message is signed when it is sent, not when it was asked
 *   for, so one sent after a long retry still carries a fresh timestamp.
 * - An open connection drops (subgraph restart, missed pong) → the
 *   subscriptions that were running on it END with `interrupted` instead of
 *   being resent. Resending would silently lose the events of the gap, or
 *   replay a resumable one (`orderStatusChanged(after:)`) from its original
 *   `after` and push duplicates; the client knows the last event it got and
 *   resubscribes with it.
 */
export interface UpstreamOperation {
  subgraph: string;
  query: string;
  variables: Record<string, unknown>;
  identity: Identity | null;
}

export type UpstreamFailure =
  /** The subgraph answered the operation with an `error` message (e.g. an invalid signature). */
  | { kind: 'errors'; errors: readonly GraphQLFormattedError[] }
  /** The connection dropped while the operation was running. */
  | { kind: 'interrupted' }
  /** Never sent: the instance could not be reached and another one is up (the hub sends it there). */
  | { kind: 'unreachable'; reason: string }
  /** The subgraph could not be reached (after the retries) or refused the connection. */
  | { kind: 'unavailable'; reason: string };

export interface UpstreamSink {
  next(event: FormattedExecutionResult): void;
  fail(failure: UpstreamFailure): void;
  complete(): void;
}

export interface SubgraphConnectionOptions {
  name: string;
  /** The subgraph's HTTP routing URL; the socket uses the same host, port and path. */
  url: string;
  secret: string;
  keepAliveMs: number;
  retryAttempts: number;
  /**
   * The socket could not be opened, or the subgraph dropped it: the instance
   * is likely down. Return true when another instance of the subgraph is up:
   * operations still waiting for this socket then fail at once as
   * `unreachable` (never sent, so safe to send elsewhere) instead of waiting
   * through the retries.
   */
  onUnreachable?: (detail: string) => boolean;
  logger: Logger;
}

interface Running {
  operation: UpstreamOperation;
  sink: UpstreamSink;
  /** Its subscribe message went out on the current socket. */
  sent: boolean;
  finished: boolean;
  unsubscribe: () => void;
}

const OPERATION_ID = Symbol('storefront.upstream-operation-id');
type TaggedPayload = SubscribePayload & { [OPERATION_ID]?: string };

export class SubgraphConnection {
  private readonly client: Client;
  private readonly running = new Map<string, Running>();
  private socket: WebSocket | undefined;
  /** The current connection attempt got as far as an open socket. */
  private opened = false;
  private pongTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SubgraphConnectionOptions) {
    const { logger } = options;
    this.client = createClient({
      url: options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 0,
      keepAlive: options.keepAliveMs,
      retryAttempts: options.retryAttempts,
      // graphql-ws retries only close events by default; a refused connection is an error event and worth retrying too.
      shouldRetry: () => true,
      retryWait: (retries) => backoff(retries),
      // A function, so every (re)connection is signed afresh.
      connectionParams: () => signConnection(options.secret),
      generateID: (payload) => (payload as TaggedPayload)[OPERATION_ID] ?? randomUUID(),
      // Called for every key of the outgoing JSON; the whole message is the one under the key ''.
      jsonMessageReplacer: (key, value: { type?: unknown; id: string; payload: SubscribePayload } | null) =>
        key === '' && value?.type === 'subscribe' ? this.signOnSend(value) : value,
      on: {
        connecting: () => void (this.opened = false),
        opened: () => void (this.opened = true),
        connected: (socket) => {
          this.socket = socket as WebSocket;
          logger.debug({ subgraph: options.name }, 'upstream subscription connection open');
        },
        ping: (received) => {
          if (received) return;
          // Our ping went out: a peer that does not answer before the next one is gone (half-open TCP).
          clearTimeout(this.pongTimer);
          this.pongTimer = setTimeout(() => this.socket?.terminate(), options.keepAliveMs).unref();
        },
        pong: (received) => {
          if (received) clearTimeout(this.pongTimer);
        },
        closed: (event) => this.onClosed(event as { code?: number; reason?: string }),
      },
    });
  }

  /** Starts an upstream operation; the returned function ends it (a `complete` goes out at once). */
  subscribe(operation: UpstreamOperation, sink: UpstreamSink): () => void {
    const id = randomUUID();
    const payload: TaggedPayload = { query: operation.query, variables: operation.variables };
    Object.defineProperty(payload, OPERATION_ID, { value: id });
    const entry: Running = { operation, sink, sent: false, finished: false, unsubscribe: () => {} };
    this.running.set(id, entry);
    const finish = () => {
      entry.finished = true;
      this.running.delete(id);
    };
    entry.unsubscribe = this.client.subscribe(payload, {
      next: (event) => {
        if (!entry.finished) sink.next(event as FormattedExecutionResult);
      },
      error: (error) => {
        if (entry.finished) return;
        finish();
        if (Array.isArray(error)) sink.fail({ kind: 'errors', errors: error as GraphQLFormattedError[] });
        else sink.fail({ kind: 'unavailable', reason: describe(error) });
      },
      complete: () => {
        if (entry.finished) return;
        finish();
        sink.complete();
      },
    });
    return () => {
      if (entry.finished) return;
      finish();
      entry.unsubscribe();
    };
  }

  /** Upstream operations open or waiting for the connection. */
  get size(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    for (const [id, entry] of this.running) {
      this.running.delete(id);
      entry.finished = true;
      entry.unsubscribe();
      // Not `interrupted`: that one is resumed (upstream-hub), and nothing is to be resumed on a connection being closed.
      entry.sink.fail({ kind: 'unavailable', reason: 'the gateway is shutting down' });
    }
    clearTimeout(this.pongTimer);
    // dispose() waits for a connection attempt in progress, which may be sleeping in a backoff; don't wait for that.
    await Promise.race([this.client.dispose(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]).catch(
      () => {},
    );
    this.client.terminate();
  }

  private signOnSend(message: { id: string; payload: SubscribePayload }) {
    const entry = this.running.get(message.id);
    if (!entry) return message;
    entry.sent = true;
    const { query, variables } = message.payload;
    return {
      ...message,
      payload: {
        ...message.payload,
        extensions: {
          storefront: signSubscription(this.options.secret, { query, variables }, entry.operation.identity),
        },
      },
    };
  }

  private onClosed(event: { code?: number; reason?: string }) {
    clearTimeout(this.pongTimer);
    this.socket = undefined;
    // 1000 is our own idle or final close; 4xxx are graphql-ws refusals from a subgraph that is up.
    const code = event.code ?? 1006;
    if (!this.opened || (code !== 1000 && code < 4000)) {
      const detail = this.opened ? `subscription socket closed (${code})` : 'subscription socket could not connect';
      const elsewhere = this.options.onUnreachable?.(detail) ?? false;
      if (elsewhere && !this.opened) this.failWaiting(detail);
    }
    let interrupted = 0;
    for (const [id, entry] of this.running) {
      if (!entry.sent) continue; // still waiting for a connection: graphql-ws retries it
      interrupted++;
      this.running.delete(id);
      entry.finished = true;
      entry.unsubscribe();
      entry.sink.fail({ kind: 'interrupted' });
    }
    if (interrupted > 0) {
      this.options.logger.warn(
        { subgraph: this.options.name, code: event.code, reason: event.reason, interrupted },
        'upstream subscription connection lost',
      );
    }
  }

  /** Operations not yet sent leave this socket as `unreachable`, to be sent to another instance. */
  private failWaiting(reason: string) {
    for (const [id, entry] of this.running) {
      if (entry.sent) continue;
      this.running.delete(id);
      entry.finished = true;
      entry.unsubscribe();
      entry.sink.fail({ kind: 'unreachable', reason });
    }
  }
}

/** 0.25 s, 0.5 s, 1 s … capped at 10 s, with jitter so a restarted subgraph is not hit by every gateway at once. */
function backoff(retries: number): Promise<void> {
  const ms = Math.min(250 * 2 ** retries, 10_000) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: string };
    return `connection closed (${String(code)}${reason ? `: ${String(reason)}` : ''})`;
  }
  return error instanceof Error ? error.message : 'connection failed';
}
