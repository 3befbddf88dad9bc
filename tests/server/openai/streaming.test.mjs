// Server-sent events: through the SDK's stream iterator and through raw fetch parsing of the
// bytes; usage chunks; n > 1; logprobs; stop strings; and a client that disconnects mid-stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, post, postSSE, stats, waitIdle, reference, assertStoryText, assertRecent, assertUsage,
  sleep, MODEL_ID,
} from './server.mjs';

let server;
let client;
const LILY = 'Lily went to';
let lilyRef;
const MESSAGES = [{ role: 'user', content: 'Tell me a story about a dog.' }];

before(async () => {
  server = await startServer(['--kv-type', 'f32']);
  client = server.client();
  lilyRef = (await reference('greedy_lily_went_to.txt')).slice(LILY.length, -1);
});

after(async () => { await server?.stop(); });

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

test('SDK completions stream: chunks spell the greedy text, no usage chunk by default', async () => {
  const chunks = await collect(await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 40, temperature: 0, stream: true,
  }));
  assert.ok(chunks.length >= 40);
  const id = chunks[0].id;
  assert.match(id, /^cmpl-/);
  for (const c of chunks) {
    assert.equal(c.id, id, 'one id for the whole stream');
    assert.equal(c.object, 'text_completion');
    assert.equal(c.model, MODEL_ID);
    assertRecent(c.created);
    assert.equal(c.choices.length, 1, 'no usage-only chunk without include_usage');
    assert.equal(c.choices[0].index, 0);
    assert.equal(c.usage ?? null, null);
  }
  const text = chunks.map((c) => c.choices[0].text).join('');
  assert.equal(text, lilyRef.slice(0, text.length));
  assertStoryText(text, 8);
  const last = chunks.at(-1).choices[0];
  assert.equal(last.finish_reason, 'length');
  for (const c of chunks.slice(0, -1)) assert.equal(c.choices[0].finish_reason, null);
  // non-streamed, the same request gives the same text
  const whole = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 40, temperature: 0 });
  assert.equal(text, whole.choices[0].text);
});

test('SDK completions stream with include_usage: a final usage chunk with no choices', async () => {
  const chunks = await collect(await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 30, temperature: 0.9, seed: 3, ignore_eos: true,
    stream: true, stream_options: { include_usage: true },
  }));
  const usageChunk = chunks.at(-1);
  assert.deepEqual(usageChunk.choices, []);
  assertUsage(usageChunk.usage, { prompt: 5, completion: 30 });
  assert.equal(usageChunk.id, chunks[0].id);
  const tokenChunks = chunks.slice(0, -1).filter((c) => c.choices[0].text !== '');
  assert.equal(tokenChunks.length, 30, 'one chunk per generated token');
  for (const c of chunks.slice(0, -1)) assert.equal(c.choices.length, 1);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
});

test('SDK chat stream: the first chunk carries the role, then content, finish and usage', async () => {
  const chunks = await collect(await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 25, temperature: 0, ignore_eos: true,
    stream: true, stream_options: { include_usage: true },
  }));
  assert.match(chunks[0].id, /^chatcmpl-/);
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id);
    assertRecent(c.created);
  }
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  for (const c of chunks.slice(1)) assert.equal(c.choices[0]?.delta.role, undefined, 'role only in the first chunk');
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assertUsage(usage.usage, { completion: 25 });
  const finish = chunks.at(-2).choices[0];
  assert.equal(finish.finish_reason, 'length');
  const content = chunks.slice(0, -1).map((c) => c.choices[0].delta.content ?? '').join('');
  const whole = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 25, temperature: 0, ignore_eos: true,
  });
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(usage.usage.prompt_tokens, whole.usage.prompt_tokens);
});

test('raw SSE bytes: data: lines, [DONE] last, usage chunk just before it', async () => {
  const { events, done, raw, headers } = await postSSE(server, '/v1/completions', {
    prompt: LILY, max_tokens: 20, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  assert.ok(done, 'ends with data: [DONE]');
  assert.ok(raw.endsWith('data: [DONE]\n\n'));
  assert.equal(headers.get('cache-control'), 'no-cache');
  const usage = events.at(-1);
  assert.deepEqual(usage.choices, []);
  assertUsage(usage.usage, { prompt: 5, completion: 20 });
  const body = events.slice(0, -1);
  assert.equal(body.map((e) => e.choices[0].text).join(''), lilyRef.slice(0, body.map((e) => e.choices[0].text).join('').length));
  assert.equal(body.filter((e) => e.choices[0].text.length > 0).length, 20);
  assert.equal(body.at(-1).choices[0].finish_reason, 'length');

  // chat, without usage
  const chat = await postSSE(server, '/v1/chat/completions', {
    messages: MESSAGES, max_tokens: 10, temperature: 0, stream: true,
  });
  assert.ok(chat.done);
  assert.deepEqual(chat.events[0].choices[0].delta, { role: 'assistant', content: '' });
  for (const e of chat.events) {
    assert.equal(e.choices.length, 1, 'no usage chunk without include_usage');
    assert.equal(e.usage ?? null, null);
  }
  assert.ok(['length', 'stop'].includes(chat.events.at(-1).choices[0].finish_reason));
});

test('n=2 streams: both indexes, each with its own role chunk and finish_reason', async () => {
  const { events, done } = await postSSE(server, '/v1/chat/completions', {
    messages: MESSAGES, n: 2, max_tokens: 12, temperature: 1, seed: 21, ignore_eos: true, stream: true,
    stream_options: { include_usage: true },
  });
  assert.ok(done);
  const usage = events.pop();
  assertUsage(usage.usage, { completion: 24 });
  for (const index of [0, 1]) {
    const mine = events.filter((e) => e.choices[0].index === index);
    assert.equal(mine[0].choices[0].delta.role, 'assistant');
    assert.equal(mine.filter((e) => e.choices[0].delta.role).length, 1);
    assert.equal(mine.filter((e) => e.choices[0].finish_reason !== null).length, 1);
    assert.equal(mine.at(-1).choices[0].finish_reason, 'length');
    assertStoryText(mine.map((e) => e.choices[0].delta.content ?? '').join(''), 1);
  }
  // completions, n=2
  const comp = await postSSE(server, '/v1/completions', {
    prompt: LILY, n: 2, max_tokens: 10, temperature: 0, stream: true,
  });
  for (const index of [0, 1]) {
    const text = comp.events.filter((e) => e.choices[0].index === index).map((e) => e.choices[0].text).join('');
    assert.equal(text, lilyRef.slice(0, text.length));
    assert.ok(text.length > 20);
  }
});

test('streamed stop strings give the same text as non-streamed (no stop text leaks)', async () => {
  for (const stop of ['her ball', 'box.', 'o play', 'big']) {
    const whole = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 100, temperature: 0, stop });
    const expected = lilyRef.slice(0, lilyRef.indexOf(stop));
    assert.equal(whole.choices[0].text, expected);
    const chunks = await collect(await client.completions.create({
      model: MODEL_ID, prompt: LILY, max_tokens: 100, temperature: 0, stop, stream: true,
    }));
    assert.equal(chunks.map((c) => c.choices[0].text).join(''), expected, `stop ${JSON.stringify(stop)}`);
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  }
});

test('streamed logprobs: each token chunk has its logprobs; offsets continue', async () => {
  const chunks = await collect(await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 15, temperature: 0, logprobs: 2, stream: true, echo: false,
  }));
  const tokenChunks = chunks.filter((c) => c.choices[0].logprobs);
  assert.equal(tokenChunks.length, 15);
  let offset = 0;
  for (const c of tokenChunks) {
    const lp = c.choices[0].logprobs;
    assert.deepEqual(lp.tokens, [c.choices[0].text]);
    assert.equal(lp.text_offset[0], offset);
    offset += c.choices[0].text.length;
    assert.ok(lp.token_logprobs[0] <= 0);
    const top = Object.values(lp.top_logprobs[0]);
    assert.ok(top.length >= 1 && top.length <= 2);
    assert.ok(top[0] >= (top[1] ?? -Infinity));
  }
  const chat = await collect(await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 6, temperature: 0, ignore_eos: true,
    logprobs: true, top_logprobs: 2, stream: true,
  }));
  const withLp = chat.filter((c) => c.choices[0]?.logprobs?.content);
  assert.equal(withLp.length, 6);
  for (const c of withLp) {
    const [e] = c.choices[0].logprobs.content;
    assert.equal(e.token, c.choices[0].delta.content ?? '');
    assert.equal(e.top_logprobs.length, 2);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
  }
});

test('streamed echo: the prompt comes first', async () => {
  const chunks = await collect(await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 5, temperature: 0, echo: true, stream: true,
  }));
  assert.equal(chunks[0].choices[0].text, LILY);
  assert.equal(chunks.map((c) => c.choices[0].text).join(''), LILY + lilyRef.slice(0, chunks.map((c) => c.choices[0].text).join('').length - LILY.length));
});

// 500 tokens of a 512-token context, never stopping early (ignore_eos, and BOS, which llama2.c
// models end a text with and ignore_eos does not cover, banned). n=8 of them take long enough (most
// of a second, even on a fast machine) to disconnect mid-way.
const LONG = { prompt: 'Once', max_tokens: 500, ignore_eos: true, logit_bias: { 1: -100 }, temperature: 1 };

test('a client that disconnects mid-stream cancels its request and frees its KV blocks', async () => {
  await waitIdle(server);
  const before = await stats(server);
  const ac = new AbortController();
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...LONG, n: 8, stream: true }), signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  let got = '';
  while ((got.match(/^data: /gm) ?? []).length < 3) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before it was aborted');
    got += Buffer.from(value).toString('utf8');
  }
  const during = await stats(server);
  assert.equal(during.active_requests, 1, JSON.stringify(during));
  assert.ok(during.kv_blocks.used > 0, JSON.stringify(during));
  ac.abort();
  await reader.read().catch(() => {});
  const idle = await waitIdle(server, 3000);
  assert.equal(idle.finished_requests, before.finished_requests + 1, 'one engine request (n=8 samples)');
  const generated = idle.generated_tokens - before.generated_tokens;
  assert.ok(generated < (8 * LONG.max_tokens) / 2,
    `the request should be cancelled early, yet it generated ${generated} of ${8 * LONG.max_tokens} tokens`);
});

test('the same disconnect through the SDK stream (controller.abort) frees everything', async () => {
  const before = await stats(server);
  const stream = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 400, ignore_eos: true, logit_bias: { 1: -100 }, stream: true,
  });
  let n = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (++n === 3) {
      stream.controller.abort();
      break;
    }
  }
  const idle = await waitIdle(server, 3000);
  assert.equal(idle.finished_requests, before.finished_requests + 1);
});

test('a client that disconnects from a non-streamed request cancels it too', async () => {
  await waitIdle(server);
  const before = await stats(server);
  const ac = new AbortController();
  // n=16 x 500 tokens: seconds of work, well beyond the abort below.
  const pending = fetch(`${server.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...LONG, n: 16 }), signal: ac.signal,
  }).catch((e) => e);
  for (let i = 0; i < 100; i++) {
    const s = await stats(server);
    if (s.running > 0 && s.generated_tokens > before.generated_tokens) break;
    await sleep(10);
  }
  ac.abort();
  assert.equal((await pending).name, 'AbortError');
  // The whole request takes seconds; a cancelled one stops within a step or two.
  const t0 = Date.now();
  const idle = await waitIdle(server, 10000);
  const waited = Date.now() - t0;
  const generated = idle.generated_tokens - before.generated_tokens;
  assert.ok(waited < 1000 && generated < (16 * LONG.max_tokens) / 2,
    `the server kept generating for ${waited} ms after the client left (${generated} of ${16 * LONG.max_tokens} tokens)`);
});
