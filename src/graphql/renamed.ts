// Fields and arguments renamed so that one concept has one name: the old name
// stays, deprecated, so existing clients keep working (docs/naming.md).

/** The deprecationReason of an old name: which name replaced it. */
export function renamedTo(name: string): string {
  return `Use ${name} (the same value under its one name; docs/naming.md).`;
}
