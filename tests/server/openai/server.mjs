// Starts and stops `inferneo serve` for the integration tests, plus small HTTP helpers.
//
// Every test file starts its own servers with startServer() and stops them in an after() hook;
// stop() sends SIGTERM and asserts a clean exit (status 0, no signal), so an ASan build's leak
// report (a non-zero exit) fails the test that owns the server.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const here = path.dirname(fileURLToPath(import.meta.url));

export const BIN = process.env.INFERNEO_BIN;
export const SHARED_DIR = path.resolve(process.env.IFN_SHARED_DIR ?? path.join(here, '../../../../shared'));
export const MODEL_DIR = path.join(SHARED_DIR, 'models', 'stories260K');
export const MODEL = path.join(MODEL_DIR, 'stories260K.bin');
export const TOKENIZER = path.join(MODEL_DIR, 'tok512.bin');
export const MODEL_ID = 'stories260K'; // the served name: the model file's base name

if (!BIN) throw new Error('set INFERNEO_BIN to the inferneo binary (run.sh does)');
if (!existsSync(BIN)) throw new Error(`INFERNEO_BIN=${BIN} does not exist`);
if (!existsSync(MODEL)) throw new Error(`model fixture ${MODEL} missing (IFN_SHARED_DIR=${SHARED_DIR})`);

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

const live = new Set(); // servers not yet stopped: killed if the test process exits early

function killAll() {
  for (const s of live) {
    try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a server. `args` are extra `inferneo serve` options (e.g. ['--kv-type', 'f32']).
 * Resolves once /health answers 200. One compute thread by default: the model is tiny, and more
 * threads only spin against each other on a loaded machine.
 */
export async function startServer(args = [], { threads = 1, withModel = true } = {}) {
  const model = withModel ? ['-m', MODEL, '-z', TOKENIZER] : []; // without: --model-repo in args
  const argv = ['serve', ...model, '--port', '0', '-t', String(threads), ...args];
  const proc = spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let stderr = '';
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no listening line within ${STARTUP_TIMEOUT_MS} ms:\n${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    proc.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      const m = /\[info\] serve: listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`inferneo serve exited early (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const server = {
    proc,
    port,
    url,
    baseURL: `${url}/v1`,
    argv,
    exited,
    get stderr() { return stderr; },
    get stdout() { return stdout; },
    /** An official SDK client, pointed at this server unchanged. */
    client(options = {}) {
      return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', ...options });
    },
    signalled: null,
    /** Sends a signal (SIGTERM: graceful stop) without waiting; stop() then waits for the exit. */
    kill(sig = 'SIGTERM') {
      if (!server.signalled) server.signalled = sig;
      proc.kill(sig);
    },
    /** SIGTERM (unless a stop signal was already sent), then asserts a clean exit: status 0. */
    async stop({ signal = 'SIGTERM' } = {}) {
      if (!live.has(server)) return exited;
      if (!server.signalled) server.kill(signal);
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      live.delete(server);
      if (!result) {
        proc.kill('SIGKILL');
        await exited;
        assert.fail(`inferneo serve did not exit within ${STOP_TIMEOUT_MS} ms of ${server.signalled}:\n${stderr.slice(-4000)}`);
      }
      assert.deepEqual(result, { code: 0, signal: null },
        `inferneo serve must exit 0 after ${server.signalled}; stderr tail:\n${stderr.slice(-8000)}`);
      assert.doesNotMatch(stderr, /AddressSanitizer|LeakSanitizer|runtime error:/,
        `sanitizer report in the server log:\n${stderr.slice(-8000)}`);
      return result;
    },
  };
  live.add(server);
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      const body = await r.text();
      if (r.status === 200) {
        assert.deepEqual(JSON.parse(body), { status: 'ok' });
        break;
      }
    } catch { /* not accepting yet */ }
    if (Date.now() > deadline) {
      await server.stop().catch(() => {});
      throw new Error(`/health never answered 200:\n${stderr}`);
    }
    await sleep(20);
  }
  return server;
}

/** POST a JSON body (an object, or a string sent as is); resolves {status, headers, body, text}. */
export async function post(server, urlPath, body, { headers = {}, signal } = {}) {
  const r = await fetch(server.url + urlPath, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
  return readResponse(r);
}

export async function get(server, urlPath, init = {}) {
  const r = await fetch(server.url + urlPath, init);
  return readResponse(r);
}

async function readResponse(r) {
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: r.status, headers: r.headers, body, text };
}

/** Asserts an OpenAI error object: {"error":{"message","type","param","code"}}. */
export function assertError(res, status, { param, code, type } = {}) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text}`);
  assert.ok(res.body && typeof res.body === 'object', `error body must be JSON: ${res.text}`);
  const e = res.body.error;
  assert.ok(e && typeof e === 'object', `missing "error" object: ${res.text}`);
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  if (param !== undefined) assert.equal(e.param, param, `param: ${res.text}`);
  if (code !== undefined) assert.equal(e.code, code, `code: ${res.text}`);
  if (type !== undefined) assert.equal(e.type, type, `type: ${res.text}`);
  return e;
}

/**
 * Parses a server-sent-event body strictly: every event must be exactly `data: <payload>\n\n`.
 * Returns {events: parsed JSON payloads, done: whether `data: [DONE]` ended it, raw}.
 */
export function parseSSE(raw) {
  assert.ok(raw.endsWith('\n\n'), `SSE body must end with a blank line: ${JSON.stringify(raw.slice(-80))}`);
  const blocks = raw.slice(0, -2).split('\n\n');
  const events = [];
  let done = false;
  for (const block of blocks) {
    assert.ok(!done, 'nothing may follow data: [DONE]');
    assert.match(block, /^data: [^\n]*$/, `malformed SSE event: ${JSON.stringify(block)}`);
    const payload = block.slice(6);
    if (payload === '[DONE]') { done = true; continue; }
    events.push(JSON.parse(payload));
  }
  return { events, done, raw };
}

/** POST with stream: true through fetch and parse the SSE bytes. */
export async function postSSE(server, urlPath, body) {
  const r = await fetch(server.url + urlPath, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const raw = await r.text();
  assert.equal(r.status, 200, raw);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  return { ...parseSSE(raw), headers: r.headers };
}

export async function stats(server) {
  const r = await get(server, '/stats');
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Polls /stats until the server is idle (no request, no running sequence, no KV block used). */
export async function waitIdle(server, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let s;
  for (;;) {
    s = await stats(server);
    if (s.active_requests === 0 && s.running === 0 && s.waiting === 0 && s.kv_blocks.used === 0) return s;
    if (Date.now() > deadline) assert.fail(`server not idle after ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await sleep(25);
  }
}

/** Reads a reference greedy output (run.c's stdout: the prompt, the sampled text, then "\n"). */
export async function reference(name) {
  const { readFile } = await import('node:fs/promises');
  return readFile(path.join(MODEL_DIR, name), 'utf8');
}

/** Text that looks like TinyStories English: mostly ASCII letters, spaces and punctuation. */
export function assertStoryText(text, minWords = 1) {
  assert.equal(typeof text, 'string');
  const words = text.match(/[A-Za-z]+/g) ?? [];
  assert.ok(words.length >= minWords, `expected at least ${minWords} words in ${JSON.stringify(text)}`);
  const letters = (text.match(/[A-Za-z .,!?'"\n-]/g) ?? []).length;
  assert.ok(letters >= 0.8 * text.length, `not story-like text: ${JSON.stringify(text)}`);
}

/** created: an integer unix time within a minute of now. */
export function assertRecent(created) {
  assert.ok(Number.isInteger(created), `created must be an integer: ${created}`);
  assert.ok(Math.abs(created - Date.now() / 1000) < 120, `created ${created} is not a recent unix time`);
}

export function assertUsage(usage, { prompt, completion } = {}) {
  assert.ok(usage && typeof usage === 'object', 'usage missing');
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'])
    assert.ok(Number.isInteger(usage[k]) && usage[k] >= 0, `usage.${k}: ${JSON.stringify(usage)}`);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  if (prompt !== undefined) assert.equal(usage.prompt_tokens, prompt, JSON.stringify(usage));
  if (completion !== undefined) assert.equal(usage.completion_tokens, completion, JSON.stringify(usage));
}
