// POST /v1/chat/completions through the official SDK (chatml template for this model).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, post, assertError, assertStoryText, assertRecent, assertUsage, MODEL_ID,
} from './server.mjs';

let server;
let client;

const MESSAGES = [
  { role: 'system', content: 'You tell short stories.' },
  { role: 'user', content: 'Tell me a story about a girl named Lily.' },
];

before(async () => {
  server = await startServer(['--kv-type', 'f32']);
  client = server.client();
});

after(async () => { await server?.stop(); });

test('a chat completion has the OpenAI shape', async () => {
  const r = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, max_tokens: 30, temperature: 0 });
  assert.match(r.id, /^chatcmpl-[0-9a-f]{8,}$/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, MODEL_ID);
  assertRecent(r.created);
  assert.equal(r.choices.length, 1);
  const [c] = r.choices;
  assert.equal(c.index, 0);
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assertStoryText(c.message.content, 3);
  assert.equal(c.logprobs, null);
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  assertUsage(r.usage);
  assert.ok(r.usage.prompt_tokens > 20, 'the chatml template wraps the messages');
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 30);
  if (c.finish_reason === 'length') assert.equal(r.usage.completion_tokens, 30);
});

test('the chat prompt is the chatml rendering: same greedy text as /v1/completions on its tokens', async () => {
  const tok = await post(server, '/tokenize', { model: MODEL_ID, messages: MESSAGES });
  assert.equal(tok.status, 200, tok.text);
  assert.equal(tok.body.count, tok.body.tokens.length);
  const chat = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_completion_tokens: 40, temperature: 0, ignore_eos: true,
  });
  assert.equal(chat.usage.prompt_tokens, tok.body.count);
  assert.equal(chat.usage.completion_tokens, 40, 'max_completion_tokens is honoured');
  const comp = await client.completions.create({
    model: MODEL_ID, prompt: tok.body.tokens, max_tokens: 40, temperature: 0, ignore_eos: true,
  });
  assert.equal(chat.choices[0].message.content, comp.choices[0].text);
  // The rendered prompt is chatml.
  const detok = await post(server, '/detokenize', { model: MODEL_ID, tokens: tok.body.tokens });
  assert.equal(detok.status, 200, detok.text);
  assert.match(detok.body.prompt, /<\|im_start\|>system\nYou tell short stories\.<\|im_end\|>\n<\|im_start\|>user\nTell me a story about a girl named Lily\.<\|im_end\|>\n<\|im_start\|>assistant\n$/);
});

test('content given as a list of text parts equals the plain string', async () => {
  const parts = [{ role: 'user', content: [{ type: 'text', text: 'Tell me a story' }, { type: 'text', text: 'about Lily.' }] }];
  const plain = [{ role: 'user', content: 'Tell me a story\nabout Lily.' }];
  const a = await client.chat.completions.create({ model: MODEL_ID, messages: parts, max_tokens: 16, temperature: 0 });
  const b = await client.chat.completions.create({ model: MODEL_ID, messages: plain, max_tokens: 16, temperature: 0 });
  assert.equal(a.usage.prompt_tokens, b.usage.prompt_tokens);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('without max_tokens a chat runs to a stop or to the end of the context', async () => {
  const r = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, temperature: 0 });
  const c = r.choices[0];
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  if (c.finish_reason === 'length') assert.equal(r.usage.total_tokens, 512);
  assert.ok(r.usage.total_tokens <= 512);
  assertStoryText(c.message.content, 3);
});

test('n=2 chat choices have indexes 0 and 1', async () => {
  const r = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, n: 2, max_tokens: 12, temperature: 1, seed: 4, ignore_eos: true,
  });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  for (const c of r.choices) {
    assert.equal(c.message.role, 'assistant');
    assert.equal(c.finish_reason, 'length');
  }
  assertUsage(r.usage, { completion: 24 });
});

test('chat stop strings cut the content before the stop string', async () => {
  const full = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 60, temperature: 0, ignore_eos: true,
  });
  const text = full.choices[0].message.content;
  // pick a stop string from the middle of the greedy text
  const words = text.match(/[A-Za-z]{3,}/g);
  assert.ok(words && words.length > 2, JSON.stringify(text));
  const stop = words[Math.floor(words.length / 2)];
  const r = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 60, temperature: 0, ignore_eos: true, stop: [stop],
  });
  assert.equal(r.choices[0].message.content, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
});

test('chat logprobs + top_logprobs: one entry per token, sorted tops, bytes match', async () => {
  const r = await client.chat.completions.create({
    model: MODEL_ID, messages: MESSAGES, max_tokens: 10, temperature: 0.8, seed: 11, logprobs: true, top_logprobs: 3,
  });
  const [c] = r.choices;
  const content = c.logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  assert.equal(content.map((e) => e.token).join(''), c.message.content);
  for (const e of content) {
    assert.ok(e.logprob <= 0);
    assert.deepEqual(e.bytes, [...Buffer.from(e.token, 'utf8')]);
    assert.equal(e.top_logprobs.length, 3);
    for (let k = 1; k < 3; k++) assert.ok(e.top_logprobs[k - 1].logprob >= e.top_logprobs[k].logprob, 'sorted');
    for (const t of e.top_logprobs) {
      assert.ok(t.logprob <= 0);
      assert.equal(typeof t.token, 'string');
      assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
    }
    assert.ok(e.top_logprobs[0].logprob >= e.logprob - 1e-6);
    const probs = e.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0);
    assert.ok(probs <= 1 + 1e-4, `top probabilities sum to ${probs}`);
  }
  // logprobs without top_logprobs: empty top lists
  const r0 = await client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, max_tokens: 4, seed: 8, logprobs: true });
  assert.equal(r0.choices[0].logprobs.content.length, r0.usage.completion_tokens);
  for (const e of r0.choices[0].logprobs.content) assert.deepEqual(e.top_logprobs, []);
});

test('chat-specific request errors', async () => {
  const cases = [
    [{ messages: MESSAGES, top_logprobs: 2 }, 'top_logprobs'],
    [{ messages: MESSAGES, logprobs: 2 }, 'logprobs'],
    [{ messages: MESSAGES, echo: true }, 'echo'],
    [{ messages: [] }, 'messages'],
    [{ messages: 'hello' }, 'messages'],
    [{ messages: [{ content: 'no role' }] }, 'messages'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages'],
  ];
  for (const [body, param] of cases) {
    const r = await post(server, '/v1/chat/completions', { model: MODEL_ID, max_tokens: 2, ...body });
    assertError(r, 400, { param, type: 'invalid_request_error' });
  }
});
