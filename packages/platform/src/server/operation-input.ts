import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';

/**
 * Input rules every process applies before it plans or runs an operation.
 *
 * Strings: no NUL and no unpaired UTF-16 surrogate. PostgreSQL refuses a NUL
 * in text (the client would see an internal error) and a lone surrogate cannot
 * be encoded as UTF-8 (Node would store U+FFFD in its place, silently changing
 * what the customer typed). Both are refused with BAD_USER_INPUT naming the
 * argument. Selection: a document whose operation cannot be chosen (an unknown
 * `operationName`, several anonymous operations) is the client's mistake, a 400
 * BAD_REQUEST, not something for the error log.
 */
export function operationInputPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) throw operationNotSelected(request.operationName);
          const problem = inputProblem(document, operation, request.variables);
          if (problem) throw problem;
        },
      };
    },
  };
}

/** The 400 for a document whose operation cannot be chosen (the message is graphql-js's own). */
export function operationNotSelected(operationName: string | null | undefined): GraphQLError {
  const message = operationName
    ? `Unknown operation named "${operationName}".`
    : 'Must provide operation name if query contains multiple operations.';
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}

/**
 * The first argument of `operation` whose value holds a string that breaks the
 * rules, as a BAD_USER_INPUT error; undefined when all are well-formed. Cheap
 * in the common case: variables are scanned first, and a document's literals
 * are scanned once (documents are cached and reused by the server).
 */
export function inputProblem(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): GraphQLError | undefined {
  const badVariable = variables
    ? Object.keys(variables).find((name) => holdsIllFormedString(variables[name]))
    : undefined;
  if (badVariable === undefined && !literalsAreIllFormed(document)) return undefined;
  const culprit = findArgument(document, operation, (value) => valueIsIllFormed(value, variables, badVariable));
  // A bad variable no argument uses (validation refuses unused ones) still names itself.
  const argument =
    culprit ?? (badVariable !== undefined ? { argument: `$${badVariable}`, field: undefined } : undefined);
  if (!argument) return undefined;
  const where = argument.field ? ` of "${argument.field}"` : '';
  return new GraphQLError(
    `Argument "${argument.argument}"${where} holds a NUL character or an unpaired surrogate; strings must be well-formed Unicode without NUL`,
    { extensions: { code: 'BAD_USER_INPUT', argumentName: argument.argument, http: { status: 400 } } },
  );
}

/** NUL, a high surrogate not followed by a low one, a low one not preceded by a high one. */
const ILL_FORMED = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string PostgreSQL and UTF-8 can hold as sent. */
export const isWellFormedText = (text: string): boolean => !ILL_FORMED.test(text);

function holdsIllFormedString(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !isWellFormedText(value);
  // Body limits bound the size; the depth bound keeps a pathological nesting from the stack.
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  if (Array.isArray(value)) return value.some((item) => holdsIllFormedString(item, depth + 1));
  return Object.entries(value).some(([key, item]) => !isWellFormedText(key) || holdsIllFormedString(item, depth + 1));
}

const literalVerdicts = new WeakMap<DocumentNode, boolean>();

function literalsAreIllFormed(document: DocumentNode): boolean {
  let verdict = literalVerdicts.get(document);
  if (verdict === undefined) {
    verdict = false;
    visit(document, {
      StringValue(node) {
        if (!isWellFormedText(node.value)) verdict = true;
      },
    });
    literalVerdicts.set(document, verdict);
  }
  return verdict;
}

function valueIsIllFormed(
  value: ValueNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  badVariable: string | undefined,
): boolean {
  switch (value.kind) {
    case Kind.STRING:
      return !isWellFormedText(value.value);
    case Kind.VARIABLE:
      return badVariable !== undefined && holdsIllFormedString(variables?.[value.name.value]);
    case Kind.LIST:
      return value.values.some((item) => valueIsIllFormed(item, variables, badVariable));
    case Kind.OBJECT:
      return value.fields.some((field) => valueIsIllFormed(field.value, variables, badVariable));
    default:
      return false;
  }
}

/** The first argument (of a field or a directive) in the operation or its fragments that matches. */
function findArgument(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  matches: (value: ValueNode) => boolean,
): { argument: string; field: string | undefined } | undefined {
  let found: { argument: string; field: string | undefined } | undefined;
  const check = (owner: string, args: readonly ArgumentNode[] | undefined) => {
    for (const arg of args ?? []) {
      if (!found && matches(arg.value)) found = { argument: arg.name.value, field: owner };
    }
  };
  const visitor = {
    Field: (node: { name: { value: string }; arguments?: readonly ArgumentNode[] }) =>
      check(node.name.value, node.arguments),
    Directive: (node: { name: { value: string }; arguments?: readonly ArgumentNode[] }) =>
      check(`@${node.name.value}`, node.arguments),
  };
  visit(operation, visitor);
  for (const definition of document.definitions) {
    if (found) break;
    if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, visitor);
  }
  return found;
}
