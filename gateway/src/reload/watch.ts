import { readFile } from 'node:fs/promises';

/**
 * Watches a configuration source for a new version, by polling: a file is
 * read every `intervalMs` and compared with the last text seen; a URL is
 * asked with `If-None-Match` (the ETag of the last answer), so an unchanged
 * document costs a 304 and no body.
 *
 * Polling rather than fs.watch: a Kubernetes ConfigMap volume swaps a symlink
 * (`..data`) instead of writing the file, editors replace files by renaming,
 * and network filesystems send no events; reading a few kilobytes every few
 * seconds notices all of them the same way.
 *
 * `onChange` is called with each new text, one at a time (the next poll
 * starts after it returned); a text it refused is not offered again until
 * the source changes once more. A file's new text is offered only once two
 * reads an interval apart agree: a file caught half-written (`>` truncates
 * before it writes) is never offered. A source that cannot be read keeps the
 * last good version: `onError` is told once per failing streak.
 */
export interface Watcher {
  stop(): void;
}

export interface WatchOptions {
  intervalMs: number;
  /** The text already in use (read at start): only a different one is a change. */
  initial: string;
  onChange: (text: string) => void;
  onError: (error: Error) => void;
}

export function watchFile(path: string, options: WatchOptions): Watcher {
  // The text read last, when it differed from the text in use: offered if the next read finds it again.
  let settling: string | undefined;
  return poll(options, async () => {
    const text = await readFile(path, 'utf8');
    const settled = text === settling;
    settling = text;
    return settled ? text : undefined;
  });
}

export interface UrlDocument {
  text: string;
  etag: string | undefined;
}

/** GETs `url`; undefined when the server answered 304 to `etag`. Throws on anything but 200 and 304. */
export async function fetchDocument(url: string, etag?: string, timeoutMs = 10_000): Promise<UrlDocument | undefined> {
  const response = await fetch(url, {
    headers: etag ? { 'if-none-match': etag } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status === 304) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  return { text: await response.text(), etag: response.headers.get('etag') ?? undefined };
}

export function watchUrl(url: string, options: WatchOptions & { etag: string | undefined }): Watcher {
  let etag = options.etag;
  return poll(options, async () => {
    const document = await fetchDocument(url, etag, Math.max(options.intervalMs, 1_000));
    if (!document) return undefined;
    etag = document.etag;
    return document.text;
  });
}

/** Runs `read` every interval (after the previous one ended); undefined from `read` means "unchanged". */
function poll(options: WatchOptions, read: () => Promise<string | undefined>): Watcher {
  let last = options.initial;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    let text: string | undefined;
    try {
      text = await read();
      failing = false;
    } catch (error) {
      if (!failing && !stopped) options.onError(error as Error);
      failing = true;
    }
    if (!stopped && text !== undefined && text !== last) {
      last = text;
      try {
        options.onChange(text);
      } catch (error) {
        options.onError(error as Error);
      }
    }
    // unref: a watcher never keeps a process alive on its own.
    if (!stopped) timer = setTimeout(() => void tick(), options.intervalMs).unref();
  };
  timer = setTimeout(() => void tick(), options.intervalMs).unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
