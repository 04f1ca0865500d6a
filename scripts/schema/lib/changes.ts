import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import type { GraphQLSchema } from 'graphql';
import type { ClientOperation, OperationUsage } from './operations.ts';

/**
 * Schema changes as @graphql-inspector/core classifies them, and which client
 * operations each breaking change breaks.
 */
export type Level = 'breaking' | 'dangerous' | 'safe';

export interface SchemaChange {
  level: Level;
  /** inspector's change type, e.g. FIELD_REMOVED. */
  type: string;
  /** Schema coordinate, e.g. `Product.price` or `Query.products.first`. */
  path?: string;
  message: string;
  /** Why inspector rates it so (breaking and dangerous changes). */
  reason?: string;
}

const LEVELS: Record<CriticalityLevel, Level> = {
  [CriticalityLevel.Breaking]: 'breaking',
  [CriticalityLevel.Dangerous]: 'dangerous',
  [CriticalityLevel.NonBreaking]: 'safe',
};

export async function diffSchemas(oldSchema: GraphQLSchema, newSchema: GraphQLSchema): Promise<SchemaChange[]> {
  const changes: Change[] = await diff(oldSchema, newSchema);
  const order: Level[] = ['breaking', 'dangerous', 'safe'];
  return changes
    .map((change) => ({
      level: LEVELS[change.criticality.level],
      type: String(change.type),
      ...(change.path ? { path: change.path } : {}),
      message: change.message,
      ...(change.criticality.reason ? { reason: change.criticality.reason } : {}),
    }))
    .sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level) || (a.path ?? '').localeCompare(b.path ?? ''));
}

/** Changes that concern every operation using the type at all, not just one field of it. */
const TYPE_WIDE = new Set([
  'TYPE_REMOVED',
  'TYPE_KIND_CHANGED',
  'ENUM_VALUE_REMOVED',
  'UNION_MEMBER_REMOVED',
  'OBJECT_TYPE_INTERFACE_REMOVED',
  'INPUT_FIELD_ADDED',
  // dangerous: clients may meet a value or type they do not handle
  'ENUM_VALUE_ADDED',
  'UNION_MEMBER_ADDED',
  'OBJECT_TYPE_INTERFACE_ADDED',
  'INPUT_FIELD_DEFAULT_VALUE_CHANGED',
]);
/** Changes that concern every operation selecting the field (a new required argument, a changed default). */
const FIELD_WIDE = new Set(['FIELD_ARGUMENT_ADDED', 'FIELD_ARGUMENT_DEFAULT_CHANGED']);

/**
 * The operations a change breaks: those that use the removed or changed
 * field, argument, input field or enum value — or, for type-wide changes,
 * the type. `usage` must be computed against the schema the operations were
 * written for (the baseline), where the removed parts still exist.
 */
export function affectedOperations(
  change: SchemaChange,
  operations: { operation: ClientOperation; usage: OperationUsage }[],
): ClientOperation[] {
  const path = change.path;
  if (!path) return [];
  const segments = path.split('.');
  return operations
    .filter(({ usage }) => {
      if (TYPE_WIDE.has(change.type)) return usage.types.has(segments[0]!);
      if (FIELD_WIDE.has(change.type)) return usage.coordinates.has(segments.slice(0, 2).join('.'));
      if (segments.length === 1 && usage.types.has(path)) return true;
      for (const coordinate of usage.coordinates) {
        if (coordinate === path || coordinate.startsWith(`${path}.`)) return true;
      }
      return false;
    })
    .map(({ operation }) => operation);
}
