import { Kind, type FieldNode, type SelectionSetNode, type ValidationRule } from 'graphql';
import { memoizeFragments } from './fragments.ts';
import { limitExceeded } from './limit-error.ts';

/**
 * Refuses operations nested deeper than `max` fields, counting fragments where
 * they are spread. `{ me { name } }` has depth 2. Introspection subtrees do not
 * count: their depth is fixed by the introspection schema, and whether they are
 * allowed at all is the `introspection` setting's business.
 */
export function maxDepthRule(max: number): ValidationRule {
  return (context) => {
    const fragmentDepth = memoizeFragments(
      (name) => context.getFragment(name) ?? undefined,
      (f) => depthOf(f.selectionSet),
      0,
    );
    const fieldDepth = (field: FieldNode): number =>
      isIntrospection(field) ? 0 : 1 + (field.selectionSet ? depthOf(field.selectionSet) : 0);
    function depthOf(set: SelectionSetNode): number {
      let deepest = 0;
      for (const selection of set.selections) {
        const depth =
          selection.kind === Kind.FIELD
            ? fieldDepth(selection)
            : selection.kind === Kind.INLINE_FRAGMENT
              ? depthOf(selection.selectionSet)
              : fragmentDepth(selection.name.value);
        deepest = Math.max(deepest, depth);
      }
      return deepest;
    }
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet);
        if (depth > max) {
          context.reportError(
            limitExceeded('depth', `Operation is nested ${depth} levels deep; the limit is ${max}.`, operation),
          );
        }
      },
    };
  };
}

const isIntrospection = (field: FieldNode) => field.name.value === '__schema' || field.name.value === '__type';
