// The endpoint under clients that misbehave: huge heads, request bodies, clients that
// never finish their request, and more connections than it serves at once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { serve } from 'slotmetrics';
import { eventually } from './helpers.mjs';

/** A raw connection: what it received, and whether the server closed it. */
function connect(port) {
  const socket = net.connect(port, '127.0.0.1');
  const state = { socket, received: '', closed: false };
  socket.on('data', (d) => (state.received += d));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  state.ready = new Promise((resolve) => socket.once('connect', resolve));
  return state;
}

/** Whether `check()` holds within `ms`. */
const until = (check, ms) => eventually(check, Boolean, { ms, every: 20 });

test('an oversized request head gets 431; a request body is ignored', { timeout: 30_000 }, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  try {
    const big = connect(server.port);
    await big.ready;
    big.socket.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(80 * 1024)}\r\n\r\n`);
    assert.ok(await until(() => big.received.startsWith('HTTP/1.1 431'), 5_000), big.received.slice(0, 40));

    const withBody = connect(server.port);
    await withBody.ready;
    withBody.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    assert.ok(await until(() => withBody.received.startsWith('HTTP/1.1 200'), 5_000), withBody.received.slice(0, 40));
  } finally {
    await server.close();
  }
});

test('a client that never finishes its request head is dropped after 10 s', { timeout: 30_000 }, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  try {
    const slow = connect(server.port);
    await slow.ready;
    const request = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: 1';
    let i = 0;
    const drip = setInterval(() => slow.socket.write(request[i++ % request.length]), 1000);
    const started = Date.now();
    const dropped = await until(() => slow.closed, 20_000);
    clearInterval(drip);
    assert.ok(dropped, 'the server closed the connection');
    assert.ok(Date.now() - started >= 9_000, 'not before the timeout');
  } finally {
    await server.close();
  }
});

test('past maxConnections, new connections wait until one ends', { timeout: 30_000 }, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1', maxConnections: 2 });
  try {
    const idle = [connect(server.port), connect(server.port)];
    await Promise.all(idle.map((c) => c.ready));
    await new Promise((resolve) => setTimeout(resolve, 100)); // both accepted
    const waiting = connect(server.port);
    await waiting.ready; // the kernel's backlog completes the handshake
    waiting.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(await until(() => waiting.received !== '', 500), false, 'not served while 2 connections are open');
    idle[0].socket.destroy();
    assert.ok(await until(() => waiting.received.startsWith('HTTP/1.1 200'), 5_000), 'served once one ended');
    idle[1].socket.destroy();
  } finally {
    await server.close();
  }
  await assert.rejects(serve({ port: 0, maxConnections: 0 }), /maxConnections must be an integer from 1 to 65535/);
});
