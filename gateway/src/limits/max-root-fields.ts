import { Kind, type SelectionSetNode, type ValidationRule } from 'graphql';
import { limitExceeded } from './limit-error.ts';

/**
 * Refuses operations selecting more than `max` root fields. Each distinct
 * response key at the root (`a: product(…)`, `b: product(…)`, `orders`, …)
 * is a separate resolution the gateway may send to a subgraph; repeating the
 * same key merges into one and `__typename` costs nothing, so neither counts.
 */
export function maxRootFieldsRule(max: number): ValidationRule {
  return (context) => {
    function collectKeys(set: SelectionSetNode, keys: Set<string>, seenFragments: Set<string>): void {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value !== '__typename') keys.add(selection.alias?.value ?? selection.name.value);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) collectKeys(selection.selectionSet, keys, seenFragments);
        else if (!seenFragments.has(selection.name.value)) {
          seenFragments.add(selection.name.value);
          const fragment = context.getFragment(selection.name.value);
          if (fragment) collectKeys(fragment.selectionSet, keys, seenFragments);
        }
      }
    }
    return {
      OperationDefinition(operation) {
        const keys = new Set<string>();
        collectKeys(operation.selectionSet, keys, new Set());
        if (keys.size > max) {
          context.reportError(
            limitExceeded('rootFields', `Operation selects ${keys.size} root fields; the limit is ${max}.`, operation),
          );
        }
      },
    };
  };
}
