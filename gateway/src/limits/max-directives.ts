import { Kind, type SelectionSetNode, type ValidationRule } from 'graphql';
import { memoizeFragments } from './fragments.ts';
import { limitExceeded } from './limit-error.ts';

/**
 * Refuses operations with more than `max` directives in all (on the operation,
 * its variables, fields and fragments, counting a fragment at every spread).
 * Thousands of directives make validation itself the expensive part.
 */
export function maxDirectivesRule(max: number): ValidationRule {
  return (context) => {
    const fragmentDirectives = memoizeFragments(
      (name) => context.getFragment(name) ?? undefined,
      (f) => (f.directives?.length ?? 0) + directivesIn(f.selectionSet),
      0,
    );
    function directivesIn(set: SelectionSetNode): number {
      let count = 0;
      for (const selection of set.selections) {
        count += selection.directives?.length ?? 0;
        if (selection.kind === Kind.FRAGMENT_SPREAD) count += fragmentDirectives(selection.name.value);
        else if (selection.selectionSet) count += directivesIn(selection.selectionSet);
      }
      return count;
    }
    return {
      OperationDefinition(operation) {
        const onVariables = (operation.variableDefinitions ?? []).reduce((n, v) => n + (v.directives?.length ?? 0), 0);
        const directives = (operation.directives?.length ?? 0) + onVariables + directivesIn(operation.selectionSet);
        if (directives > max) {
          context.reportError(
            limitExceeded('directives', `Operation uses ${directives} directives; the limit is ${max}.`, operation),
          );
        }
      },
    };
  };
}
