// @ts-check
/**
 * A graphql-codegen plugin for trusted (persisted) documents.
 *
 *   output: 'manifest'  → JSON object `{ "<sha256 hex>": "<operation text>" }`, the
 *                         format GraphQL Hive and Apollo-style persisted-document
 *                         stores load (a gateway in "persisted only" mode runs
 *                         nothing else).
 *   output: 'ids'       → TypeScript: `documentIds`, operation name → that hash, for
 *                         clients that send `{ documentId }` or an APQ hash.
 *
 * The text of an operation is `print()` of the operation followed by every
 * fragment it uses, each after the fragments it spreads itself (depth-first,
 * in order of first use) — the same definitions, in the same order, as the
 * TypedDocumentNode the typed-document-node plugin emits, so
 * `sha256(print(document))` on the client gives the same id.
 *
 * Fragments are scoped to their app folder (clients/<app>/), as in
 * scripts/schema/lib/operations.ts. Plain JavaScript: codegen imports plugins
 * with Node's own loader, which does not read TypeScript on Node 20.
 */
import { createHash } from 'node:crypto';
import { relative, resolve, sep } from 'node:path';
import { Kind, print, visit } from 'graphql';

/**
 * @param {string} clientsDir
 * @param {string} location
 */
const appOf = (clientsDir, location) => {
  const parts = relative(clientsDir, resolve(location)).split(sep);
  return parts.length > 1 && parts[0] !== '..' ? parts[0] : '(shared)';
};

/**
 * @param {import('graphql').GraphQLSchema} _schema
 * @param {{ location?: string, document?: import('graphql').DocumentNode }[]} documents
 * @param {{ output?: 'manifest' | 'ids', clientsDir?: string }} config
 */
export const plugin = (_schema, documents, config) => {
  /** @type {Map<string, { operations: import('graphql').OperationDefinitionNode[], fragments: Map<string, import('graphql').FragmentDefinitionNode> }>} */
  const apps = new Map();
  for (const file of documents) {
    if (!file.document) continue;
    const app = appOf(config.clientsDir ?? resolve('clients'), file.location ?? '');
    const entry = apps.get(app) ?? { operations: [], fragments: new Map() };
    apps.set(app, entry);
    for (const definition of file.document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) entry.operations.push(definition);
      if (definition.kind === Kind.FRAGMENT_DEFINITION) entry.fragments.set(definition.name.value, definition);
    }
  }

  /** @type {{ name: string, hash: string, text: string }[]} */
  const entries = [];
  for (const { operations, fragments } of apps.values()) {
    for (const operation of operations) {
      /** @type {import('graphql').FragmentDefinitionNode[]} */
      const used = [];
      const seen = new Set();
      /** @param {import('graphql').ASTNode} node */
      const walk = (node) =>
        visit(node, {
          FragmentSpread(spread) {
            const name = spread.name.value;
            if (seen.has(name)) return;
            seen.add(name);
            const fragment = fragments.get(name);
            if (!fragment) throw new Error(`${operation.name?.value}: unknown fragment ${name}`);
            walk(fragment.selectionSet);
            used.push(fragment);
          },
        });
      walk(operation.selectionSet);
      const text = print({ kind: Kind.DOCUMENT, definitions: [operation, ...used] });
      entries.push({ name: operation.name?.value ?? '', hash: createHash('sha256').update(text).digest('hex'), text });
    }
  }

  if (config.output === 'ids') {
    const lines = entries.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, hash }) => `  ${name}: '${hash}',`);
    return [
      '',
      "/** sha256 of each operation's text in trusted-documents.json: send it as the persisted document id. */",
      'export const documentIds = {',
      ...lines,
      '} as const;',
      '',
    ].join('\n');
  }
  const manifest = Object.fromEntries(
    entries.sort((a, b) => a.hash.localeCompare(b.hash)).map((e) => [e.hash, e.text]),
  );
  return `${JSON.stringify(manifest, null, 2)}\n`;
};

export default { plugin };
