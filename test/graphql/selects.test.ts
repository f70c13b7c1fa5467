// selects(): whether a field's selection may read a field, through fragments.
import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { selects } from '../../src/graphql/selects.ts';

/** The info of the operation's first root field, as graphql-js gives it to its resolver. */
function infoOf(document: string) {
  const parsed = parse(document);
  const operation = parsed.definitions.find((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    parsed.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  return { fieldNodes: [operation.selectionSet.selections[0] as FieldNode], fragments };
}

describe('selects', () => {
  it.each([
    ['subscription { jobEvents { id status } }', false],
    ['subscription { jobEvents { id job { id } } }', true],
    ['subscription { jobEvents { id owner: job { id } } }', true],
    ['subscription { jobEvents { id ... on JobEvent { job { id } } } }', true],
    ['subscription { jobEvents { id ... @include(if: false) { job { id } } } }', true],
    ['subscription { jobEvents { ...E } } fragment E on JobEvent { id job { id } }', true],
    ['subscription { jobEvents { ...E } } fragment E on JobEvent { id ...F } fragment F on JobEvent { job { id } }', true],
    ['subscription { jobEvents { ...E } } fragment E on JobEvent { id ...E }', false],
    ['subscription { jobEvents { ...Missing } }', true],
    // A field of the same name deeper down is not the event's.
    ['subscription { jobEvents { id step { job { id } } } }', false],
  ])('%s: %s', (document, expected) => {
    expect(selects(infoOf(document), 'job')).toBe(expected);
  });
});
