// Error answers: OpenAI error objects with the right status, type, param and code; the SDK's
// error classes; 404/405 routing; 413 over --max-body; 503 + Retry-After when the queue is full.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, post, get, stats, waitIdle, assertError, assertUsage, MODEL_ID } from './server.mjs';

let server;
let client;

before(async () => {
  server = await startServer();
  client = server.client();
});

after(async () => { await server?.stop(); });

test('bad JSON and non-object bodies are 400 invalid_request_error', async () => {
  for (const body of ['{bad', '', '[1,2]', '"prompt"', 'null', '{"prompt": "a",}']) {
    for (const path of ['/v1/completions', '/v1/chat/completions', '/v1/embeddings', '/tokenize']) {
      assertError(await post(server, path, body), 400, { type: 'invalid_request_error' });
    }
  }
});

test('wrong types and out-of-range values name the offending param', async () => {
  const cases = [
    [{ temperature: 'hot' }, 'temperature'],
    [{ temperature: -0.1 }, 'temperature'],
    [{ temperature: 2.5 }, 'temperature'],
    [{ n: 0 }, 'n'],
    [{ n: 'two' }, 'n'],
    [{ n: 1000 }, 'n'],
    [{ max_tokens: -1 }, 'max_tokens'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_tokens: 1.5 }, 'max_tokens'],
    [{ max_tokens: '16' }, 'max_tokens'],
    [{ top_p: 0 }, 'top_p'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ presence_penalty: 3 }, 'presence_penalty'],
    [{ frequency_penalty: -2.5 }, 'frequency_penalty'],
    [{ stop: 5 }, 'stop'],
    [{ stop: [''] }, 'stop'],
    [{ stop: ['a', 7] }, 'stop'],
    [{ logprobs: 21 }, 'logprobs'],
    [{ logprobs: true }, 'logprobs'],
    [{ stream: 'yes' }, 'stream'],
    [{ stream_options: { include_usage: true } }, 'stream_options'],
    [{ stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
    [{ logit_bias: { abc: 1 } }, 'logit_bias'],
    [{ logit_bias: { 600: 1 } }, 'logit_bias'],
    [{ logit_bias: { 5: 101 } }, 'logit_bias'],
    [{ logit_bias: [1, 2] }, 'logit_bias'],
    [{ seed: 'x' }, 'seed'],
    [{ seed: 1.5 }, 'seed'],
    [{ echo: 'yes' }, 'echo'],
    [{ suffix: 'the end' }, 'suffix'],
    [{ best_of: 3 }, 'best_of'],
    [{ response_format: { type: 'json_object' } }, 'response_format'],
    [{ min_tokens: 20, max_tokens: 10 }, 'min_tokens'],
    [{ stop_token_ids: [-1] }, 'stop_token_ids'],
    [{ stop_token_ids: 2 }, 'stop_token_ids'],
    [{ user: 5 }, 'user'],
    [{ model: 5 }, 'model'],
    [{ prompt: { text: 'a' } }, 'prompt'],
    [{ prompt: [1, 'a'] }, 'prompt'],
    [{ prompt: [1, 600] }, 'prompt'],
    [{ prompt: [[1, 2], [[3]]] }, 'prompt'],
    [{ prompt: [] }, 'prompt'],
    [{ prompt: null }, 'prompt'],
  ];
  for (const [fields, param] of cases) {
    const body = { prompt: 'Once', max_tokens: 2, ...fields };
    const r = await post(server, '/v1/completions', body);
    assertError(r, 400, { param, type: 'invalid_request_error' });
    assert.ok(r.body.error.message.length > 5);
  }
  // The same through the SDK: a BadRequestError with the error's fields.
  await assert.rejects(
    client.completions.create({ model: MODEL_ID, prompt: 'Once', temperature: 'hot' }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.status, 400);
      assert.equal(e.param, 'temperature');
      assert.equal(e.type, 'invalid_request_error');
      assert.match(e.message, /temperature/);
      return true;
    });
  await assert.rejects(client.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'x' }], n: 0 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'n');
  await assert.rejects(client.completions.create({ model: MODEL_ID, prompt: 'x', max_tokens: -1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'max_tokens');
});

test('an unknown model is 404 model_not_found', async () => {
  for (const path of ['/v1/completions', '/v1/chat/completions']) {
    const r = await post(server, path, { model: 'gpt-4o', prompt: 'a', messages: [{ role: 'user', content: 'a' }] });
    assertError(r, 404, { code: 'model_not_found', param: 'model' });
    assert.match(r.body.error.message, /gpt-4o/);
  }
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
});

test('context overflow is 400 context_length_exceeded', async () => {
  const longIds = Array.from({ length: 600 }, () => 265);
  assertError(await post(server, '/v1/completions', { prompt: longIds, max_tokens: 1 }), 400,
    { code: 'context_length_exceeded', param: 'prompt' });
  const longText = 'Once upon a time there was a cat. '.repeat(80);
  await assert.rejects(client.completions.create({ model: MODEL_ID, prompt: longText }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.code, 'context_length_exceeded');
    assert.match(e.message, /512/);
    return true;
  });
  await assert.rejects(client.chat.completions.create({
    model: MODEL_ID, messages: [{ role: 'user', content: longText }],
  }), (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
  // prompt + max_tokens over the context
  assertError(await post(server, '/v1/completions', { prompt: 'Lily went to', max_tokens: 508 }), 400,
    { code: 'context_length_exceeded', param: 'max_tokens' });
  // exactly 512 prompt tokens: no room to generate
  assertError(await post(server, '/v1/completions', { prompt: longIds.slice(0, 512), max_tokens: 1 }), 400,
    { code: 'context_length_exceeded' });
  assertError(await post(server, '/v1/embeddings', { input: longIds }), 400, { code: 'context_length_exceeded' });
});

test('the edge of the context: 511 prompt tokens leave room for exactly one', async () => {
  const ids = [1, ...Array.from({ length: 510 }, (_, i) => 259 + (i % 200))];
  const r = await client.completions.create({ model: MODEL_ID, prompt: ids, temperature: 0 });
  assertUsage(r.usage, { prompt: 511, completion: 1 });
  assert.equal(r.choices[0].finish_reason, 'length');
  // 5 + 507 = 512 fits
  const full = await client.completions.create({
    model: MODEL_ID, prompt: 'Lily went to', max_tokens: 507, ignore_eos: true, temperature: 0,
  });
  assertUsage(full.usage, { prompt: 5, completion: 507 });
});

test('unknown paths are 404, wrong methods 405', async () => {
  for (const p of ['/v1/nope', '/v2/completions', '/', '/v1/completions/extra']) {
    const r = await get(server, p);
    assertError(r, 404);
    assert.match(r.body.error.message, /no such endpoint/);
  }
  assertError(await post(server, '/v1/engines/x/completions', { prompt: 'a' }), 404);
  assertError(await get(server, '/v1/completions'), 405);
  assertError(await post(server, '/v1/models', {}), 405);
  assertError(await post(server, '/health', {}), 405);
  // The server still works after all these
  const ok = await client.completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 2 });
  assert.equal(ok.usage.completion_tokens, 2);
});

test('405 responses carry an Allow header (RFC 9110 section 15.5.6)', async () => {
  const r = await get(server, '/v1/completions');
  assert.equal(r.status, 405);
  assert.match(r.headers.get('allow') ?? '', /POST/, '405 responses must say which methods are allowed (RFC 9110)');
  const d = await fetch(`${server.url}/health`, { method: 'DELETE' });
  assert.equal(d.status, 405);
  assert.match(d.headers.get('allow') ?? '', /GET/);
});

test('a body over --max-body is 413, and the server keeps serving', async () => {
  const small = await startServer(['--max-body', '2K', '--max-num-seqs', '2']);
  try {
    const big = { prompt: 'Once upon a time '.repeat(200), max_tokens: 2 };
    assert.ok(JSON.stringify(big).length > 2048);
    assertError(await post(small, '/v1/completions', big), 413, { type: 'invalid_request_error' });
    assertError(await post(small, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(5000) }] }), 413);
    // chunked upload (no Content-Length) over the limit
    const chunked = await fetch(`${small.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, duplex: 'half',
      body: new ReadableStream({
        start(c) {
          const enc = new TextEncoder();
          c.enqueue(enc.encode('{"prompt": "'));
          for (let i = 0; i < 10; i++) c.enqueue(enc.encode('x'.repeat(500)));
          c.enqueue(enc.encode('", "max_tokens": 2}'));
          c.close();
        },
      }),
    });
    assert.equal(chunked.status, 413);
    await chunked.text();
    // The SDK sees a 413 as an APIError
    await assert.rejects(small.client({ maxRetries: 0 }).completions.create({ model: MODEL_ID, ...big }),
      (e) => e instanceof OpenAI.APIError && e.status === 413);
    // a small request still works
    const ok = await small.client().completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 3 });
    assert.equal(ok.usage.completion_tokens, 3);
    await waitIdle(small);
  } finally {
    await small.stop();
  }
});

test('queue full: 503 with Retry-After while --max-num-seqs 1 --max-queue 0 is busy', async () => {
  const busy = await startServer(['--max-num-seqs', '1', '--max-queue', '0']);
  try {
    // 4 x 500 tokens, one sequence at a time: long enough to stay in flight during the checks.
    const body = JSON.stringify({ prompt: 'Once', n: 4, max_tokens: 500, ignore_eos: true, logit_bias: { 1: -100 }, stream: true });
    const first = await fetch(`${busy.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body,
    });
    assert.equal(first.status, 200);
    const reader = first.body.getReader();
    await reader.read(); // it is running now

    const second = await post(busy, '/v1/completions', { prompt: 'Once', max_tokens: 2 });
    assertError(second, 503);
    assert.equal(second.headers.get('retry-after'), '1');
    const chat = await post(busy, '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], max_tokens: 2 });
    assertError(chat, 503);
    assert.ok(chat.headers.get('retry-after'));
    const emb = await post(busy, '/v1/embeddings', { input: 'a' });
    assertError(emb, 503);
    const embRetryAfter = emb.headers.get('retry-after'); // checked at the end
    await assert.rejects(busy.client({ maxRetries: 0 }).completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 2 }),
      (e) => e instanceof OpenAI.APIError && e.status === 503 && e.headers.get('retry-after') === '1');
    // not counted: /health, /stats and /v1/models still answer
    assert.equal((await get(busy, '/health')).status, 200);
    assert.equal((await stats(busy)).active_requests, 1);

    // The SDK retries after Retry-After and succeeds once the first request is done.
    const t0 = Date.now();
    const retried = busy.client({ maxRetries: 3 }).completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 2 });
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    const r = await retried;
    assert.equal(r.usage.completion_tokens, 2);
    assert.ok(Date.now() - t0 >= 900, 'the SDK waited for Retry-After');

    // n=2 and two prompts run on one sequence slot, one after another
    const n2 = await busy.client().completions.create({
      model: MODEL_ID, prompt: ['Once', 'Lily went to'], n: 2, max_tokens: 8, ignore_eos: true, logit_bias: { 1: -100 },
    });
    assert.deepEqual(n2.choices.map((c) => c.index), [0, 1, 2, 3]);
    assertUsage(n2.usage, { completion: 32 });
    await waitIdle(busy);
    assert.equal(embRetryAfter, '1', 'a 503 from /v1/embeddings needs Retry-After like the others');
  } finally {
    await busy.stop();
  }
});

test('a rejected chat message leaks nothing (a sanitizer build checks at exit)', async () => {
  // The server rejects these correctly; under ASan, stop() fails if the rejection leaked.
  const own = await startServer();
  try {
    for (const content of [[{ type: 'image_url', image_url: { url: 'http://x/y.png' } }], 5, { text: 'x' }]) {
      const r = await post(own, '/v1/chat/completions', { messages: [{ role: 'user', content }], max_tokens: 2 });
      assertError(r, 400, { param: 'messages' });
    }
  } finally {
    await own.stop();
  }
});
