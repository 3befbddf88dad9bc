// Many concurrent requests of every kind, some abandoned at random points: the server must answer
// the rest correctly, end idle with no KV block in use, and exit cleanly (under ASan: no leak, no
// use-after-free in the cancel paths).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, post, waitIdle, reference, sleep, MODEL_ID } from './server.mjs';

let server;
let lilyRef;
const LILY = 'Lily went to';

before(async () => {
  server = await startServer(['--kv-type', 'f32', '--max-num-seqs', '8', '--max-queue', '64']);
  lilyRef = (await reference('greedy_lily_went_to.txt')).slice(LILY.length, -1);
});

after(async () => { await server?.stop(); });

// A deterministic pseudo-random sequence, so that a failure can be replayed.
function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

async function abortAfter(ms, body, path) {
  const ac = new AbortController();
  const p = fetch(server.url + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: ac.signal,
  }).then(async (r) => {
    if (!body.stream) return r.text();
    const reader = r.body.getReader();
    for (;;) { const { done } = await reader.read(); if (done) break; }
    return null;
  }).catch((e) => { if (e.name !== 'AbortError') throw e; });
  await sleep(ms);
  ac.abort();
  return p;
}

test('48 mixed concurrent requests, a third abandoned: correct answers, then idle', async () => {
  const rand = rng(12345);
  const client = server.client({ maxRetries: 0 });
  const long = { max_tokens: 300, ignore_eos: true, logit_bias: { 1: -100 } };
  const jobs = [];
  for (let i = 0; i < 48; i++) {
    const kind = i % 6;
    const abandon = rand() < 0.33;
    const delay = Math.floor(rand() * 150);
    if (abandon) {
      const path = kind % 2 ? '/v1/chat/completions' : '/v1/completions';
      const body = kind % 2
        ? { messages: [{ role: 'user', content: `Story ${i}` }], n: 1 + (i % 3), stream: kind === 3, ...long }
        : { prompt: `Once ${i}`, n: 1 + (i % 3), stream: kind === 0, ...long };
      jobs.push(abortAfter(delay, body, path).then(() => 'abandoned'));
      continue;
    }
    switch (kind) {
      case 0: jobs.push(client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 40, temperature: 0 })
        .then((r) => { assert.equal(r.choices[0].text, lilyRef.slice(0, r.choices[0].text.length)); assert.ok(r.choices[0].text.length > 80); })); break;
      case 1: jobs.push(client.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 20, seed: i })
        .then((r) => assert.ok(r.choices[0].message.content.length > 0))); break;
      case 2: jobs.push(client.embeddings.create({ model: MODEL_ID, input: [`text ${i}`, 'Lily went to the park.'] })
        .then((r) => assert.equal(r.data.length, 2))); break;
      case 3: jobs.push((async () => {
        const stream = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 30, temperature: 0, stream: true });
        let text = '';
        for await (const c of stream) text += c.choices[0]?.text ?? '';
        assert.equal(text, lilyRef.slice(0, text.length));
        assert.ok(text.length > 60);
      })()); break;
      case 4: jobs.push(post(server, '/tokenize', { prompt: LILY }).then((r) => assert.deepEqual(r.body.tokens, [1, 317, 263, 377, 267]))); break;
      case 5: jobs.push(client.completions.create({ model: MODEL_ID, prompt: ['Once', LILY], n: 2, max_tokens: 10, temperature: 0 })
        .then((r) => { assert.equal(r.choices.length, 4); assert.equal(r.choices[2].text, r.choices[3].text); })); break;
    }
  }
  // and a WebSocket whose socket vanishes mid-request
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws`);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify({ request_id: 'a', prompt: 'Once', n: 2, ...long }));
  ws.send(JSON.stringify({ request_id: 'b', messages: [{ role: 'user', content: 'x' }], ...long }));
  await sleep(60);
  ws.terminate();

  const results = await Promise.allSettled(jobs);
  const failed = results.map((r, i) => [i, r]).filter(([, r]) => r.status === 'rejected');
  assert.deepEqual(failed.map(([i, r]) => `${i}: ${r.reason?.stack ?? r.reason}`), []);
  let s = await waitIdle(server, 15000);
  for (let i = 0; i < 150 && s.websockets !== 0; i++) {
    await sleep(20);
    s = await waitIdle(server);
  }
  assert.equal(s.websockets, 0, 'the vanished WebSocket is closed');
  assert.equal(s.kv_blocks.used, 0);
});
