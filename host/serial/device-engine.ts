// Runs the device runtime bundle and the agent bundle inside a real engine and wires the agent's emulator
// adapter (device/agent/emulator.ts) to a host object: UART out, clock, storage, free RAM. Only strings cross
// the boundary, the way a firmware binding would pass them; byte 0 travels as U+0100 (see nulSafe).

import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import type { EmulatorHost } from '../../device/agent/emulator-host';

export const EMULATED_ENGINES = ['node', 'quickjs', 'duktape'] as const;
export type EmulatedEngine = (typeof EMULATED_ENGINES)[number];

/**
 * What the board offers the agent: the agent's own EmulatorHost (device/agent/emulator-host.ts) less freeRam, which
 * the engine measures. The Duktape board has no sha256 and hashes in the agent.
 */
export type BoardHost = Omit<EmulatorHost, 'freeRam'>;

export interface DeviceEngine {
  /** UART bytes in, as a binary string. */
  feed(bytes: string): void;
  tick(): void;
  dispose(): void;
}

/** This checkout's root, whether this file runs compiled (dist/host/serial) or through tsx. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
const DIST_DEVICE = path.join(repoRoot(), 'dist', 'device');
export const RUNTIME_BUNDLE = path.join(DIST_DEVICE, 'morsel.es5.js');
export const AGENT_BUNDLE = path.join(DIST_DEVICE, 'morsel-agent.es5.js');

export function deviceScript(runtimeBundle = RUNTIME_BUNDLE, agentBundle = AGENT_BUNDLE): string {
  for (const f of [runtimeBundle, agentBundle]) {
    if (!fs.existsSync(f))
      throw new Error(`${f} is missing: run npm run build:device and node dist/tools/build-agent.js`);
  }
  return `${fs.readFileSync(runtimeBundle, 'utf8')}\n${fs.readFileSync(agentBundle, 'utf8')}\nvar __agent = MorselAgent.emulator(MorselHost);\n`;
}

export interface EngineStartOptions {
  /** Heap limit of the engine (QuickJS and Duktape enforce it; node's vm shares the host heap). */
  ramBytes: number;
  script?: string;
  /** Flash directory: Duktape's board process does its own storage there (the others call BoardHost). */
  storageDir?: string;
  /** Errors the board reports on its own (Duktape's process writes them to stderr). */
  onFault?: (message: string) => void;
}

/** Binary string with NUL replaced by U+0100: C-string bindings would cut it short; Uint8Array stores wrap it back to 0. */
const nulSafe = (s: string | null) => (s === null ? null : s.replace(/\0/g, '\u0100'));

export async function startDeviceEngine(
  engine: EmulatedEngine,
  host: BoardHost,
  opts: EngineStartOptions,
): Promise<DeviceEngine> {
  const script = opts.script ?? deviceScript();
  const safe: BoardHost = { ...host, read: (n) => nulSafe(host.read(n)) };
  if (engine === 'duktape') return startDuktape(host, script, opts);
  const e =
    engine === 'node' ? startNode(safe, script, opts.ramBytes) : await startQuickJs(safe, script, opts.ramBytes);
  return { ...e, feed: (s) => e.feed(nulSafe(s)!) };
}

function startNode(host: BoardHost, script: string, ramBytes: number): DeviceEngine {
  // node's vm shares the host heap, so the figure is what V8 could still give it, capped at the board's RAM.
  const board = { ...host, freeRam: () => Math.min(ramBytes, v8.getHeapStatistics().total_available_size) };
  const ctx = vm.createContext({ MorselHost: board });
  vm.runInContext(script, ctx, { filename: 'device.js' });
  const agent = ctx.__agent as { feed(s: string): void; tick(): void };
  return { feed: (s) => agent.feed(s), tick: () => agent.tick(), dispose: () => undefined };
}

async function startQuickJs(host: BoardHost, script: string, ramBytes: number): Promise<DeviceEngine> {
  const { getQuickJS } = await import('quickjs-emscripten');
  const qjs = await getQuickJS();
  const rt = qjs.newRuntime();
  rt.setMemoryLimit(ramBytes);
  const ctx = rt.newContext();
  let free = ramBytes;
  const measureFree = () => {
    const h = rt.computeMemoryUsage();
    free = Math.max(0, ramBytes - (ctx.dump(h) as { memory_used_size: number }).memory_used_size);
    h.dispose();
  };
  const obj = ctx.newObject();
  const str = (s: string | null) => (s === null ? ctx.null : ctx.newString(s));
  const fns: Record<string, (...a: any[]) => any> = {
    write: (s) => host.write(ctx.getString(s)),
    now: () => ctx.newNumber(host.now()),
    read: (n) => str(host.read(ctx.getString(n))),
    readBytes: (n) => {
      const b = host.readBytes(ctx.getString(n));
      return b === null ? ctx.null : ctx.newArrayBuffer(b);
    },
    writeAt: (n, b, o, t) => host.writeAt(ctx.getString(n), ctx.getString(b), ctx.getNumber(o), ctx.getNumber(t)),
    writeText: (n, t) => host.writeText(ctx.getString(n), ctx.getString(t)),
    erase: (n) => host.erase(ctx.getString(n)),
    freeRam: () => ctx.newNumber(free),
  };
  if (host.sha256)
    fns.sha256 = (b, o, n) => {
      const bytes = ctx.getArrayBuffer(b);
      try {
        const u = bytes.value;
        return ctx.newString(host.sha256!(u.buffer as ArrayBuffer, u.byteOffset + ctx.getNumber(o), ctx.getNumber(n)));
      } finally {
        bytes.dispose();
      }
    };
  for (const [name, fn] of Object.entries(fns)) {
    const h = ctx.newFunction(name, fn);
    ctx.setProp(obj, name, h);
    h.dispose();
  }
  for (const [k, v] of [
    ['engine', host.engine],
    ['deviceId', host.deviceId],
  ] as const)
    ctx.setProp(obj, k, ctx.newString(v));
  ctx.setProp(obj, 'maxBlobBytes', ctx.newNumber(host.maxBlobBytes));
  ctx.setProp(ctx.global, 'MorselHost', obj);
  obj.dispose();
  measureFree();
  const r = ctx.evalCode(script, 'device.js');
  if (r.error) {
    const err = ctx.dump(r.error);
    r.error.dispose();
    ctx.dispose();
    rt.dispose();
    throw new Error(`QuickJS: device script failed: ${JSON.stringify(err)}`);
  }
  r.value.dispose();
  // QuickJS does not hold its limit while it evaluates a script, so a board too small for the runtime would
  // boot anyway and report 0 bytes free: check what the evaluation took.
  measureFree();
  if (free === 0) {
    const h = rt.computeMemoryUsage();
    const used = (ctx.dump(h) as { memory_used_size: number }).memory_used_size;
    h.dispose();
    ctx.dispose();
    rt.dispose();
    throw new Error(`the runtime and agent take ${used} bytes once loaded`);
  }
  const agent = ctx.getProp(ctx.global, '__agent');
  const feedFn = ctx.getProp(agent, 'feed');
  const tickFn = ctx.getProp(agent, 'tick');
  const call = (fn: typeof feedFn, args: ReturnType<typeof ctx.newString>[]) => {
    const res = ctx.callFunction(fn, agent, ...args);
    args.forEach((a) => a.dispose());
    if (res.error) {
      const err = ctx.dump(res.error);
      res.error.dispose();
      throw new Error(`QuickJS: agent threw: ${JSON.stringify(err)}`);
    }
    res.value.dispose();
  };
  let disposed = false;
  return {
    feed: (s) => call(feedFn, [ctx.newString(s)]),
    tick: () => {
      measureFree();
      call(tickFn, []);
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      for (const h of [feedFn, tickFn, agent]) h.dispose();
      ctx.dispose();
      rt.dispose();
    },
  };
}

/**
 * The Duktape board (host/serial/duktape/board.c), built against Debian's duktape-dev on first use and
 * rebuilt when its source changes. The `duk` command has no I/O, hence this small host.
 */
export function duktapeBoardBinary(): string {
  const src = path.join(repoRoot(), 'host', 'serial', 'duktape', 'board.c');
  const bin = path.join(DIST_DEVICE, 'morsel-duk-board');
  if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= fs.statSync(src).mtimeMs) return bin;
  fs.mkdirSync(DIST_DEVICE, { recursive: true });
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, src, '-lduktape', '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message;
    throw new Error(`cannot build the Duktape board (needs cc and duktape-dev: apt-get install duktape-dev):\n${err}`);
  }
  return bin;
}

/** What board.c prints on stderr once the runtime and agent are evaluated. */
const BOARD_READY = 'morsel-board: ready';

/** One board process: stdin/stdout are its UART, killing it is a power cut. Resolves once it has booted. */
function startDuktape(host: BoardHost, script: string, opts: EngineStartOptions): Promise<DeviceEngine> {
  if (!opts.storageDir) throw new Error('the Duktape board needs a storage directory');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-duk-'));
  const scriptFile = path.join(dir, 'device.js');
  fs.writeFileSync(scriptFile, script);
  const child = spawn(
    duktapeBoardBinary(),
    [scriptFile, opts.storageDir, String(opts.ramBytes), String(host.maxBlobBytes), host.deviceId],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (c: Buffer) => host.write(c.toString('latin1')));
  child.stdin.on('error', () => undefined); // writes racing a reset
  let booted = false;
  let early = '';
  const engine: DeviceEngine = {
    feed: (s) => void child.stdin.write(Buffer.from(s, 'latin1')),
    tick: () => undefined, // the board process ticks itself
    dispose: () => void child.kill('SIGKILL'),
  };
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      const lines = c
        .toString()
        .split('\n')
        .filter((l) => l.trim());
      if (!booted && lines.includes(BOARD_READY)) {
        booted = true;
        resolve(engine);
      }
      for (const l of lines.filter((l) => l !== BOARD_READY)) {
        if (booted) opts.onFault?.(l.trim());
        else early += `${l.trim()} `;
      }
    });
    child.on('exit', (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      if (!booted) reject(new Error(`the Duktape board stopped while booting (exit ${code}): ${early.trim()}`));
    });
  });
}
