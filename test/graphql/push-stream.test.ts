import { describe, expect, it } from 'vitest';
import { pushStream } from '../../src/graphql/push-stream.ts';

describe('pushStream', () => {
  it('delivers values pushed before and while waiting, in order', async () => {
    let push!: (value: number) => void;
    const stream = pushStream<number>((p) => ((push = p), () => undefined));
    push(1);
    push(2);
    expect(await stream.next()).toEqual({ value: 1, done: false });
    expect(await stream.next()).toEqual({ value: 2, done: false });
    const waiting = stream.next();
    push(3);
    expect(await waiting).toEqual({ value: 3, done: false });
  });

  it('return() ends a waiting next(), cleans up once and ignores later pushes', async () => {
    let push!: (value: number) => void;
    let cleanups = 0;
    const stream = pushStream<number>((p) => ((push = p), () => void cleanups++));
    const waiting = stream.next();
    expect(await stream.return!()).toEqual({ value: undefined, done: true });
    expect(await waiting).toEqual({ value: undefined, done: true });
    push(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await stream.return!();
    expect(cleanups).toBe(1);
  });

  it('fail() delivers the queued values, then the error, then ends; cleans up at once', async () => {
    let push!: (value: number) => void;
    let fail!: (error: Error) => void;
    let cleanups = 0;
    const stream = pushStream<number>((p, f) => ((push = p), (fail = f), () => void cleanups++));
    push(1);
    fail(new Error('boom'));
    expect(cleanups).toBe(1);
    expect(await stream.next()).toEqual({ value: 1, done: false });
    await expect(stream.next()).rejects.toThrow('boom');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('fail() rejects a waiting next(); a failure during start still cleans up', async () => {
    let fail!: (error: Error) => void;
    const stream = pushStream<number>((_p, f) => ((fail = f), () => undefined));
    const waiting = stream.next();
    fail(new Error('lost'));
    await expect(waiting).rejects.toThrow('lost');

    let cleanups = 0;
    const early = pushStream<number>((_p, f) => (f(new Error('at once')), () => void cleanups++));
    expect(cleanups).toBe(1);
    await expect(early.next()).rejects.toThrow('at once');
  });

  it('push() answers how many values wait; drained() resolves once the consumer has taken them all (or the stream ends)', async () => {
    let push!: (value: number) => number;
    let drained!: () => Promise<void>;
    const stream = pushStream<number>((p, _f, d) => ((push = p), (drained = d), () => undefined));
    await drained(); // nothing waits
    expect(push(1)).toBe(1);
    expect(push(2)).toBe(2);
    let done = false;
    const empty = drained().then(() => (done = true));
    await stream.next();
    await Promise.resolve();
    expect(done).toBe(false);
    await stream.next();
    await empty;
    expect(done).toBe(true);
    const waiting = stream.next();
    expect(push(3)).toBe(0); // handed to the waiting consumer
    expect(await waiting).toEqual({ value: 3, done: false });
    push(4);
    const ended = drained();
    await stream.return!();
    await ended;
  });
});
