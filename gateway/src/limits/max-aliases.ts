import { Kind, type SelectionSetNode, type ValidationRule } from 'graphql';
import { memoizeFragments } from './fragments.ts';
import { limitExceeded } from './limit-error.ts';

/**
 * Refuses operations with more than `max` aliases, counting a fragment's
 * aliases at every spread. Aliases are how one request asks for the same
 * expensive field many times (`a: products(…) b: products(…) …`).
 */
export function maxAliasesRule(max: number): ValidationRule {
  return (context) => {
    const fragmentAliases = memoizeFragments(
      (name) => context.getFragment(name) ?? undefined,
      (f) => aliasesIn(f.selectionSet),
      0,
    );
    function aliasesIn(set: SelectionSetNode): number {
      let count = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          count += (selection.alias ? 1 : 0) + (selection.selectionSet ? aliasesIn(selection.selectionSet) : 0);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) count += aliasesIn(selection.selectionSet);
        else count += fragmentAliases(selection.name.value);
      }
      return count;
    }
    return {
      OperationDefinition(operation) {
        const aliases = aliasesIn(operation.selectionSet);
        if (aliases > max) {
          context.reportError(
            limitExceeded('aliases', `Operation uses ${aliases} aliases; the limit is ${max}.`, operation),
          );
        }
      },
    };
  };
}
