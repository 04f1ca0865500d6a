import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import {
  getNamedType,
  GraphQLError,
  isEnumType,
  isInputObjectType,
  Kind,
  parse,
  Source,
  typeFromAST,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type OperationTypeNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * The operations shipped web and mobile apps send, read from
 * `clients/<app>/**\/*.graphql`. Fragments are scoped to their app: an
 * operation may spread any fragment defined anywhere in its app's folder.
 */
export const CLIENTS_DIR = 'clients';
/** Generated output lives here and is not read as client documents. */
export const GENERATED_DIR = `${CLIENTS_DIR}/generated`;

export interface ClientOperation {
  /** The app folder under clients/, e.g. `web` or `mobile`. */
  app: string;
  name: string;
  kind: 'query' | 'mutation' | 'subscription';
  file: string;
  line: number;
  /** The operation followed by every fragment it uses, directly or not. */
  document: DocumentNode;
}

export interface OperationProblem {
  file: string;
  line: number;
  column: number;
  message: string;
  /** `app/OperationName`, when the problem belongs to one operation. */
  operation?: string;
}

export interface ClientDocuments {
  files: string[];
  operations: ClientOperation[];
  /** Files that do not parse, duplicate or anonymous operations, unknown fragments. */
  problems: OperationProblem[];
}

function findDocuments(root: string, dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir)).sort();
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = posix.join(dir, entry);
    if (entry.startsWith('.') || entry === 'node_modules' || path === GENERATED_DIR) return [];
    if (statSync(join(root, path)).isDirectory()) return findDocuments(root, path);
    return /\.(graphql|gql)$/.test(entry) ? [path] : [];
  });
}

const at = (file: string, node: { loc?: { startToken: { line: number; column: number } } | undefined }) => ({
  file,
  line: node.loc?.startToken.line ?? 1,
  column: node.loc?.startToken.column ?? 1,
});

export function loadClientDocuments(root: string): ClientDocuments {
  const files = findDocuments(root, CLIENTS_DIR);
  const problems: OperationProblem[] = [];
  interface AppDocuments {
    operations: { node: OperationDefinitionNode; file: string }[];
    fragments: Map<string, { node: FragmentDefinitionNode; file: string }>;
  }
  const apps = new Map<string, AppDocuments>();

  for (const file of files) {
    const segments = file.split('/');
    const app = segments.length > 2 ? segments[1]! : '(shared)';
    const entry: AppDocuments = apps.get(app) ?? { operations: [], fragments: new Map() };
    apps.set(app, entry);
    let document: DocumentNode;
    try {
      document = parse(new Source(readFileSync(join(root, file), 'utf8'), file));
    } catch (error) {
      const e = error as GraphQLError;
      const location = e.locations?.[0] ?? { line: 1, column: 1 };
      problems.push({ file, line: location.line, column: location.column, message: e.message });
      continue;
    }
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) {
        if (!definition.name) {
          problems.push({
            ...at(file, definition),
            message: `Anonymous ${definition.operation}: give every client operation a name (trusted documents and metrics need one)`,
          });
          continue;
        }
        const name = definition.name.value;
        const clash = entry.operations.find((o) => o.node.name!.value === name);
        if (clash) {
          problems.push({
            ...at(file, definition),
            operation: `${app}/${name}`,
            message: `Operation "${name}" is also defined at ${clash.file}:${at(clash.file, clash.node).line}; names must be unique per app`,
          });
          continue;
        }
        entry.operations.push({ node: definition, file });
      } else if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        const name = definition.name.value;
        const clash = entry.fragments.get(name);
        if (clash) {
          problems.push({
            ...at(file, definition),
            message: `Fragment "${name}" is also defined at ${clash.file}:${at(clash.file, clash.node).line}; names must be unique per app`,
          });
          continue;
        }
        entry.fragments.set(name, { node: definition, file });
      } else {
        problems.push({
          ...at(file, definition),
          message: `Only operations and fragments belong in client documents, found ${definition.kind}`,
        });
      }
    }
  }

  const operations: ClientOperation[] = [];
  for (const [app, { operations: defined, fragments }] of apps) {
    for (const { node, file } of defined) {
      // Each fragment after those it spreads (as typed-document-node orders them), so hashes are stable.
      const used: FragmentDefinitionNode[] = [];
      const seen = new Set<string>();
      const walk = (selectionSet: SelectionSetNode, from: string) => {
        visit(selectionSet, {
          FragmentSpread: (spread) => {
            const name = spread.name.value;
            if (seen.has(name)) return;
            seen.add(name);
            const fragment = fragments.get(name);
            if (!fragment) {
              problems.push({
                ...at(from, spread),
                operation: `${app}/${node.name!.value}`,
                message: `Unknown fragment "${name}" (fragments must be defined in clients/${app}/)`,
              });
              return;
            }
            walk(fragment.node.selectionSet, fragment.file);
            used.push(fragment.node);
          },
        });
      };
      walk(node.selectionSet, file);
      operations.push({
        app,
        name: node.name!.value,
        kind: node.operation,
        file,
        line: at(file, node).line,
        document: { kind: Kind.DOCUMENT, definitions: [node, ...used] },
      });
    }
  }
  return { files, operations, problems };
}

/** Validates each operation (with its fragments) against a schema, locating errors in their files. */
export function validateOperations(operations: ClientOperation[], schema: GraphQLSchema): OperationProblem[] {
  return operations.flatMap((operation) =>
    validate(schema, operation.document).map((error) => {
      const node = error.nodes?.[0];
      const location = node?.loc
        ? { line: node.loc.startToken.line, column: node.loc.startToken.column }
        : (error.locations?.[0] ?? { line: operation.line, column: 1 });
      return {
        file: node?.loc?.source.name ?? operation.file,
        ...location,
        operation: `${operation.app}/${operation.name}`,
        message: error.message,
      };
    }),
  );
}

/**
 * Schema coordinates an operation touches, resolved against `schema`:
 * `Type.field`, `Type.field.arg`, `Input.field`, `Enum.VALUE`, `@directive`
 * and every named type it reaches. A variable of an input type touches all of
 * that type's fields (the client may send any of them).
 */
export interface OperationUsage {
  coordinates: Set<string>;
  types: Set<string>;
}

export function operationUsage(operation: ClientOperation, schema: GraphQLSchema): OperationUsage {
  const coordinates = new Set<string>();
  const types = new Set<string>();
  const addInput = (type: GraphQLNamedType, seen = new Set<string>()) => {
    if (seen.has(type.name)) return;
    seen.add(type.name);
    types.add(type.name);
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        coordinates.add(`${type.name}.${field.name}`);
        addInput(getNamedType(field.type), seen);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) coordinates.add(`${type.name}.${value.name}`);
    }
  };
  const typeInfo = new TypeInfo(schema);
  visit(
    operation.document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition: () => {
        const root = schema.getRootType(operation.kind as OperationTypeNode);
        if (root) types.add(root.name);
      },
      Field: () => {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field) return;
        types.add(parent.name);
        coordinates.add(`${parent.name}.${field.name}`);
        types.add(getNamedType(field.type).name);
      },
      Argument: (node) => {
        const directive = typeInfo.getDirective();
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (directive) coordinates.add(`@${directive.name}.${node.name.value}`);
        else if (parent && field) coordinates.add(`${parent.name}.${field.name}.${node.name.value}`);
        const argument = typeInfo.getArgument();
        if (argument) types.add(getNamedType(argument.type).name);
      },
      ObjectField: (node) => {
        const parent = typeInfo.getParentInputType();
        const named = parent ? getNamedType(parent) : undefined;
        if (named) coordinates.add(`${named.name}.${node.name.value}`);
        const type = typeInfo.getInputType();
        if (type) types.add(getNamedType(type).name);
      },
      EnumValue: (node) => {
        const type = typeInfo.getInputType();
        if (type) coordinates.add(`${getNamedType(type).name}.${node.value}`);
      },
      VariableDefinition: (node) => {
        const type = typeFromAST(schema, node.type as never);
        if (type) addInput(getNamedType(type));
      },
      InlineFragment: (node) => void (node.typeCondition && types.add(node.typeCondition.name.value)),
      FragmentDefinition: (node) => void types.add(node.typeCondition.name.value),
      Directive: (node) => void coordinates.add(`@${node.name.value}`),
    }),
  );
  return { coordinates, types };
}
