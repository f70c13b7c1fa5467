// A list of disposers, drained even when a test fails, so a forgotten close
// cannot leak a server, socket, subscription or process into the next test
// (graphql-ws keeps the same list in tests/utils/tservers.ts). What a test
// opens is closed when that test ends; what a file's beforeAll opens, when the
// file ends. Disposers run newest first: a server stops before its database goes.
import { afterAll, onTestFinished } from 'vitest';

type Disposer = () => unknown;

const afterFile: Disposer[] = [];

/** Closes with `fn` at the end of the current test, or of the file outside a test. */
export function dispose(fn: Disposer): void {
  try {
    onTestFinished(async () => drain([fn]));
  } catch {
    // Not inside a test (a beforeAll, or the file's top level): the file owns it.
    afterFile.push(fn);
  }
}

async function drain(disposers: Disposer[]): Promise<void> {
  const errors: unknown[] = [];
  for (const fn of disposers.splice(0).reverse()) {
    try {
      await fn();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} disposers failed`);
}

// Registered when a test file first imports this module (each file has its own module instance).
afterAll(() => drain(afterFile));

/** Wraps `close` so that it runs once, however often it is called (by a test and by the disposer list). */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
