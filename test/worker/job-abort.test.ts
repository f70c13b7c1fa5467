import { describe, expect, it } from 'vitest';
import { JobAbort } from '../../src/core/job-abort.ts';

describe('JobAbort', () => {
  it('gives a handler an aborted signal with the reason, also when it first asks after the abort', () => {
    const abort = new JobAbort();
    abort.abort('cancelled');
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe('cancelled');
    expect(() => abort.signal.throwIfAborted()).toThrow();
  });

  it('fires a signal taken earlier, keeps the first reason and tells each listener once', () => {
    const abort = new JobAbort();
    const signal = abort.signal;
    const heard: string[] = [];
    abort.onAbort((reason) => heard.push(reason));
    signal.addEventListener('abort', () => heard.push(`signal:${String(signal.reason)}`));
    abort.abort('shutdown');
    abort.abort('cancelled');
    expect(abort.reason).toBe('shutdown');
    expect(heard).toEqual(['signal:shutdown', 'shutdown']);
  });

  it('does not call a listener added after the abort', () => {
    const abort = new JobAbort();
    abort.abort('lost');
    const heard: string[] = [];
    abort.onAbort((reason) => heard.push(reason));
    expect(heard).toEqual([]);
    expect(abort.aborted).toBe(true);
  });
});
