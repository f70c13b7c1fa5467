// What a field's selection asks for, read from its document before it runs.
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Whether the selection of the field being resolved may read `field` of what
 * it returns: named there, or in a fragment it spreads (whatever the type
 * condition or the directives). False only when it surely does not: what
 * depends on it (jobEvents' job rows, read only for subscribers that select
 * `job`) must still answer right, only slower, when true is answered for nothing.
 */
export function selects(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, field: string): boolean {
  const spread = new Set<string>();
  const within = (set: SelectionSetNode | undefined): boolean =>
    set?.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === field;
      if (selection.kind === Kind.INLINE_FRAGMENT) return within(selection.selectionSet);
      const name = selection.name.value;
      if (spread.has(name)) return false;
      spread.add(name);
      const fragment = info.fragments[name];
      return fragment ? within(fragment.selectionSet) : true;
    }) ?? false;
  return info.fieldNodes.some((node) => within(node.selectionSet));
}
