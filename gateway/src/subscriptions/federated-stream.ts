import { createPushQueue } from '@storefront/platform/streams';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Admission } from './admission.ts';
import { clientError, formatErrors, SUBSCRIPTION_ERRORS, type FormatError } from './errors.ts';
import type { EventExecutor } from './event-execution.ts';
import { upstreamVariables } from './planner.ts';
import type { UpstreamFailure } from './upstream-client.ts';
import type { UpstreamHub } from './upstream-hub.ts';

/**
 * One client's subscription: joins the upstream subscription of its plan's
 * primary fetch, buffers its events (bounded) and completes each one with
 * the rest of the plan when graphql-ws pulls it, so a subscription's events
 * go out in upstream order and a slow one holds up no other.
 *
 * Leaving is immediate: `return()` (client `complete`, socket closed) leaves
 * the upstream at once, and the hub ends the upstream operation when this
 * was its last listener.
 */
type Item = { event: FormattedExecutionResult } | { errors: GraphQLFormattedError[] };

export interface FederatedStreamOptions {
  admission: Admission;
  hub: UpstreamHub;
  execute: EventExecutor;
  formatError: FormatError;
  /** Events buffered before the subscription is ended as fallen behind. */
  capacity: number;
  /** Called once, when the stream is over for whatever reason. */
  onEnd: () => void;
}

export function openFederatedStream(options: FederatedStreamOptions): AsyncIterableIterator<FormattedExecutionResult> {
  const { admission, hub, execute, formatError, capacity } = options;
  const { plan, requestContext } = admission;
  const subgraph = plan.primary.serviceName;
  const logger = requestContext.context.logger;

  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    leave();
    options.onEnd();
  };
  let leave: () => void = () => {};
  const queue = createPushQueue<Item>({ capacity, onReturn: end });
  leave = hub.join(
    {
      subgraph,
      query: plan.upstreamQuery,
      variables: upstreamVariables(plan.primary, requestContext.request.variables),
      identity: requestContext.context.identity,
    },
    {
      next: (event) => {
        if (queue.push({ event })) return;
        // Dropping single events would leave a silent gap; ending lets the client resume from the last event it has.
        logger.warn({ subgraph, capacity }, 'subscriber fell behind; ending its subscription');
        leave();
        queue.clear();
        queue.end({
          errors: [
            publicError(
              SUBSCRIPTION_ERRORS.interrupted,
              `The subscription fell behind (more than ${capacity} events waiting); subscribe again to continue`,
            ),
          ],
        });
      },
      end: (failure) => queue.end(failure ? { errors: describeFailure(failure, subgraph, formatError) } : undefined),
    },
  );

  return {
    async next() {
      const item = await queue.next();
      if (item.done) {
        end();
        return item;
      }
      let payload: FormattedExecutionResult;
      if ('errors' in item.value) payload = { errors: item.value.errors };
      else {
        try {
          payload = await execute(admission, item.value.event);
        } catch (error) {
          // A bug in completing one event must not end the stream (or the socket): report it and carry on.
          logger.error({ err: error, subgraph }, 'failed to complete a subscription event');
          payload = { data: null, errors: [publicError('INTERNAL_SERVER_ERROR', 'Internal server error')] };
        }
      }
      if (queue.returned) return { value: undefined, done: true };
      return { value: payload, done: false };
    },
    return: async () => (await queue.return(), { value: undefined, done: true }),
    throw: async () => (await queue.return(), { value: undefined, done: true }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function describeFailure(
  failure: UpstreamFailure,
  subgraph: string,
  formatError: FormatError,
): GraphQLFormattedError[] {
  switch (failure.kind) {
    case 'errors':
      return formatErrors(
        failure.errors.map(
          (e) => new GraphQLError(e.message, { path: e.path, extensions: { ...e.extensions, serviceName: subgraph } }),
        ),
        formatError,
      );
    case 'interrupted':
      return [
        publicError(
          SUBSCRIPTION_ERRORS.interrupted,
          `The connection to the ${subgraph} service was lost; subscribe again to continue`,
          {
            serviceName: subgraph,
          },
        ),
      ];
    case 'unavailable':
    case 'unreachable':
      return [
        publicError(SUBSCRIPTION_ERRORS.unavailable, `The ${subgraph} service is unavailable; try again later`, {
          serviceName: subgraph,
        }),
      ];
  }
}

const publicError = (code: string, message: string, extensions?: Record<string, unknown>): GraphQLFormattedError =>
  clientError(code, message, extensions).toJSON();
