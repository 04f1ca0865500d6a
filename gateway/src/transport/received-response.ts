import type { IncomingHttpHeaders } from 'node:http';
import type { FetcherHeaders } from '@apollo/utils.fetcher';

/** A subgraph's answer, read to the end once; shared by the callers of one fetch. */
export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * The response headers handed to RemoteGraphQLDataSource (it reads
 * Cache-Control to fold the subgraph's cache policy into the response's), as
 * a read-only view over undici's header record. Hand-written instead of
 * `new Headers(record)`: that copies and validates every header (~2–3 µs per
 * fetch) where one lookup is all that is needed. Read-only because the
 * callers of a shared fetch share the record.
 */
export class ReceivedHeaders implements FetcherHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  append(): void {
    throw new TypeError('subgraph response headers are read-only');
  }

  set(): void {
    throw new TypeError('subgraph response headers are read-only');
  }

  delete(): void {
    throw new TypeError('subgraph response headers are read-only');
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
