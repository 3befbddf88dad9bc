// Multi-model serving (issue 6) through the HTTP API: a repository of real tiny models loaded on
// demand under a cap, LRU eviction, the answering model in `model` and X-Inferneo-Model, one load
// for many concurrent cold requests, Triton's repository endpoints, unload under load, and a
// sticky 90/10 split from a routing file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, post, get, stats, waitIdle, SHARED_DIR, sleep } from './server.mjs';

const stories = path.join(SHARED_DIR, 'models', 'stories260K');
const dreams = path.join(SHARED_DIR, 'models', 'aidreams260K');
let dir;
let server;

function addModel(name, version, from, file) {
  const d = path.join(dir, 'repo', name, String(version));
  mkdirSync(d, { recursive: true });
  cpSync(path.join(from, file), path.join(d, file));
  cpSync(path.join(from, 'tok512.bin'), path.join(d, 'tok512.bin'));
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ifn-models-'));
  addModel('stories', 1, stories, 'stories260K.bin');
  addModel('stories', 2, stories, 'stories260K.bin');
  addModel('dreams', 1, dreams, 'aidreams260K.bin');
  addModel('tales', 1, stories, 'stories260K.bin');
  writeFileSync(path.join(dir, 'repo', 'stories', 'config.json'),
    JSON.stringify({ version_policy: 'all', aliases: ['story'] }));
  writeFileSync(path.join(dir, 'repo', 'dreams', 'config.json'),
    JSON.stringify({ defaults: { max_tokens: 3, temperature: 0 } }));
  writeFileSync(path.join(dir, 'routing.json'), JSON.stringify({
    version: 1,
    routes: { ab: { split: [{ model: 'stories@1', weight: 90 }, { model: 'stories@2', weight: 10 }], sticky: true } },
  }));
  server = await startServer(['--model-repo', path.join(dir, 'repo'), '--max-models', '2',
    '--routing', path.join(dir, 'routing.json')], { withModel: false });
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const complete = (model, extra = {}) =>
  post(server, '/v1/completions', { model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, ...extra });

async function modelStatus() {
  const r = await get(server, '/v1/models');
  assert.equal(r.status, 200);
  return Object.fromEntries(r.body.data.map((m) => [m.id, m.status]));
}

test('every repository model is listed with a status before any is loaded', async () => {
  const status = await modelStatus();
  assert.deepEqual(Object.keys(status).sort(), ['dreams@1', 'stories@1', 'stories@2', 'tales@1']);
  for (const s of Object.values(status)) assert.equal(s, 'unloaded');
  const index = await post(server, '/v2/repository/index', {});
  assert.equal(index.status, 200);
  assert.equal(index.body.length, 4);
});

test('a request loads its model on demand and names it in model and X-Inferneo-Model', async () => {
  const r = await complete('dreams');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.model, 'dreams@1');
  assert.equal(r.headers.get('x-inferneo-model'), 'dreams@1');
  assert.ok(r.body.choices[0].text.length > 0);
  assert.equal((await modelStatus())['dreams@1'], 'ready');
  const alias = await complete('story');
  assert.equal(alias.status, 200);
  assert.match(alias.body.model, /^stories@[12]$/);
});

test('different models answer differently and each answer is its own model\'s greedy text', async () => {
  const a = await complete('tales', { max_tokens: 20 });
  const b = await complete('dreams', { max_tokens: 20 });
  const c = await complete('stories@1', { max_tokens: 20 });
  assert.equal(a.status, 200);
  assert.equal(a.body.choices[0].text, c.body.choices[0].text, 'same weights, same greedy text');
  assert.notEqual(a.body.choices[0].text, b.body.choices[0].text);
});

test('at most two models loaded; the least recently used is evicted and reloads on demand', async () => {
  for (const m of ['tales', 'dreams', 'stories@2', 'tales', 'stories@1', 'dreams']) {
    const r = await complete(m);
    assert.equal(r.status, 200, r.text);
    const ready = Object.values(await modelStatus()).filter((s) => s === 'ready').length;
    assert.ok(ready <= 2, `ready models ${ready}`);
  }
  const st = await stats(server);
  assert.ok(st.manager.evictions >= 3, JSON.stringify(st.manager));
  assert.ok(st.manager.models_loaded <= 2);
});

test('a model\'s config defaults apply to fields the request leaves out', async () => {
  const r = await post(server, '/v1/completions', { model: 'dreams', prompt: 'I dreamed' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.usage.completion_tokens, 3);
  const again = await post(server, '/v1/completions', { model: 'dreams', prompt: 'I dreamed' });
  assert.equal(again.body.choices[0].text, r.body.choices[0].text, 'temperature 0 from the defaults');
  const own = await post(server, '/v1/completions', { model: 'dreams', prompt: 'I dreamed', max_tokens: 5 });
  assert.equal(own.body.usage.completion_tokens, 5);
});

test('unknown models are 404 model_not_found', async () => {
  const r = await complete('nope');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'model_not_found');
  const v = await complete('dreams@7');
  assert.equal(v.status, 404);
});

test('20 concurrent requests for a cold model trigger exactly one load', async () => {
  const unload = await post(server, '/v2/repository/models/tales/unload', {});
  assert.equal(unload.status, 200, unload.text);
  const before = (await stats(server)).manager.loads;
  const results = await Promise.all(Array.from({ length: 20 }, () => complete('tales')));
  for (const r of results) assert.equal(r.status, 200, r.text);
  assert.equal(new Set(results.map((r) => r.body.choices[0].text)).size, 1);
  assert.equal((await stats(server)).manager.loads - before, 1);
});

test('Triton load/unload/ready endpoints', async () => {
  assert.equal((await post(server, '/v2/repository/models/dreams/unload', {})).status, 200);
  assert.equal((await get(server, '/v2/models/dreams/ready')).status, 400);
  assert.equal((await post(server, '/v2/repository/models/dreams/load', {})).status, 200);
  assert.equal((await get(server, '/v2/models/dreams/ready')).status, 200);
  const meta = await get(server, '/v2/models/stories');
  assert.equal(meta.status, 200);
  assert.equal(meta.body.versions.length, 2);
  assert.equal((await post(server, '/v2/repository/models/nope/load', {})).status, 404);
});

test('unload under load: the running request ends cleanly, memory returns, the model reloads', async () => {
  const long = post(server, '/v1/completions', {
    model: 'tales', prompt: 'Once', n: 16, max_tokens: 500, ignore_eos: true, temperature: 0,
    logit_bias: { 1: -100 },
  });
  await sleep(100);
  const unload = await post(server, '/v2/repository/models/tales/unload', {});
  assert.equal(unload.status, 200, unload.text);
  const r = await long;
  assert.equal(r.status, 200, r.text); // cut short after the 10 s grace, or done: never an error
  assert.ok(['abort', 'length'].includes(r.body.choices[0].finish_reason));
  assert.equal((await modelStatus())['tales@1'], 'unloaded');
  assert.equal((await complete('tales')).status, 200);
  await waitIdle(server);
});

test('a sticky 90/10 split: users keep their variant and about 10% get the new one', async () => {
  const chosen = new Map();
  const n = 300;
  for (let i = 0; i < n; i++) {
    const r = await complete('ab', { user: `user-${i}`, max_tokens: 1 });
    assert.equal(r.status, 200, r.text);
    chosen.set(i, r.body.model);
  }
  const share = [...chosen.values()].filter((m) => m === 'stories@2').length / n;
  assert.ok(share > 0.05 && share < 0.15, `share of stories@2: ${share}`);
  for (let i = 0; i < 40; i++) {
    const r = await complete('ab', { user: `user-${i}`, max_tokens: 1 });
    assert.equal(r.body.model, chosen.get(i), `user-${i} switched variant`);
    const h = await post(server, '/v1/completions', { model: 'ab', prompt: 'x', max_tokens: 1 },
      { headers: { 'X-Session-Id': `user-${i}` } });
    assert.equal(h.status, 200);
  }
  const counts = (await stats(server)).routing.counts;
  assert.equal(counts.reduce((a, c) => a + c.chosen, 0), n + 80);
});

test('routing by needed context and fallback when a model is overloaded', async () => {
  // A second server: "small" has a 64-position context, "big" the model's 512; prompts that do
  // not fit "small" move to "big" (a context rule), and "busy" falls back to "spare" while its
  // queue is above the threshold.
  const repo = path.join(dir, 'repo2');
  for (const name of ['small', 'big', 'busy', 'spare']) {
    const d = path.join(repo, name, '1');
    mkdirSync(d, { recursive: true });
    cpSync(path.join(stories, 'stories260K.bin'), path.join(d, 'stories260K.bin'));
    cpSync(path.join(stories, 'tok512.bin'), path.join(d, 'tok512.bin'));
  }
  writeFileSync(path.join(repo, 'small', 'config.json'), JSON.stringify({ context_length: 64 }));
  const routing = path.join(dir, 'routing2.json');
  writeFileSync(routing, JSON.stringify({
    version: 1,
    rules: [{ from: 'small', min_context: 65, model: 'big' }],
    fallback: { queue_threshold: 0, models: { busy: ['spare'] } },
  }));
  const s2 = await startServer(['--model-repo', repo, '--routing', routing], { withModel: false });
  try {
    const fits = await post(s2, '/v1/completions', { model: 'small', prompt: 'Once', max_tokens: 8 });
    assert.equal(fits.status, 200, fits.text);
    assert.equal(fits.body.model, 'small@1');
    const long = await post(s2, '/v1/completions', { model: 'small', prompt: 'Once', max_tokens: 100 });
    assert.equal(long.status, 200, long.text);
    assert.equal(long.body.model, 'big@1', 'a request that needs 101 positions moves to big');
    assert.equal(long.body.usage.completion_tokens > 8, true);

    assert.equal((await post(s2, '/v1/completions', { model: 'busy', prompt: 'x', max_tokens: 1 })).body.model, 'busy@1');
    const blocker = post(s2, '/v1/completions', {
      model: 'busy', prompt: 'Once', n: 16, max_tokens: 400, ignore_eos: true, logit_bias: { 1: -100 },
    });
    let moved = null;
    for (let i = 0; i < 100 && !moved; i++) { // once the engine has published its queue
      await sleep(20);
      const r = await post(s2, '/v1/completions', { model: 'busy', prompt: 'x', max_tokens: 1 });
      if (r.body.model === 'spare@1') moved = r;
    }
    assert.ok(moved, 'a request for busy moved to spare while busy was loaded with work');
    assert.equal((await blocker).status, 200);
    const counts = (await stats(s2)).routing.counts;
    assert.ok(counts.some((c) => c.kind === 'fallback' && c.chosen >= 1), JSON.stringify(counts));
    assert.ok(counts.some((c) => c.kind === 'rule' && c.chosen >= 1), JSON.stringify(counts));
  } finally {
    await s2.stop();
  }
});
