// A subscription's messages written straight to its socket (http/websocket.ts's
// directWriter) arrive as ws's own `send` would frame them: whole text
// messages of any length, multi-byte characters counted in bytes, in order
// with what ws itself sends, and through ws's `send` when an extension
// (permessage-deflate) was negotiated.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { directWriter } from '../../src/http/websocket.ts';
import { messageHead, type MessageHead } from '../../src/graphql/shared-execution.ts';
import { dispose } from '../support/dispose.ts';
import { deferred } from '../support/wait.ts';

const servers: WebSocketServer[] = [];
afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

/** A connected pair: the server's socket and every text message its client receives, in order. */
async function connectedPair(perMessageDeflate: boolean) {
  const server = new WebSocketServer({ port: 0, perMessageDeflate });
  servers.push(server);
  await once(server, 'listening');
  const serverSocket = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate });
  dispose(() => client.terminate());
  // Binary messages are marked, so that a test comparing texts sees them.
  const received: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  client.on('message', (data, isBinary) => {
    received.push(isBinary ? `(binary) ${data.toString()}` : data.toString());
    waiters.filter((waiter) => received.length >= waiter.count).forEach((waiter) => waiter.resolve());
  });
  await once(client, 'open');
  const socket = await serverSocket;
  const until = (count: number) => {
    const arrived = deferred<void>(`${count} messages at the client`);
    if (received.length >= count) arrived.resolve();
    else waiters.push({ count, resolve: arrived.resolve });
    return arrived.promise;
  };
  return { socket, received, until };
}

// Messages of these many bytes: around each frame-length boundary (125/126, 65,535/65,536) and the one-buffer bound (16 KiB).
const LENGTHS = [0, 1, 100, 124, 125, 126, 127, 1000, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65_535, 65_536, 70_000, 300_000];

/** A message of exactly `bytes` UTF-8 bytes, with multi-byte characters once it is long enough ('é': 2, '🙂': 4), as head and tail. */
function messageOf(bytes: number, index: number): { head: MessageHead; tail: Buffer; text: string } {
  const head = bytes >= 16 ? `${index}-é:` : '';
  const emoji = bytes >= 16 ? '🙂' : '';
  const tail = emoji + 'x'.repeat(bytes - Buffer.byteLength(head + emoji));
  expect(Buffer.byteLength(head + tail)).toBe(bytes);
  return { head: messageHead(head), tail: Buffer.from(tail), text: head + tail };
}

describe('directWriter', () => {
  for (const perMessageDeflate of [false, true]) {
    it(`writes whole text messages of every length, in order with ws's own sends${perMessageDeflate ? ' (permessage-deflate: through ws)' : ''}`, async () => {
      const { socket, received, until } = await connectedPair(perMessageDeflate);
      expect(socket.extensions).toBe(perMessageDeflate ? 'permessage-deflate' : '');
      const writer = directWriter(socket);
      const expected: string[] = [];
      for (const [index, length] of LENGTHS.entries()) {
        const { head, tail, text } = messageOf(length, index);
        // As a subscription writes: the next message once a held one is written.
        const held = writer.write(head, tail);
        expected.push(text);
        // Then a message ws frames itself (as graphql-ws sends a complete or an error).
        socket.send(`ws ${index}`);
        expected.push(`ws ${index}`);
        await held;
      }
      await until(expected.length);
      expect(received.map((text) => text.length)).toEqual(expected.map((text) => text.length));
      expect(received).toEqual(expected);
    });
  }

  it('shares one tail between sockets and writes nothing once a socket is closing', async () => {
    const pairs = await Promise.all([connectedPair(false), connectedPair(false)]);
    const { tail } = messageOf(200, 0);
    pairs.forEach(({ socket }, index) => directWriter(socket).write(messageHead(`{"id":"${index}","type":"next","payload":`), tail));
    await Promise.all(pairs.map(({ until }) => until(1)));
    pairs.forEach(({ received }, index) => expect(received).toEqual([`{"id":"${index}","type":"next","payload":${tail.toString()}`]));
    const { socket } = pairs[0]!;
    socket.close();
    expect(directWriter(socket).write(messageHead('{'), Buffer.from('}'))).toBeUndefined();
  });
});
