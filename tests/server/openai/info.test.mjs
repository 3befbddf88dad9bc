// Embeddings, models, tokenize/detokenize, health, version and stats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, post, get, stats, waitIdle, assertError, assertRecent, MODEL_ID } from './server.mjs';

let server;
let client;
const N_EMBD = 64;

before(async () => {
  server = await startServer(['--kv-type', 'f32']);
  client = server.client();
});

after(async () => { await server?.stop(); });

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('embeddings through the SDK default (base64, decoded by the SDK): unit vectors, stable', async () => {
  const r = await client.embeddings.create({ model: MODEL_ID, input: 'Lily went to the park.' });
  assert.equal(r.object, 'list');
  assert.equal(r.model, MODEL_ID);
  assert.equal(r.data.length, 1);
  const [d] = r.data;
  assert.equal(d.object, 'embedding');
  assert.equal(d.index, 0);
  assert.equal(d.embedding.length, N_EMBD);
  assert.ok(d.embedding.every(Number.isFinite));
  assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-4, `L2 norm ${norm(d.embedding)}`);
  const tok = await post(server, '/tokenize', { prompt: 'Lily went to the park.' });
  assert.equal(r.usage.prompt_tokens, tok.body.count);
  assert.equal(r.usage.total_tokens, tok.body.count);
  const again = await client.embeddings.create({ model: MODEL_ID, input: 'Lily went to the park.' });
  assert.deepEqual(again.data[0].embedding, d.embedding, 'same input, same vector');
});

test('embeddings: explicit float and explicit base64 agree with the SDK default', async () => {
  const input = 'Once upon a time';
  const dflt = await client.embeddings.create({ model: MODEL_ID, input });
  const flt = await client.embeddings.create({ model: MODEL_ID, input, encoding_format: 'float' });
  assert.ok(Array.isArray(flt.data[0].embedding));
  assert.deepEqual(flt.data[0].embedding.map(Math.fround), dflt.data[0].embedding,
    'float JSON numbers are the float32 values');
  const b64 = await client.embeddings.create({ model: MODEL_ID, input, encoding_format: 'base64' });
  assert.equal(typeof b64.data[0].embedding, 'string', 'explicit base64 is returned as sent');
  const bytes = Buffer.from(b64.data[0].embedding, 'base64');
  assert.equal(bytes.length, 4 * N_EMBD);
  const decoded = Array.from({ length: N_EMBD }, (_, i) => bytes.readFloatLE(4 * i));
  assert.deepEqual(decoded, dflt.data[0].embedding);
});

test('embeddings of a batch of 2: two indexed vectors, equal to the single ones', async () => {
  const inputs = ['The cat sat on the mat.', 'Tom had a big red ball.'];
  const r = await client.embeddings.create({ model: MODEL_ID, input: inputs });
  assert.deepEqual(r.data.map((d) => d.index), [0, 1]);
  const [a, b] = r.data.map((d) => d.embedding);
  assert.ok(maxDiff(a, b) > 1e-3, 'different inputs, different vectors');
  for (const v of [a, b]) assert.ok(Math.abs(norm(v) - 1) < 1e-4);
  for (let i = 0; i < 2; i++) {
    const single = await client.embeddings.create({ model: MODEL_ID, input: inputs[i] });
    assert.ok(maxDiff(single.data[0].embedding, r.data[i].embedding) < 1e-4, `input ${i} batched vs alone`);
  }
  const counts = await Promise.all(inputs.map((p) => post(server, '/tokenize', { prompt: p })));
  assert.equal(r.usage.prompt_tokens, counts[0].body.count + counts[1].body.count);
  // token ids as input give the same vector as the text
  const ids = await client.embeddings.create({ model: MODEL_ID, input: [counts[0].body.tokens], encoding_format: 'float' });
  assert.ok(maxDiff(ids.data[0].embedding, a) < 1e-4);
});

test('embedding request errors', async () => {
  assertError(await post(server, '/v1/embeddings', { input: 'x', encoding_format: 'hex' }), 400, { param: 'encoding_format' });
  assertError(await post(server, '/v1/embeddings', { input: 'x', dimensions: 32 }), 400, { param: 'dimensions' });
  assertError(await post(server, '/v1/embeddings', { input: [] }), 400, { param: 'input' });
  assertError(await post(server, '/v1/embeddings', {}), 400, { param: 'input' });
  assertError(await post(server, '/v1/embeddings', { input: 'x', model: 'text-embedding-3-small' }), 404, { code: 'model_not_found' });
  await assert.rejects(client.embeddings.create({ model: 'nope', input: 'x' }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
});

test('models: list and retrieve through the SDK', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  const [m] = list.data;
  assert.equal(m.id, MODEL_ID);
  assert.equal(m.object, 'model');
  assert.equal(typeof m.owned_by, 'string');
  assert.ok(Number.isInteger(m.created) && m.created > 1.6e9);
  assert.equal(m.max_model_len, 512);
  const one = await client.models.retrieve(MODEL_ID);
  assert.deepEqual(one, m);
  await assert.rejects(client.models.retrieve('gpt-4o'), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
  const raw = await get(server, '/v1/models');
  assert.deepEqual(raw.body, { object: 'list', data: [m] });
});

test('tokenize gives run.c\'s ids (BOS first) and the context size', async () => {
  const r = await post(server, '/tokenize', { prompt: 'Lily went to' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { count: 5, max_model_len: 512, tokens: [1, 317, 263, 377, 267] });
  const once = await post(server, '/tokenize', { model: MODEL_ID, prompt: 'Once upon a time' });
  assert.deepEqual(once.body.tokens, [1, 403, 407, 261, 378]);
  const noBos = await post(server, '/tokenize', { prompt: 'Lily went to', add_special_tokens: false });
  assert.deepEqual(noBos.body.tokens, [317, 263, 377, 267]);
  // Characters outside the vocabulary go through byte fallback (ids 3..258).
  const uni = await post(server, '/tokenize', { prompt: 'héllo 😀' });
  assert.equal(uni.status, 200);
  assert.equal(uni.body.count, uni.body.tokens.length);
  assert.deepEqual(uni.body.tokens.slice(-4), [0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3], 'the emoji as 4 byte tokens');
  for (const t of uni.body.tokens) assert.ok(Number.isInteger(t) && t >= 0 && t < 512);
  assertError(await post(server, '/tokenize', { prompt: 'x', model: 'nope' }), 404, { code: 'model_not_found' });
  assertError(await post(server, '/tokenize', { prompt: 5 }), 400);
  assertError(await post(server, '/detokenize', { tokens: 'abc' }), 400, { param: 'tokens' });
  assertError(await post(server, '/detokenize', { tokens: [1, 9999] }), 400);
  const empty = await post(server, '/detokenize', { tokens: [] });
  assert.deepEqual(empty.body, { prompt: '' });
});

test('detokenize gives back the words of the text', async () => {
  for (const text of ['Lily went to the park.', 'Once upon a time, there was a big dog.\nThe end.']) {
    const tok = await post(server, '/tokenize', { prompt: text });
    const detok = await post(server, '/detokenize', { tokens: tok.body.tokens });
    assert.equal(detok.status, 200, detok.text);
    assert.equal(detok.body.prompt.trim(), text);
  }
});

test('tokenize/detokenize round trip exactly (text -> ids -> same text -> same ids)', async () => {
  for (const text of ['Lily went to the park.', ' two  spaces', 'héllo 😀 日本', 'line\nbreak\ttab']) {
    for (const add_special_tokens of [true, false]) {
      const tok = await post(server, '/tokenize', { prompt: text, add_special_tokens });
      const detok = await post(server, '/detokenize', { tokens: tok.body.tokens });
      assert.equal(detok.body.prompt, text,
        `detokenize(tokenize(${JSON.stringify(text)}, add_special_tokens=${add_special_tokens}) = ${JSON.stringify(tok.body.tokens)})`);
      const again = await post(server, '/tokenize', { prompt: detok.body.prompt, add_special_tokens });
      assert.deepEqual(again.body.tokens, tok.body.tokens);
    }
  }
});

test('health, version and stats', async () => {
  const h = await get(server, '/health');
  assert.equal(h.status, 200);
  assert.deepEqual(h.body, { status: 'ok' });
  const v = await get(server, '/version');
  assert.equal(v.status, 200);
  assert.match(v.body.version, /^\d+\.\d+\.\d+/);
  const s = await waitIdle(server);
  assert.equal(s.model, MODEL_ID);
  for (const k of ['active_requests', 'websockets', 'running', 'waiting', 'preemptions', 'steps',
    'generated_tokens', 'finished_requests'])
    assert.ok(Number.isInteger(s[k]) && s[k] >= 0, `stats.${k}: ${JSON.stringify(s)}`);
  for (const k of ['total', 'used', 'free', 'cached', 'tokens']) assert.ok(Number.isInteger(s.kv_blocks[k]), k);
  assert.equal(s.kv_blocks.used + s.kv_blocks.free + s.kv_blocks.cached, s.kv_blocks.total);
  assert.ok(Number.isInteger(s.prefix_cache.queries) && Number.isInteger(s.prefix_cache.hits));
  assert.ok(s.prefix_cache.hits <= s.prefix_cache.queries);

  // while a long streamed request runs, it shows up
  const ac = new AbortController();
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ prompt: 'Once', max_tokens: 500, ignore_eos: true, logit_bias: { 1: -100 }, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read();
  const busy = await stats(server);
  assert.equal(busy.active_requests, 1);
  assert.equal(busy.running, 1);
  assert.ok(busy.kv_blocks.used >= 1 && busy.kv_blocks.tokens >= 2, JSON.stringify(busy));
  ac.abort();
  const idle = await waitIdle(server);
  assert.ok(idle.finished_requests > s.finished_requests);
  assert.ok(idle.steps > s.steps);
  assert.ok(idle.generated_tokens > s.generated_tokens);
});

test('created times and ids are well formed across endpoints', async () => {
  const r = await client.completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 2 });
  assertRecent(r.created);
  const c = await client.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
  assertRecent(c.created);
  assert.notEqual(r.id.slice(5), c.id.slice(9));
});
