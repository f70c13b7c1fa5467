// A failed attempt's error as stored in job.error (seed 000's
// mark_as_failed(error: dict)): its class, its message, and any data the
// handler attached to it (a `data` field on the thrown error).

export interface JobError {
  readonly name: string;
  readonly message: string;
  readonly data?: unknown;
}

/** The JobError of anything a handler threw or returned. */
export function jobErrorOf(error: unknown): JobError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  // A subclass that does not set `name` still says which class it is.
  const name = error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error';
  const data = jsonData((error as { data?: unknown }).data);
  return { name, message: error.message || name, ...(data !== undefined ? { data } : {}) };
}

// Data that JSON cannot carry (a cycle, a BigInt) is left out rather than failing the write.
function jsonData(data: unknown): unknown {
  if (data === undefined) return undefined;
  try {
    const text = JSON.stringify(data);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
