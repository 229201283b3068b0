// The Espruino bootstrap: the REPL upload against a fake Espruino REPL whose replies are those of a real one
// (test/fixtures/espruino-repl/install-transcript.txt: what Espruino 2v29's Linux build with the ESP32 pool
// answered to this upload over a pty, console on its stdin, `--serial USB`),
// then the uploaded module booted in node's vm with stand-ins for Espruino's globals, answering HELLO over
// the binary protocol through the Espruino adapter.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';
import { main } from '../host/cli/main';
import { formatKey, generateKey } from '../host/serial/auth';
import { AuthMismatchError, DeviceClient, type DeviceError } from '../host/serial/client';
import { KEY_FILE } from '../host/serial/emulator';
import { espruinoInstallFiles, ReplError, uploadViaRepl } from '../host/serial/espruino-install';
import type { Link } from '../host/serial/link';
import { ensureAgentBundle } from './serial-fixtures';

const ROOT = path.join(__dirname, '..', '..');

const WRITE =
  /^print\(require\("Storage"\)\.write\(("[^"]+"),atob\("([A-Za-z0-9+/=]*)"\),(\d+),(\d+)\)\?"MRSL_W (\d+)":"MRSL_F \d+"\)$/;

/** Answers like Espruino's REPL for the lines the uploader sends; keeps Storage in a Map. */
class FakeEspruino implements Link {
  bytesOut = 0;
  bytesIn = 0;
  storage = new Map<string, Buffer>();
  loaded = false;
  echoOffLines = 0;
  private line = '';
  private listeners: ((c: Buffer) => void)[] = [];
  /** failAt: the offset whose write fails; piecewise: replies arrive one byte per event, as a UART delivers them. */
  constructor(
    private readonly failAt = -1,
    private readonly piecewise = false,
  ) {}

  async write(data: Buffer): Promise<void> {
    this.bytesOut += data.length;
    for (const ch of data.toString('latin1')) {
      if (ch !== '\n') {
        this.line += ch;
        continue;
      }
      let l = this.line;
      this.line = '';
      if (l.startsWith('\x10')) {
        this.echoOffLines++;
        l = l.slice(1);
      }
      this.answer(l);
    }
  }

  private answer(l: string): void {
    if (l === '') return this.say('\r\n>');
    if (l === 'load()') {
      this.loaded = true;
      // The reboot runs .boot0, whose E.setConsole prints where the REPL went.
      const boot = /start\(\w+,"(\w+)"\)/.exec(this.storage.get('.boot0')?.toString() ?? '');
      if (boot) this.say(`\r\x1b[J-> ${boot[1]}\r\n`);
      return;
    }
    const m = WRITE.exec(l);
    if (!m) return this.say(`Uncaught SyntaxError\r\n>`);
    const [name, data, offset, total] = [
      JSON.parse(m[1]) as string,
      Buffer.from(m[2], 'base64'),
      Number(m[3]),
      Number(m[4]),
    ];
    if (offset === this.failAt) return this.say(`MRSL_F ${offset}\r\n>`);
    const f = offset === 0 ? Buffer.alloc(total, 0xff) : this.storage.get(name)!;
    data.copy(f, offset);
    this.storage.set(name, f);
    this.say(`MRSL_W ${m[5]}\r\n>`);
  }

  /** Everything the board said, as a UART would have delivered it. */
  said = '';

  private say(s: string): void {
    const b = Buffer.from(s, 'latin1');
    this.bytesIn += b.length;
    this.said += s;
    const pieces = this.piecewise ? Array.from(b, (byte) => Buffer.from([byte])) : [b];
    const deliver = (k: number) => {
      if (k === pieces.length) return;
      this.listeners.forEach((l) => l(pieces[k]));
      setImmediate(() => deliver(k + 1));
    };
    setImmediate(() => deliver(0));
  }

  onData(l: (c: Buffer) => void): void {
    this.listeners.push(l);
  }
  async close(): Promise<void> {}
}

describe('Espruino bootstrap over the REPL', function () {
  this.timeout(60000);
  before(ensureAgentBundle);

  it('writes runtime + agent as a Storage module in 384-byte chunks with echo off, then load()s', async () => {
    const files = espruinoInstallFiles('Serial1', 'LoopbackA');
    const board = new FakeEspruino();
    let progress = 0;
    await uploadViaRepl(board, files, { onProgress: (s) => (progress = s) });
    const total = files.reduce((n, f) => n + f.content.length, 0);
    assert.equal(progress, total);
    for (const f of files) assert.ok(board.storage.get(f.name)!.equals(f.content), f.name);
    assert.equal(board.echoOffLines, files.reduce((n, f) => n + Math.ceil(f.content.length / 384), 0) + 1);
    assert.ok(board.loaded);
    assert.equal(board.storage.get('.boot0')!.toString(), 'require("morsel").start(Serial1,"LoopbackA");');
  });

  it('answers as the real REPL did (recorded transcript, offsets aside)', async () => {
    const files = espruinoInstallFiles('USB', 'LoopbackA');
    const board = new FakeEspruino();
    await uploadViaRepl(board, files);
    await new Promise((r) => setTimeout(r, 20));
    // Offsets and the number of chunks follow the bundle's size: compare the replies' shapes, runs collapsed.
    const shape = (t: string) =>
      t
        .replace(/\d+/g, 'N')
        .split('\n')
        .filter((line, i, all) => i === 0 || line !== all[i - 1])
        .join('\n');
    const recorded = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'espruino-repl', 'install-transcript.txt'));
    assert.equal(shape(board.said), shape(recorded.toString('latin1')));
  });

  it('a failed Storage write stops the upload with one clear error', async () => {
    await assert.rejects(
      uploadViaRepl(new FakeEspruino(768), espruinoInstallFiles()),
      (e: ReplError) => e instanceof ReplError && /at 768 failed/.test(e.message),
    );
  });

  it('reads each reply whole when it arrives byte by byte (MRSL_W 16512 is not MRSL_W 1)', async () => {
    const files = espruinoInstallFiles('Serial1', 'LoopbackA');
    assert.ok(files[0].content.length > 16512 + 384, 'the module spans a five-digit offset');
    const board = new FakeEspruino(-1, true);
    await uploadViaRepl(board, files);
    for (const f of files) assert.ok(board.storage.get(f.name)!.equals(f.content), f.name);
  });

  it('uninstall: a missing --port or --target, or a target other than espruino or nodemcu, is a usage error (exit 2)', async () => {
    const error = console.error;
    const said: string[] = [];
    console.error = (...a: unknown[]) => void said.push(a.join(' '));
    try {
      assert.equal(await main(['uninstall', '--target', 'espruino', '--insecure']), 2);
      assert.equal(await main(['uninstall', '--port', '/dev/null', '--insecure']), 2);
      assert.equal(await main(['uninstall', '--port', '/dev/null', '--target', 'jerryscript', '--insecure']), 2);
    } finally {
      console.error = error;
    }
    assert.match(said.join('\n'), /missing --port/);
    assert.match(said.join('\n'), /missing --target/);
    assert.match(said.join('\n'), /--target must be one of espruino/);
  });

  it('the installed module boots on Espruino-like globals, speaks the binary protocol, and uninstalls (keyed)', async () => {
    const board = new FakeEspruino();
    const key = generateKey();
    await uploadViaRepl(board, [
      ...espruinoInstallFiles('Serial1', 'LoopbackA'),
      { name: KEY_FILE, content: Buffer.from(formatKey(key), 'latin1') },
    ]);
    const flash = board.storage;
    const toHost: ((c: Buffer) => void)[] = [];
    let onSerial: ((s: string) => void) | null = null;
    let consoleMovedTo = '';
    const timers: NodeJS.Timeout[] = [];
    const storage = {
      read: (n: string) => flash.get(n)?.toString('latin1'),
      write: (n: string, d: string | Uint8Array, offset?: number, total?: number) => {
        const data = typeof d === 'string' ? Buffer.from(d, 'latin1') : Buffer.from(d);
        if (offset === undefined) flash.set(n, data);
        else {
          const f = flash.get(n) ?? Buffer.alloc(total!, 0xff);
          data.copy(f, offset);
          flash.set(n, f);
        }
        return true;
      },
      erase: (n: string) => void flash.delete(n),
      getFree: () => 1 << 20,
    };
    const modules: Record<string, { exports: Record<string, unknown> }> = {};
    const ctx = vm.createContext({
      getTime: () => performance.now() / 1000,
      getSerial: () => 'esp32-test',
      setInterval: (f: () => void, ms: number) => timers.push(setInterval(f, ms)),
      clearInterval: (id: number) => clearInterval(timers[id - 1]),
      // Espruino's setTimeout also takes a string of code (the uninstall erases the install from one).
      setTimeout: (code: string, ms: number) => timers.push(setTimeout(() => vm.runInContext(code, ctx), ms)),
      process: { memory: () => ({ free: 1000 }) },
      E: {
        toArrayBuffer: (s: string) => new Uint8Array(Buffer.from(s, 'latin1')).buffer,
        setConsole: (d: string) => (consoleMovedTo = d),
      },
      Serial1: {
        on: (_: string, cb: (s: string) => void) => (onSerial = cb),
        removeAllListeners: () => (onSerial = null),
        write: (s: string) => toHost.forEach((l) => l(Buffer.from(s, 'latin1'))),
        setConsole: () => (consoleMovedTo = 'Serial1'),
      },
    });
    ctx.global = ctx;
    ctx.require = (name: string) => {
      if (name === 'Storage') return storage;
      if (!modules[name]) {
        const mod = { exports: {} as Record<string, unknown> };
        vm.runInContext(`(function (exports) {\n${flash.get(name)!.toString('latin1')}\n})`, ctx)(mod.exports);
        modules[name] = mod;
      }
      return modules[name].exports;
    };
    try {
      vm.runInContext(flash.get('.boot0')!.toString('latin1'), ctx);
      assert.equal(consoleMovedTo, 'LoopbackA');
      const link: Link = {
        bytesOut: 0,
        bytesIn: 0,
        write: async (d) => onSerial?.(d.toString('latin1')),
        onData: (l) => void toHost.push(l),
        close: async () => undefined,
      };
      const client = new DeviceClient(link, { latencyMs: 500 });
      const info = await client.hello();
      assert.equal(info.engine, 'espruino');
      assert.equal(info.id, 'esp32-test');
      assert.equal(info.free, 16000);
      assert.equal(info.model, null);

      // UNINSTALL: refused without the key (nothing changes), done with it.
      await assert.rejects(client.uninstall(null), AuthMismatchError);
      await assert.rejects(client.uninstall(generateKey()), (e: DeviceError) => e.code === 'AUTH');
      assert.ok(flash.has('morsel') && flash.has('.boot0') && flash.has(KEY_FILE) && consoleMovedTo === 'LoopbackA');
      assert.equal(await client.uninstall(key), 6);
      await new Promise((r) => setTimeout(r, 20)); // the install is erased once the agent's code has returned
      assert.deepEqual(
        [...flash.keys()].filter((n) => n.startsWith('morsel') || n === '.boot0'),
        [],
      );
      assert.equal(consoleMovedTo, 'Serial1', 'the port is the REPL console again');
      assert.equal(onSerial, null, 'the agent no longer reads the port');
    } finally {
      timers.forEach(clearInterval);
    }
  });
});
