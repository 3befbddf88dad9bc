// POST /v1/completions through the official SDK: content, usage, greedy reference outputs, n,
// stop strings, seeds, logprobs, echo, batched prompts, logit_bias, stop_token_ids.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  startServer, post, reference, assertStoryText, assertRecent, assertUsage, MODEL_ID, BIN, MODEL, TOKENIZER,
} from './server.mjs';

let server;
let client;

// Reference greedy runs of llama2.c's run.c: 256 positions with the prompt (BOS included), so a
// 5-token prompt ("Lily went to" = 1 317 263 377 267) gets 252 sampled tokens and the empty
// prompt (BOS only) 256. The file holds the prompt, the sampled text and a final "\n".
const LILY = 'Lily went to';
let lilyRef; // the sampled text only
let onceRef;
let emptyRef;

before(async () => {
  server = await startServer(['--kv-type', 'f32']);
  client = server.client();
  const lily = await reference('greedy_lily_went_to.txt');
  assert.ok(lily.startsWith(LILY) && lily.endsWith('\n'));
  lilyRef = lily.slice(LILY.length, -1);
  onceRef = (await reference('greedy_once_upon_a_time.txt')).slice(0, -1);
  emptyRef = (await reference('greedy_empty.txt')).slice(0, -1);
});

after(async () => { await server?.stop(); });

test('a completion has the OpenAI shape and story text', async () => {
  const r = await client.completions.create({
    model: MODEL_ID, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, user: 'tests',
  });
  assert.match(r.id, /^cmpl-[0-9a-f]{8,}$/);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, MODEL_ID);
  assertRecent(r.created);
  assert.equal(r.choices.length, 1);
  const [c] = r.choices;
  assert.equal(c.index, 0);
  assert.equal(c.logprobs, null);
  assert.equal(c.finish_reason, 'length');
  assertStoryText(c.text, 4);
  assert.ok(onceRef.startsWith('Once upon a time' + c.text), `${JSON.stringify(c.text)} is not the greedy start`);
  assertUsage(r.usage, { prompt: 5, completion: 24 });
  // ids are unique per request
  const r2 = await client.completions.create({ model: MODEL_ID, prompt: 'Once', max_tokens: 1 });
  assert.notEqual(r2.id, r.id);
});

test('the model field may be left out (raw HTTP) and max_tokens defaults to 16', async () => {
  const r = await post(server, '/v1/completions', { prompt: 'Once upon a time', temperature: 0, ignore_eos: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.model, MODEL_ID);
  assertUsage(r.body.usage, { prompt: 5, completion: 16 });
  assert.equal(r.body.choices[0].finish_reason, 'length');
});

test('greedy output equals the run.c reference byte for byte (F32 KV cache)', async () => {
  const lily = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 252, temperature: 0 });
  assert.equal(lily.choices[0].text, lilyRef);
  assert.equal(lily.choices[0].finish_reason, 'length');
  assertUsage(lily.usage, { prompt: 5, completion: 252 });

  const once = await client.completions.create({
    model: MODEL_ID, prompt: 'Once upon a time', max_tokens: 252, temperature: 0, echo: true,
  });
  assert.equal(once.choices[0].text, onceRef, 'echo: the prompt followed by the greedy text');

  // The empty prompt is BOS alone; run.c prints the first token without its leading space.
  const empty = await client.completions.create({ model: MODEL_ID, prompt: '', max_tokens: 256, temperature: 0 });
  assert.equal(empty.choices[0].text, emptyRef);
  assertUsage(empty.usage, { prompt: 1, completion: 256 });
});

test('greedy output equals `inferneo run --temp 0` (prompt + text) for other prompts', async () => {
  for (const [prompt, n] of [['Tom and Sue', 150], ['The cat', 400]]) {
    const { stdout } = await promisify(execFile)(BIN,
      ['run', '-m', MODEL, '-z', TOKENIZER, '-p', prompt, '-n', String(n), '--temp', '0', '-t', '1'], { maxBuffer: 1 << 20 });
    const r = await client.completions.create({ model: MODEL_ID, prompt, max_tokens: n, temperature: 0 });
    assert.ok(r.choices[0].text.length > 100);
    assert.equal(prompt + r.choices[0].text, stdout.replace(/\n$/, ''), `prompt ${JSON.stringify(prompt)}`);
  }
});

test('token-id prompts give the same greedy text as the string', async () => {
  const r = await client.completions.create({
    model: MODEL_ID, prompt: [1, 317, 263, 377, 267], max_tokens: 60, temperature: 0,
  });
  assert.equal(r.choices[0].text, lilyRef.slice(0, r.choices[0].text.length));
  assert.ok(r.choices[0].text.length > 100);
  assertUsage(r.usage, { prompt: 5, completion: 60 });
});

test('batched prompts: one choice per prompt (and per n), each its own greedy text', async () => {
  // Running together in one batch must not change any sequence's greedy output.
  const r = await client.completions.create({
    model: MODEL_ID, prompt: [LILY, 'Once upon a time', [1, 317, 263, 377, 267]], max_tokens: 120, temperature: 0,
  });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(r.choices[0].text, lilyRef.slice(0, r.choices[0].text.length));
  assert.equal('Once upon a time' + r.choices[1].text, onceRef.slice(0, 16 + r.choices[1].text.length));
  assert.equal(r.choices[2].text, r.choices[0].text);
  assertUsage(r.usage, { prompt: 15, completion: 360 });

  const rn = await client.completions.create({
    model: MODEL_ID, prompt: [LILY, 'Once upon a time'], n: 2, max_tokens: 8, temperature: 0,
  });
  assert.deepEqual(rn.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(rn.choices[0].text, rn.choices[1].text);
  assert.equal(rn.choices[2].text, rn.choices[3].text);
  assert.notEqual(rn.choices[0].text, rn.choices[2].text);
  assertUsage(rn.usage, { prompt: 10, completion: 32 });
});

test('parallel requests batch together and keep their greedy outputs', async () => {
  const prompts = [LILY, 'Once upon a time', '', LILY, 'Once upon a time', ''];
  const refs = [lilyRef, onceRef.slice(16), emptyRef, lilyRef, onceRef.slice(16), emptyRef];
  const results = await Promise.all(prompts.map((prompt) =>
    client.completions.create({ model: MODEL_ID, prompt, max_tokens: 100, temperature: 0 })));
  results.forEach((r, i) => {
    const t = r.choices[0].text;
    assert.ok(t.length > 50);
    assert.equal(t, refs[i].slice(0, t.length), `request ${i} (${JSON.stringify(prompts[i])})`);
  });
});

test('a repeated prompt reuses cached KV blocks without changing the output', async () => {
  const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';
  const a = await client.completions.create({ model: MODEL_ID, prompt, max_tokens: 30, temperature: 0 });
  const b = await client.completions.create({ model: MODEL_ID, prompt, max_tokens: 30, temperature: 0 });
  assert.equal(b.choices[0].text, a.choices[0].text);
  assert.ok(a.usage.prompt_tokens > 16);
  const cached = b.usage.prompt_tokens_details?.cached_tokens;
  assert.ok(Number.isInteger(cached) && cached >= 16 && cached < b.usage.prompt_tokens,
    `second request should hit the prefix cache: ${JSON.stringify(b.usage)}`);
});

test('n=2 gives two choices with indexes 0 and 1 and counts both in usage', async () => {
  const r = await client.completions.create({
    model: MODEL_ID, prompt: LILY, n: 2, max_tokens: 20, temperature: 1.0, seed: 9, ignore_eos: true,
  });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  for (const c of r.choices) {
    assertStoryText(c.text, 3);
    assert.equal(c.finish_reason, 'length');
  }
  assertUsage(r.usage, { prompt: 5, completion: 40 });
});

test('stop strings end the text before the stop string with finish_reason "stop"', async () => {
  // Greedy text: " the park with her mom. She saw a big box with a big box. She wanted to play ..."
  for (const stop of ['box.', ['zzz', 'wanted'], 'her mom', 'ig b']) {
    const r = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 100, temperature: 0, stop });
    const first = Math.min(...[stop].flat().map((s) => lilyRef.indexOf(s)).filter((i) => i >= 0));
    const expected = lilyRef.slice(0, first);
    assert.equal(r.choices[0].text, expected, `stop ${JSON.stringify(stop)}`);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.completion_tokens < 100);
  }
  // A stop string that never appears: the length limit ends it.
  const r = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 10, temperature: 0, stop: ['dragon'] });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.choices[0].text, lilyRef.slice(0, r.choices[0].text.length));
});

test('the same seed reproduces a sampled completion; different seeds differ', async () => {
  const ask = (seed) => client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 32, temperature: 0.8, seed, ignore_eos: true,
  }).then((r) => r.choices[0].text);
  const a = await ask(1234);
  const b = await ask(1234);
  assert.equal(a, b, 'same seed, same text');
  assertStoryText(a, 4);
  const others = await Promise.all([1, 2, 3, 4, 5].map((s) => ask(s)));
  const distinct = new Set([a, ...others]);
  assert.ok(distinct.size >= 3, `seeds 1234,1..5 should mostly differ: ${[...distinct].join(' | ')}`);
});

test('n=2 with a seed gives two different samples', async () => {
  const r = await client.completions.create({
    model: MODEL_ID, prompt: LILY, n: 2, max_tokens: 32, temperature: 1.0, seed: 7, ignore_eos: true,
  });
  assert.notEqual(r.choices[0].text, r.choices[1].text);
});

test('logprobs=2: one entry per completion token, values <= 0, top lists sorted', async () => {
  for (const temperature of [0, 1]) {
    const r = await client.completions.create({
      model: MODEL_ID, prompt: LILY, max_tokens: 12, temperature, logprobs: 2, seed: 3,
    });
    const [c] = r.choices;
    const lp = c.logprobs;
    const n = r.usage.completion_tokens;
    assert.ok(n > 0);
    assert.equal(lp.tokens.length, n);
    assert.equal(lp.token_logprobs.length, n);
    assert.equal(lp.top_logprobs.length, n);
    assert.equal(lp.text_offset.length, n);
    assert.equal(lp.tokens.join(''), c.text, 'the tokens spell the text');
    let offset = 0;
    for (let i = 0; i < n; i++) {
      assert.equal(lp.text_offset[i], offset);
      offset += lp.tokens[i].length;
      assert.ok(lp.token_logprobs[i] <= 0, `logprob ${lp.token_logprobs[i]}`);
      const top = Object.entries(lp.top_logprobs[i]);
      assert.ok(top.length >= 1 && top.length <= 2, JSON.stringify(lp.top_logprobs[i]));
      for (let k = 1; k < top.length; k++) assert.ok(top[k - 1][1] >= top[k][1], 'top_logprobs sorted');
      for (const [, v] of top) assert.ok(v <= 0);
      // The best alternative is at least as likely as the chosen token.
      assert.ok(top[0][1] >= lp.token_logprobs[i] - 1e-6);
      if (temperature === 0) {
        assert.equal(top[0][0], lp.tokens[i], 'greedy picks the top token');
        assert.ok(Math.abs(top[0][1] - lp.token_logprobs[i]) < 1e-6);
      }
    }
  }
});

test('echo returns the prompt in front of the completion', async () => {
  const r = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 10, temperature: 0, echo: true });
  assert.ok(r.choices[0].text.startsWith(LILY));
  assert.equal(r.choices[0].text, LILY + lilyRef.slice(0, r.choices[0].text.length - LILY.length));
});

test('echo of a token-id prompt gives the same text as echo of the string', async () => {
  const r = await client.completions.create({
    model: MODEL_ID, prompt: [1, 317, 263, 377, 267], max_tokens: 4, temperature: 0, echo: true,
  });
  assert.equal(r.choices[0].text, LILY + lilyRef.slice(0, r.choices[0].text.length - LILY.length));
});

test('logit_bias +100 forces a token; -100 bans one', async () => {
  // 317 is " Lily".
  const forced = await client.completions.create({
    model: MODEL_ID, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, logit_bias: { 317: 100 },
  });
  assert.equal(forced.choices[0].text, ' Lily Lily Lily Lily Lily');
  // Greedy "Lily went to" starts with 265 (" the"); banning it changes the first token.
  const banned = await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 5, temperature: 0, logit_bias: { 265: -100 },
  });
  assert.ok(!banned.choices[0].text.startsWith(' the '), JSON.stringify(banned.choices[0].text));
  assertStoryText(banned.choices[0].text, 1);
});

test('stop_token_ids end generation at that token, which is not part of the text', async () => {
  // The greedy ids after "Lily went to": 265 282 295 433 335 311 357 426 ... (426 is ".")
  const r = await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 50, temperature: 0, stop_token_ids: [426],
  });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.choices[0].text, ' the park with her mom');
  assert.equal(r.usage.completion_tokens, 8, 'the stop token counts as generated');
});

test('max_tokens=1 gives one token', async () => {
  const one = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 1, temperature: 0 });
  assert.equal(one.choices[0].text, ' the');
  assertUsage(one.usage, { prompt: 5, completion: 1 });
});

// Greedy "The cat" ends its story (the model samples BOS, id 1, which llama2.c models and run.c
// treat as the end of the text) after a couple of hundred tokens.
async function theCat(extra = {}) {
  return client.completions.create({ model: MODEL_ID, prompt: 'The cat', max_tokens: 400, temperature: 0, ...extra });
}

test('a text that ends by itself: finish_reason "stop" before max_tokens', async () => {
  const r = await theCat();
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.completion_tokens > 50 && r.usage.completion_tokens < 400, JSON.stringify(r.usage));
  assertStoryText(r.choices[0].text, 30);
  assert.match(r.choices[0].text, /[.!"]$/);
});

test('ignore_eos keeps generating past the end-of-text token, up to max_tokens', async () => {
  const plain = await theCat();
  const r = await theCat({ ignore_eos: true });
  assert.equal(r.choices[0].finish_reason, 'length',
    `ignore_eos: stopped after ${r.usage.completion_tokens} tokens, like without it (${plain.usage.completion_tokens})`);
  assertUsage(r.usage, { completion: 400 });
  assert.ok(r.choices[0].text.startsWith(plain.choices[0].text));
});

test('min_tokens holds back the end-of-text token until that many tokens', async () => {
  const plain = await theCat();
  const min = plain.usage.completion_tokens + 20;
  const r = await theCat({ min_tokens: min });
  assert.ok(r.usage.completion_tokens >= min,
    `min_tokens ${min}, yet it stopped after ${r.usage.completion_tokens} tokens (${r.choices[0].finish_reason})`);
});

test('logprobs have one entry per completion token when a stop token ends the text', async () => {
  const r = await theCat({ logprobs: 1 });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.choices[0].logprobs.tokens.length, r.usage.completion_tokens,
    'completion_tokens counts the end-of-text token, so logprobs must list it too (or neither)');
  const s = await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 50, temperature: 0, stop_token_ids: [426], logprobs: 1,
  });
  assert.equal(s.choices[0].logprobs.token_logprobs.length, s.usage.completion_tokens);
});

test('sampling extensions and penalties are accepted and still give story text', async () => {
  const r = await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 20, temperature: 0.7, top_p: 0.9, seed: 5,
    presence_penalty: 0.5, frequency_penalty: 0.5,
    // vLLM extensions (not in the SDK's types, passed through as body fields)
    top_k: 40, min_p: 0.05, repetition_penalty: 1.1, priority: 0,
  });
  assertStoryText(r.choices[0].text, 3);
  // frequency_penalty 2 discourages "It is a ball." repeating as in the greedy text.
  const plain = await client.completions.create({ model: MODEL_ID, prompt: LILY, max_tokens: 200, temperature: 0 });
  const penal = await client.completions.create({
    model: MODEL_ID, prompt: LILY, max_tokens: 200, temperature: 0, frequency_penalty: 2,
  });
  const count = (t) => (t.match(/It is a ball\./g) ?? []).length;
  assert.ok(count(penal.choices[0].text) < count(plain.choices[0].text),
    `${count(penal.choices[0].text)} vs ${count(plain.choices[0].text)}`);
});

test('logprobs text_offset counts characters of the text, also for byte-fallback tokens', async () => {
  // logit_bias forces token 198, the lone byte 0xC3 (a UTF-8 lead byte with no continuation): each
  // comes out as U+FFFD.
  const r = await client.completions.create({
    model: MODEL_ID, prompt: 'Once', max_tokens: 3, temperature: 0, logit_bias: { 198: 100 }, logprobs: 1,
  });
  const { text, logprobs: lp } = r.choices[0];
  assert.equal(text, '\ufffd\ufffd\ufffd');
  assert.equal(lp.tokens.join(''), text);
  assert.deepEqual(lp.text_offset, [0, 1, 2], `text_offset for tokens ${JSON.stringify(lp.tokens)} of ${JSON.stringify(text)}`);
});
