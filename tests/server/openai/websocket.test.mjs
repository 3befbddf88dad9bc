// WebSocket streaming at GET /v1/ws: request bodies plus "request_id" in, the same chunk objects
// plus "request_id" out, {"request_id","type":"done"} after each request, cancel messages.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, get, stats, waitIdle, reference, assertStoryText, assertRecent, assertUsage, sleep, MODEL_ID } from './server.mjs';

let server;
const LILY = 'Lily went to';
let lilyRef;

before(async () => {
  server = await startServer(['--kv-type', 'f32']);
  lilyRef = (await reference('greedy_lily_went_to.txt')).slice(LILY.length, -1);
});

const sockets = new Set(); // closed after each test, passed or not

afterEach(() => {
  for (const ws of sockets) ws.terminate();
  sockets.clear();
});

after(async () => { await server?.stop(); });

// Long requests: ignore_eos, and BOS (the end-of-text token of llama2.c models, which ignore_eos
// does not cover, see the completions tests) banned, so that they run to max_tokens.
const NO_END = { ignore_eos: true, logit_bias: { 1: -100 } };

/** Opens a socket; messages are parsed and queued; next(pred) waits for the next matching one. */
async function connect() {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws`);
  sockets.add(ws);
  const messages = [];
  const waiters = [];
  let closed = null;
  ws.on('message', (data, isBinary) => {
    assert.equal(isBinary, false, 'the server sends text frames');
    const msg = JSON.parse(data.toString('utf8'));
    messages.push(msg);
    for (const w of [...waiters]) w();
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const conn = {
    ws,
    messages,
    get closed() { return closed; },
    send(obj) { ws.send(JSON.stringify(obj)); },
    /** Waits until pred(messages) is true (or the socket closes, which fails). */
    async until(pred, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(messages)) {
        if (closed) assert.fail(`socket closed (${closed.code}) while waiting; got ${JSON.stringify(messages.slice(-3))}`);
        const left = deadline - Date.now();
        if (left <= 0) assert.fail(`timed out waiting on the WebSocket; last messages: ${JSON.stringify(messages.slice(-3))}`);
        await new Promise((resolve) => {
          const t = setTimeout(done, Math.min(left, 200));
          function done() { clearTimeout(t); waiters.splice(waiters.indexOf(done), 1); resolve(); }
          waiters.push(done);
        });
      }
    },
    async close() {
      if (closed) return closed;
      ws.close(1000);
      await conn.untilClosed();
      return closed;
    },
    async untilClosed(timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      while (!closed) {
        if (Date.now() > deadline) assert.fail('the socket did not close');
        await sleep(10);
      }
      return closed;
    },
  };
  return conn;
}

const isDone = (id) => (m) => m.request_id === id && m.type === 'done';
const doneFor = (id) => (ms) => ms.some(isDone(id));

test('a completion over the WebSocket: chunks with request_id, greedy text, usage, done', async () => {
  const c = await connect();
  c.send({ request_id: 'g1', prompt: LILY, max_tokens: 40, temperature: 0, stream_options: { include_usage: true } });
  await c.until(doneFor('g1'));
  const mine = c.messages.filter((m) => m.request_id === 'g1');
  assert.deepEqual(mine.at(-1), { request_id: 'g1', type: 'done' });
  const chunks = mine.slice(0, -1);
  const usage = chunks.pop();
  assert.deepEqual(usage.choices, []);
  assertUsage(usage.usage, { prompt: 5, completion: 40 });
  for (const ch of chunks) {
    assert.equal(ch.object, 'text_completion');
    assert.match(ch.id, /^cmpl-/);
    assert.equal(ch.id, chunks[0].id);
    assert.equal(ch.model, MODEL_ID);
    assertRecent(ch.created);
  }
  const text = chunks.map((ch) => ch.choices[0].text).join('');
  assert.equal(text, lilyRef.slice(0, text.length));
  assert.ok(text.length > 100);
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
  // chat, inferred from "messages"
  c.send({ request_id: 'c1', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, temperature: 0 });
  await c.until(doneFor('c1'));
  const chat = c.messages.filter((m) => m.request_id === 'c1' && m.type !== 'done');
  assert.equal(chat[0].object, 'chat.completion.chunk');
  assert.match(chat[0].id, /^chatcmpl-/);
  assert.equal(chat[0].choices[0].delta.role, 'assistant');
  assert.ok(chat.at(-1).choices[0].finish_reason);
  await c.close();
});

test('two interleaved requests on one socket, one cancelled: the other completes fully', async () => {
  await waitIdle(server);
  const c = await connect();
  const N = 400;
  // n=4 makes each request long enough to interleave and to cancel mid-way.
  c.send({ request_id: 'A', prompt: 'Once', n: 4, max_tokens: N, ...NO_END, temperature: 1, stream_options: { include_usage: true } });
  c.send({ request_id: 'B', endpoint: 'chat.completions', messages: [{ role: 'user', content: 'Tell me a story.' }],
    n: 4, max_tokens: N, ...NO_END, temperature: 1 });
  // Let both run a little, then cancel B.
  await c.until((ms) => ms.filter((m) => m.request_id === 'A').length >= 5 && ms.filter((m) => m.request_id === 'B').length >= 5);
  const s = await stats(server);
  assert.equal(s.websockets, 1);
  assert.equal(s.active_requests, 2);
  c.send({ type: 'cancel', request_id: 'B' });
  await c.until((ms) => doneFor('A')(ms) && doneFor('B')(ms), 30000);

  for (const m of c.messages) assert.ok(m.request_id === 'A' || m.request_id === 'B', JSON.stringify(m));
  const a = c.messages.filter((m) => m.request_id === 'A');
  const b = c.messages.filter((m) => m.request_id === 'B');
  assert.deepEqual(a.at(-1), { request_id: 'A', type: 'done' });
  assert.deepEqual(b.at(-1), { request_id: 'B', type: 'done' });
  assert.equal(a.filter((m) => m.type === 'done').length, 1);
  assert.equal(b.filter((m) => m.type === 'done').length, 1);
  for (const m of a.slice(0, -1)) {
    assert.equal(m.object, 'text_completion');
    assert.equal(m.error, undefined);
  }
  for (const m of b.slice(0, -1)) assert.equal(m.object, 'chat.completion.chunk');

  // The streams interleave: B's first chunk arrives before A is done.
  const firstB = c.messages.findIndex((m) => m.request_id === 'B');
  const doneA = c.messages.findIndex(isDone('A'));
  assert.ok(firstB < doneA, 'B started while A was streaming');

  // A completed fully: four choices of N tokens each.
  const usage = a.at(-2);
  assert.deepEqual(usage.choices, []);
  assertUsage(usage.usage, { prompt: 2, completion: 4 * N });
  for (let i = 0; i < 4; i++) {
    const fin = a.filter((m) => m.choices?.[0]?.index === i && m.choices[0].finish_reason);
    assert.equal(fin.length, 1);
    assert.equal(fin[0].choices[0].finish_reason, 'length');
    assertStoryText(a.filter((m) => m.choices?.[0]?.index === i).map((m) => m.choices[0].text).join(''), 20);
  }
  // B was cut short: a finish_reason "abort", or fewer tokens than asked
  const bTokens = b.filter((m) => m.choices?.[0]?.delta?.content).length;
  const bFinish = b.map((m) => m.choices?.[0]?.finish_reason).filter(Boolean);
  assert.ok(bFinish.every((f) => f === 'abort') || bTokens < 4 * N,
    `B: finish ${JSON.stringify(bFinish)}, ${bTokens} tokens`);
  assert.ok(bTokens < 4 * N, `cancelled B still streamed ${bTokens} tokens`);

  await waitIdle(server);
  await c.close();
  for (let i = 0; i < 100 && (await stats(server)).websockets !== 0; i++) await sleep(20);
  assert.equal((await stats(server)).websockets, 0);
});

test('WebSocket errors come back as {request_id, error}', async () => {
  const c = await connect();
  c.send({ request_id: 'bad-temp', prompt: 'Once', temperature: 'hot' });
  await c.until((ms) => ms.some((m) => m.request_id === 'bad-temp'));
  const e = c.messages.find((m) => m.request_id === 'bad-temp');
  assert.equal(e.error.param, 'temperature');
  assert.equal(e.error.type, 'invalid_request_error');

  c.send({ request_id: 'bad-model', prompt: 'Once', model: 'gpt-4o' });
  await c.until((ms) => ms.some((m) => m.request_id === 'bad-model'));
  assert.equal(c.messages.find((m) => m.request_id === 'bad-model').error.code, 'model_not_found');

  c.send({ request_id: 'bad-ep', endpoint: 'embeddings', input: 'x' });
  await c.until((ms) => ms.some((m) => m.request_id === 'bad-ep'));
  assert.equal(c.messages.find((m) => m.request_id === 'bad-ep').error.param, 'endpoint');

  c.send({ prompt: 'no id' });
  await c.until((ms) => ms.some((m) => m.error?.param === 'request_id'));

  c.ws.send('{not json');
  await c.until((ms) => ms.filter((m) => m.error).length >= 5);

  // a request_id that is still running cannot be reused
  c.send({ request_id: 'dup', prompt: 'Once', max_tokens: 500, n: 4, ...NO_END });
  c.send({ request_id: 'dup', prompt: 'Once', max_tokens: 2 });
  await c.until((ms) => ms.some((m) => m.request_id === 'dup' && m.error));
  assert.equal(c.messages.find((m) => m.request_id === 'dup' && m.error).error.param, 'request_id');
  c.send({ type: 'cancel', request_id: 'dup' });
  await c.until(doneFor('dup'));
  // cancelling an unknown id is harmless, and the socket still works
  c.send({ type: 'cancel', request_id: 'nobody' });
  c.send({ request_id: 'ok', prompt: LILY, max_tokens: 3, temperature: 0 });
  await c.until(doneFor('ok'));
  const text = c.messages.filter((m) => m.request_id === 'ok' && m.choices).map((m) => m.choices[0].text).join('');
  assert.equal(text, lilyRef.slice(0, text.length));
  assert.ok(text.length > 0);
  await c.close();
  await waitIdle(server);
});

test('closing the socket mid-request cancels it and frees everything', async () => {
  await waitIdle(server);
  const before = await stats(server);
  const c = await connect();
  c.send({ request_id: 'x', prompt: 'Once', n: 8, max_tokens: 500, ...NO_END });
  await c.until((ms) => ms.length >= 3);
  c.ws.terminate(); // no close handshake: the TCP connection just goes
  const idle = await waitIdle(server, 3000);
  assert.ok(idle.generated_tokens - before.generated_tokens < 8 * 500 / 2, 'cancelled early');
  for (let i = 0; i < 100 && (await stats(server)).websockets !== 0; i++) await sleep(20);
  assert.equal((await stats(server)).websockets, 0);
});

test('GET /v1/ws without an upgrade is 400', async () => {
  const r = await get(server, '/v1/ws');
  assert.equal(r.status, 400);
  assert.ok(r.body.error.message);
});
