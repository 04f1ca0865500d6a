import type { FormattedExecutionResult } from 'graphql';

/**
 * The answer of one execution that several identical requests share
 * (operation-dedup.ts): its JSON text is made once, and its bytes once per
 * encoding (identity, gzip, Brotli), so a merged follower costs little more
 * than writing them to its socket.
 *
 * How the pieces meet: Apollo Server turns each request's result into text
 * with `stringifyResult` (`stringifyAnswer` below), which knows the result
 * but not the request; the gateway's HTTP layer (http/respond.ts) writes the
 * text, knowing the request. The result's `data` object is what sharers have
 * in common (dedup hands each one the leader's `data`), so the text is kept
 * per `data` object; and each sharer's context object is linked to the
 * SharedAnswer (`sharedAnswerOf`), for its writer to find the bytes.
 *
 * Only an answer without errors or extensions is shared as text: errors are
 * formatted per request (masking, request ids), and a plugin may add an
 * extension to one request's answer. Such an answer is serialized as any
 * other. The writer uses the shared bytes only when the text it was handed
 * is the shared text itself, so an answer that differs can never be written
 * with another's bytes.
 */
export class SharedAnswer {
  #text: string | undefined;
  readonly #bytes = new Map<string, Promise<Buffer>>();
  readonly #tags = new Map<string, string>();

  constructor(private readonly onSerialize: () => void) {}

  /** The text of the answer, made by `serialize` the first time it is asked for. */
  text(serialize: () => string): string {
    if (this.#text === undefined) {
      this.#text = serialize();
      this.onSerialize();
    }
    return this.#text;
  }

  /** Whether `text` is this answer's text (the same string: a comparison of pointers). */
  isText(text: string): boolean {
    return text === this.#text;
  }

  /** The answer's bytes in an encoding ('identity' for none), made by `encode` once per encoding. */
  bytes(encoding: string, encode: () => Promise<Buffer>): Promise<Buffer> {
    let bytes = this.#bytes.get(encoding);
    if (!bytes) this.#bytes.set(encoding, (bytes = encode()));
    return bytes;
  }

  /** The answer's entity tag in an encoding, made by `tag` once per encoding. */
  tag(encoding: string, tag: () => string): string {
    let value = this.#tags.get(encoding);
    if (value === undefined) this.#tags.set(encoding, (value = tag()));
    return value;
  }
}

/** Shared answers by the `data` object their sharers hold; gone with it. */
const answersByData = new WeakMap<object, SharedAnswer>();

/** The shared answer of each request that shares one, by its context object; gone with it. */
const answersByContext = new WeakMap<object, SharedAnswer>();

/** Marks a request as a sharer of the answer whose data is `data`: all its sharers get one SharedAnswer. */
export function shareAnswer(context: object, data: object, onSerialize: () => void): void {
  let answer = answersByData.get(data);
  if (!answer) answersByData.set(data, (answer = new SharedAnswer(onSerialize)));
  answersByContext.set(context, answer);
}

/** The answer a request (by its context object) shares with identical ones in flight, if it does. */
export const sharedAnswerOf = (context: object): SharedAnswer | undefined => answersByContext.get(context);

/** Apollo Server's own serialization (its `prettyJSONStringify`), for answers not shared. */
const serialize = (value: FormattedExecutionResult): string => `${JSON.stringify(value)}\n`;

/**
 * Apollo Server's `stringifyResult`: a shared answer's text is made once and
 * the same string handed to every sharer; any other answer as Apollo would.
 */
export function stringifyAnswer(value: FormattedExecutionResult): string {
  const shared =
    value.errors === undefined && value.extensions === undefined && typeof value.data === 'object' && value.data
      ? answersByData.get(value.data)
      : undefined;
  return shared ? shared.text(() => serialize(value)) : serialize(value);
}
