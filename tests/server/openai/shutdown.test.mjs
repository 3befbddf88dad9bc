// Graceful stop: SIGTERM/SIGINT while streams run; every stream still ends properly and the
// process exits 0 (each server here is stopped by the test itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, parseSSE, sleep, MODEL_ID } from './server.mjs';

// 8 samples x 500 tokens that never end early: about a second of work on one thread.
const LONG = { prompt: 'Once', n: 8, max_tokens: 500, ignore_eos: true, logit_bias: { 1: -100 }, temperature: 1 };

async function openStream(server, body) {
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  let raw = '';
  const readUntil = async (nEvents) => {
    while ((raw.match(/^data: /gm) ?? []).length < nEvents) {
      const { value, done } = await reader.read();
      if (done) return raw;
      raw += Buffer.from(value).toString('utf8');
    }
    return raw;
  };
  const readAll = async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return raw;
      raw += Buffer.from(value).toString('utf8');
    }
  };
  return { readUntil, readAll };
}

/** Not accepting work any more: connection refused, or 503. */
async function assertRefuses(server, path, init) {
  try {
    const r = await fetch(server.url + path, init);
    const text = await r.text();
    assert.equal(r.status, 503, `${path} during shutdown: ${r.status} ${text}`);
    return JSON.parse(text);
  } catch (e) {
    if (e.code === 'ERR_ASSERTION') throw e;
    assert.ok(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(e.cause?.code), `unexpected error ${e.cause?.code ?? e}`);
    return null;
  }
}

test('SIGTERM while a stream runs: the stream completes, new work is refused, exit 0', async () => {
  const server = await startServer(['--shutdown-grace', '60']); // room for slow (sanitizer) builds
  try {
    const s = await openStream(server, LONG);
    await s.readUntil(3);
    server.kill('SIGTERM');
    await sleep(50);
    const health = await assertRefuses(server, '/health');
    if (health) assert.deepEqual(health, { status: 'shutting_down' });
    const late = await assertRefuses(server, '/v1/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once', max_tokens: 2 }),
    });
    if (late) assert.ok(late.error.message);
    const { events, done } = parseSSE(await s.readAll());
    assert.ok(done, 'the stream ends with data: [DONE]');
    const finishes = events.filter((e) => e.choices[0]?.finish_reason).map((e) => [e.choices[0].index, e.choices[0].finish_reason]);
    assert.deepEqual(finishes.map(([i]) => i).sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
    // Within the grace period, every sample runs to max_tokens.
    for (const [, f] of finishes) assert.equal(f, 'length');
    assert.equal(events.filter((e) => e.choices[0]?.text).length, 8 * 500);
  } finally {
    await server.stop();
  }
});

test('SIGTERM with --shutdown-grace 0: running streams end with a final chunk and [DONE], exit 0', async () => {
  const server = await startServer(['--shutdown-grace', '0']);
  try {
    const s = await openStream(server, LONG);
    await s.readUntil(3);
    server.kill('SIGTERM');
    const { events, done } = parseSSE(await s.readAll());
    assert.ok(done, 'the stream ends with data: [DONE]');
    const finishes = events.filter((e) => e.choices[0]?.finish_reason);
    assert.equal(finishes.length, 8, 'every choice gets its final chunk');
    for (const e of finishes) assert.ok(['abort', 'length'].includes(e.choices[0].finish_reason), JSON.stringify(e));
    assert.ok(finishes.some((e) => e.choices[0].finish_reason === 'abort'), 'cut short');
  } finally {
    await server.stop();
  }
});

test('SIGTERM during an SDK chat stream: the iterator finishes without an error', async () => {
  const server = await startServer(['--shutdown-grace', '60']);
  try {
    const stream = await server.client().chat.completions.create({
      model: MODEL_ID, messages: [{ role: 'user', content: 'Tell me a story.' }], n: 4, max_tokens: 400,
      ignore_eos: true, logit_bias: { 1: -100 }, stream: true, stream_options: { include_usage: true },
    });
    let n = 0;
    let usage = null;
    for await (const chunk of stream) {
      if (++n === 3) server.kill('SIGTERM');
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(usage, 'the usage chunk still arrives');
    assert.equal(usage.completion_tokens, 4 * 400);
  } finally {
    await server.stop();
  }
});

test('SIGTERM with a WebSocket request running: it completes, then the socket closes (1001), exit 0', async () => {
  const server = await startServer(['--shutdown-grace', '60']);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const messages = [];
    const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ request_id: 'r', ...LONG, n: 4, stream_options: { include_usage: true } }));
    while (messages.length < 3) await sleep(5);
    server.kill('SIGTERM');
    const code = await closed;
    assert.deepEqual(messages.at(-1), { request_id: 'r', type: 'done' }, 'the request finished before the close');
    const usage = messages.at(-2);
    const finishes = messages.map((m) => m.choices?.[0]?.finish_reason).filter(Boolean);
    assert.equal(usage.usage.completion_tokens, 4 * 500,
      `within the shutdown grace the WebSocket request should run to the end like HTTP streams; finish_reasons ${JSON.stringify(finishes)}`);
    assert.equal(code, 1001, 'closed as "going away"');
  } finally {
    await server.stop();
  }
});

test('SIGINT on an idle server (with an idle keep-alive connection): exit 0', async () => {
  const server = await startServer();
  try {
    const r = await server.client().completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 3 });
    assert.equal(r.usage.completion_tokens, 3);
  } finally {
    await server.stop({ signal: 'SIGINT' });
  }
  assert.match(server.stderr, /SIGINT: shutting down/);
});
