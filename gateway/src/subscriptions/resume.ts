import {
  Kind,
  parse,
  print,
  type ArgumentNode,
  type FieldNode,
  type FormattedExecutionResult,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import type { ResumePoint } from '@storefront/platform/streams';
import type { UpstreamOperation } from './upstream-client.ts';

/**
 * Resuming an upstream subscription after its connection dropped. A
 * subgraph marks each event of a resumable subscription with the arguments
 * that replay what follows it (`extensions.resume`, e.g. `{ after: 4 }`; see
 * `resumeAt` in the platform's streams). The gateway keeps the latest and,
 * when the socket drops, subscribes again with those arguments set on the
 * subscription field: the subgraph sends what happened meanwhile, then live
 * events, and the client sees neither a gap nor a repeat.
 */

const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const MAX_ARGUMENTS = 8;

/** The event's resume point, when it carries a well-formed one (scalar values under argument names). */
export function resumePointIn(event: FormattedExecutionResult): ResumePoint | undefined {
  const resume = event.extensions?.resume;
  if (typeof resume !== 'object' || resume === null || Array.isArray(resume)) return undefined;
  const entries = Object.entries(resume as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_ARGUMENTS) return undefined;
  const scalar = (value: unknown) =>
    value === null ||
    ['string', 'boolean'].includes(typeof value) ||
    (typeof value === 'number' && Number.isFinite(value));
  return entries.every(([name, value]) => NAME.test(name) && scalar(value)) ? (resume as ResumePoint) : undefined;
}

/**
 * `operation` with the resume point's arguments set on its subscription
 * field: through the operation's variable where the argument is one,
 * otherwise as a literal (replacing or adding the argument).
 */
export function resumedOperation(operation: UpstreamOperation, point: ResumePoint): UpstreamOperation {
  const document = parse(operation.query);
  const variables = { ...operation.variables };
  const definitions = document.definitions.map((definition) => {
    if (definition.kind !== Kind.OPERATION_DEFINITION) return definition;
    const selections = definition.selectionSet.selections;
    const index = selections.findIndex((s) => s.kind === Kind.FIELD && s.name.value !== '__typename');
    if (index < 0) return definition;
    const field = selections[index] as FieldNode;
    const args: ArgumentNode[] = [...(field.arguments ?? [])];
    for (const [name, value] of Object.entries(point)) {
      const at = args.findIndex((arg) => arg.name.value === name);
      const given = at >= 0 ? args[at]!.value : undefined;
      if (given?.kind === Kind.VARIABLE) {
        variables[given.name.value] = value;
        continue;
      }
      const argument: ArgumentNode = {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: name },
        value: literal(value),
      };
      if (at >= 0) args[at] = argument;
      else args.push(argument);
    }
    const resumedField: FieldNode = { ...field, arguments: args };
    return {
      ...definition,
      selectionSet: {
        ...definition.selectionSet,
        selections: selections.map((s, i) => (i === index ? resumedField : s)),
      },
    } satisfies OperationDefinitionNode;
  });
  return { ...operation, query: print({ ...document, definitions }), variables };
}

function literal(value: ResumePoint[string]): ValueNode {
  if (value === null) return { kind: Kind.NULL };
  if (typeof value === 'boolean') return { kind: Kind.BOOLEAN, value };
  if (typeof value === 'string') return { kind: Kind.STRING, value };
  return Number.isInteger(value)
    ? { kind: Kind.INT, value: String(value) }
    : { kind: Kind.FLOAT, value: String(value) };
}
