// Relay global ids as tests and benchmarks meet them.

/** The UUID inside a global ID (base64 of "<Type>:<uuid>"), to reach the row in SQL. */
export function uuidOf(globalId: string): string {
  const [, uuid] = Buffer.from(globalId, 'base64').toString().split(':');
  if (!uuid) throw new Error(`not a global id: ${globalId}`);
  return uuid;
}
