import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import type { Principal, Scope } from '../../src/auth/principal.ts';
import { pushStream } from '../../src/graphql/push-stream.ts';
import { principalShareKey, sharedSubscribe, shareExecutions, type MessageHead } from '../../src/graphql/shared-execution.ts';

/** A schema whose `event` subscription yields what `publish` sends; `executions` counts its field's resolves. */
function eventSchema() {
  const sinks = new Set<(event: { n: number }) => void>();
  const failures = new Set<(error: Error) => void>();
  const counter = { executions: 0 };
  const Event = new GraphQLObjectType({
    name: 'Event',
    fields: {
      n: { type: GraphQLInt },
      // An error at event 2 (a result with errors).
      checked: {
        type: GraphQLInt,
        resolve: (event: { n: number }) => {
          if (event.n === 2) throw new Error('two is refused');
          return event.n;
        },
      },
      seenBy: {
        type: GraphQLString,
        resolve: (_event, _args, context: { who: string }) => {
          counter.executions++;
          return context.who;
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        event: {
          type: Event,
          subscribe: () =>
            pushStream<{ n: number }>((push, fail) => {
              sinks.add(push);
              failures.add(fail);
              return () => (sinks.delete(push), failures.delete(fail));
            }),
          resolve: (event: { n: number }) => event,
        },
      },
    }),
  });
  // Every subscriber gets the same object, as jobs/live.ts hands out its records.
  const publish = (n: number) => {
    const event = { n };
    sinks.forEach((sink) => sink(event));
  };
  const failAll = (error: Error) => [...failures].forEach((fail) => fail(error));
  return { schema, publish, failAll, counter };
}

const QUERY = 'subscription { event { n seenBy } }';

async function subscribe(schema: GraphQLSchema, who: string, principalKey?: string) {
  const contextValue = { who };
  if (principalKey !== undefined) shareExecutions(contextValue, principalKey, { query: QUERY });
  const stream = await sharedSubscribe({ schema, document: parse(QUERY), contextValue });
  if (!(Symbol.asyncIterator in stream)) throw new Error(JSON.stringify(stream));
  return stream as AsyncIterableIterator<ExecutionResult>;
}

const values = async (stream: AsyncIterableIterator<ExecutionResult>, count: number) => {
  const out = [];
  for (let i = 0; i < count; i++) out.push((await stream.next()).value);
  return out;
};

describe('shared subscription executions', () => {
  it('subscriptions with the same share key execute each event once and all get it, in order', async () => {
    const { schema, publish, counter } = eventSchema();
    const subscribers = await Promise.all([subscribe(schema, 'first', 'p'), subscribe(schema, 'second', 'p'), subscribe(schema, 'third', 'p')]);
    publish(1);
    publish(2);
    const received = await Promise.all(subscribers.map((stream) => values(stream, 2)));
    // The first subscriber's execution answered for all three.
    for (const got of received) expect(got).toEqual([{ data: { event: { n: 1, seenBy: 'first' } } }, { data: { event: { n: 2, seenBy: 'first' } } }]);
    expect(counter.executions).toBe(2);
    await Promise.all(subscribers.map((stream) => stream.return!()));
  });

  it('another share key (another principal, query or variables), or none, executes on its own', async () => {
    const { schema, publish, counter } = eventSchema();
    const subscribers = await Promise.all([subscribe(schema, 'a', 'p'), subscribe(schema, 'b', 'q'), subscribe(schema, 'c')]);
    publish(1);
    const received = await Promise.all(subscribers.map((stream) => values(stream, 1)));
    expect(received.map(([result]) => (result as ExecutionResult<{ event: { seenBy: string } }>).data!.event.seenBy)).toEqual(['a', 'b', 'c']);
    expect(counter.executions).toBe(3);
    await Promise.all(subscribers.map((stream) => stream.return!()));
  });

  it('return() ends the source stream', async () => {
    const { schema, publish } = eventSchema();
    const stream = await subscribe(schema, 'a', 'p');
    await stream.return!();
    publish(1);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });
});

/** A writer as http/websocket.ts gives: records each message; `hold` makes the next write wait until `release`. */
function recordingWriter() {
  const messages: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let held: (() => void) | null = null;
  let holdNext = false;
  return {
    messages,
    hold: () => (holdNext = true),
    release: () => held?.(),
    /** Resolves once `count` messages were written. */
    until: (count: number) => new Promise<void>((resolve) => (messages.length >= count ? resolve() : waiters.push({ count, resolve }))),
    write(head: MessageHead, tail: Buffer) {
      messages.push(head.text + tail.toString());
      waiters.filter((waiter) => messages.length >= waiter.count).forEach((waiter) => waiter.resolve());
      if (!holdNext) return undefined;
      holdNext = false;
      return new Promise<void>((resolve) => (held = resolve));
    },
  };
}

async function subscribeDirect(schema: GraphQLSchema, query: string, who: string, id: string, writer: ReturnType<typeof recordingWriter>) {
  const contextValue = { who };
  shareExecutions(contextValue, 'p', { query }, { id, writer });
  const stream = await sharedSubscribe({ schema, document: parse(query), contextValue });
  if (!(Symbol.asyncIterator in stream)) throw new Error(JSON.stringify(stream));
  return stream as AsyncIterableIterator<ExecutionResult>;
}

const nextMessage = (id: string, payload: ExecutionResult) => stringifyMessage({ id, type: MessageType.Next, payload });

describe('shared subscription executions written straight to the socket', () => {
  it("writes graphql-ws's own next message for each event, executed once for all, to each subscriber's id", async () => {
    const { schema, publish, counter } = eventSchema();
    const writers = [recordingWriter(), recordingWriter()];
    const streams = await Promise.all(writers.map((writer, index) => subscribeDirect(schema, QUERY, index ? 'second' : 'first', `op-${index}`, writer)));
    // graphql-ws asks for the next result; none comes back while they are written here.
    const pending = streams.map((stream) => stream.next());
    publish(1);
    publish(2);
    await Promise.all(writers.map((writer) => writer.until(2)));
    writers.forEach((writer, index) =>
      expect(writer.messages).toEqual([
        nextMessage(`op-${index}`, { data: { event: { n: 1, seenBy: 'first' } } }),
        nextMessage(`op-${index}`, { data: { event: { n: 2, seenBy: 'first' } } }),
      ]),
    );
    expect(counter.executions).toBe(2);
    await Promise.all(streams.map((stream) => stream.return!()));
    expect(await Promise.all(pending)).toEqual([
      { done: true, value: undefined },
      { done: true, value: undefined },
    ]);
  });

  it('hands a result with errors to graphql-ws (for masking and the error count), in order between the written ones', async () => {
    const { schema, publish } = eventSchema();
    const query = 'subscription { event { checked } }';
    const writer = recordingWriter();
    const stream = await subscribeDirect(schema, query, 'a', 'op', writer);
    const second = stream.next();
    publish(1);
    publish(2);
    publish(3);
    const result = (await second).value as ExecutionResult;
    expect(result.errors?.map((error) => error.message)).toEqual(['two is refused']);
    // Event 3 waits until graphql-ws has taken event 2's result.
    expect(writer.messages).toEqual([nextMessage('op', { data: { event: { checked: 1 } } })]);
    const fourth = stream.next();
    await writer.until(2);
    expect(writer.messages[1]).toBe(nextMessage('op', { data: { event: { checked: 3 } } }));
    await stream.return!();
    expect(await fourth).toEqual({ done: true, value: undefined });
  });

  it('a failing source: what was pushed before is written, then graphql-ws gets the error', async () => {
    const { schema, publish, failAll } = eventSchema();
    const writer = recordingWriter();
    const stream = await subscribeDirect(schema, QUERY, 'a', 'op', writer);
    const pending = stream.next();
    writer.hold();
    publish(1);
    publish(2);
    failAll(new Error('the log is gone'));
    await writer.until(1);
    writer.release();
    await expect(pending).rejects.toThrow('the log is gone');
    expect(writer.messages).toEqual([1, 2].map((n) => nextMessage('op', { data: { event: { n, seenBy: 'a' } } })));
  });

  it('takes the next event only once a held write (a slow client) is written', async () => {
    const { schema, publish } = eventSchema();
    const writer = recordingWriter();
    const stream = await subscribeDirect(schema, QUERY, 'a', 'op', writer);
    const pending = stream.next();
    writer.hold();
    publish(1);
    publish(2);
    await writer.until(1);
    // Event 2 is queued in the subscription (bounded there), not written.
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.messages).toHaveLength(1);
    writer.release();
    await writer.until(2);
    expect(writer.messages[1]).toBe(nextMessage('op', { data: { event: { n: 2, seenBy: 'a' } } }));
    await stream.return!();
    await pending;
  });
});

describe('principalShareKey', () => {
  const principal = (overrides: Partial<Principal> = {}, scopes: Scope[] = ['jobs:read', 'jobs:write']): Principal => ({
    principalId: 'key:1',
    tenantId: 'acme',
    scopes: new Set(scopes),
    expiresAt: null,
    apiKeyId: '1',
    ...overrides,
  });

  it('differs with anything that can change an answer: id, tenant, scopes, key', () => {
    const base = principalShareKey(principal());
    expect(principalShareKey(principal({ principalId: 'key:2' }))).not.toBe(base);
    expect(principalShareKey(principal({ tenantId: 'other' }))).not.toBe(base);
    expect(principalShareKey(principal({}, ['jobs:read']))).not.toBe(base);
    expect(principalShareKey(principal({}, ['jobs:read', 'jobs:write', 'admin']))).not.toBe(base);
    expect(principalShareKey(principal({ apiKeyId: '2' }))).not.toBe(base);
  });

  it('is the same for the same principal whatever its expiry or the order of its scopes', () => {
    const base = principalShareKey(principal());
    expect(principalShareKey(principal({ expiresAt: new Date() }))).toBe(base);
    expect(principalShareKey(principal({}, ['jobs:write', 'jobs:read']))).toBe(base);
  });
});
