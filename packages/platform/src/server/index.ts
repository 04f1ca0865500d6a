/**
 * What every server process of the project uses, the gateway and the
 * services alike: the GraphQL-over-HTTP handler, listening, the WebSocket
 * endpoint, error masking, and running until a signal.
 */
export {
  graphqlHttpHandler,
  refuse,
  sendError,
  sendJson,
  writeResponse,
  type GraphQLExchange,
  type GraphQLHttpOptions,
  type Refusal,
} from './http.ts';
export { listen, type Listening } from './listen.ts';
export { attachWebSocketEndpoint, type WebSocketEndpoint } from './websocket-endpoint.ts';
export { maskErrors } from './format-error.ts';
export { inputProblem, isWellFormedText, operationInputPlugin, operationNotSelected } from './operation-input.ts';
export { failStart, runUntilSignal } from './main.ts';
export { localeOf } from './locale.ts';
