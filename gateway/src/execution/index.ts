/**
 * What the gateway adds at execution, the last step of Apollo Server's
 * pipeline: every wrapper goes through `wrapExecutor`, and identical queries
 * in flight share one execution (operation-dedup.ts), and its answer is
 * serialized and compressed once for all of them (shared-answer.ts).
 */
export { wrapExecutor } from './wrap-executor.ts';
export { operationDedup, operationDedupEnv, type OperationDedup, type OperationDedupStats } from './operation-dedup.ts';
export { sharedAnswerOf, stringifyAnswer, type SharedAnswer } from './shared-answer.ts';
