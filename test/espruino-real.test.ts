// The real Espruino (a Linux build with the ESP32 board's variable pool, MORSEL_ESPRUINO) behind a socat pty,
// driven only through the real CLI as a user would: `flash --target espruino` installs the runtime and agent
// through the REPL and flashes the zoo CNN, `run --port` is bit-exact with the host reference, a second model
// swaps in, `workload` + `monitor` show inferences, and `uninstall` gives the REPL back (`6*7` answers 42).
// Without MORSEL_ESPRUINO the test is pending ("not configured"). It takes 3–4 minutes on a loaded 2-core machine and prints each step's
// figures. The build needs the Linux IO-queue lock (docs/boards.md): without it the REPL upload dies at ~18 KB.

import { strict as assert } from 'assert';
import { type ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SerialLink } from '../host/serial/link';
import { configuredPath } from './helpers/configured';
import { ROOT } from './serial-fixtures';

const CLI = path.join(ROOT, 'bin', 'morsel.js');
const CNN = path.join(ROOT, 'models', 'fashion_cnn', 'model.msl');
const SECOND = path.join(ROOT, 'models', 'fashion_mlp_compressed', 'model.msl');

/** Processes this test started and has not seen exit yet: the finally block ends them. */
const running = new Set<ChildProcess>();

function start(command: string, args: string[], cwd?: string): { child: ChildProcess; out: () => string } {
  const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('latin1');
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString('latin1');
  });
  return { child, out: () => out };
}

/**
 * Every wait below is a hang guard, never a speed check (speed is printed, not asserted): a loaded machine slows
 * Espruino several times over, so each guard is HANG_GUARD times what an idle run needs.
 */
const HANG_GUARD = 10;

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs * HANG_GUARD; !ok(); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

/** Runs the CLI to its end: its exit code, output and seconds taken. */
async function cli(timeoutMs: number, args: string[]): Promise<{ code: number | null; out: string; seconds: number }> {
  const t0 = Date.now();
  const { child, out } = start(process.execPath, [CLI, ...args]);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs * HANG_GUARD);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, out: out(), seconds: (Date.now() - t0) / 1000 };
}

/** Runs the CLI, failing on a non-zero exit. */
async function morsel(timeoutMs: number, ...args: string[]): Promise<{ out: string; seconds: number }> {
  const r = await cli(timeoutMs, args);
  assert.equal(r.code, 0, `morsel ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  return r;
}

const outputOf = (json: string) => (JSON.parse(json) as { output: number[] }).output;

/** What the REPL on `port` answers to one line (the console's echo included). */
async function replAnswer(port: string, line: string): Promise<string> {
  const link = await SerialLink.open(port, { baudRate: 115200, bytesPerSecond: 11520 });
  let text = '';
  link.onData((c) => {
    text += c.toString('latin1');
  });
  try {
    await link.write(Buffer.from(`${line}\n`));
    await until(`the REPL's answer to ${line}`, () => /=.*\r?\n>/.test(text), 5000);
    return text;
  } finally {
    await link.close();
  }
}

describe('real Espruino over a pty (MORSEL_ESPRUINO)', function () {
  this.timeout(400000 * HANG_GUARD);

  it('install, flash the zoo CNN, run bit-exact, swap a second model, workload + monitor, uninstall gives the REPL back', async function () {
    const espruino = configuredPath(this, 'MORSEL_ESPRUINO', '/path/to/espruino built with the ESP32 pool');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-espruino-'));
    const board = path.join(dir, 'board');
    const uart = path.join(dir, 'uart');
    const figures: string[] = [];
    try {
      start('socat', [`PTY,link=${board},raw,echo=0`, `PTY,link=${uart},raw,echo=0`]);
      await until('the pty pair', () => fs.existsSync(board) && fs.existsSync(uart), 5000);
      // Its flash is espruino.flash in its working directory: a fresh board. The REPL moves to the pty at once
      // (the Linux build exits on a 0x04 byte on stdin, which binary frames contain); the interval keeps it alive.
      const engine = start(espruino, [], dir);
      engine.child.stdin!.write(
        `Serial1.setup(115200,{path:${JSON.stringify(uart)}});Serial1.setConsole(true);setInterval(function(){},1000);\n`,
      );
      await until('Espruino to move its console to the pty', () => engine.out().includes('-> Serial1'), 10000);
      const alive = () => assert.ok(running.has(engine.child), `Espruino exited:\n${engine.out()}`);

      const install = await morsel(240000, 'flash', '--target', 'espruino', '--insecure', '--port', board, CNN);
      const flashed = /flashed (\d+) bytes .* in ([\d.]+) s; verified on the board in (\d+) ms.*efficiency ([\d.]+)/;
      const cnn = flashed.exec(install.out);
      assert.ok(cnn, install.out);
      figures.push(
        `install + zoo CNN: ${install.seconds.toFixed(1)} s in all; CNN ${cnn[1]} B in ${cnn[2]} s, verified in ${cnn[3]} ms, efficiency ${cnn[4]}`,
      );
      alive();

      const host = outputOf((await morsel(60000, 'run', CNN, '--input', 'idx:3', '--engine', 'host', '--json')).out);
      const onBoard = await morsel(120000, 'run', CNN, '--port', board, '--input', 'idx:3', '--json');
      assert.deepEqual(outputOf(onBoard.out), host, 'the board answers the host reference byte for byte');
      figures.push(`run --port idx:3 (CNN): ${onBoard.seconds.toFixed(1)} s, [${host}]`);

      const swap = await morsel(240000, 'flash', '--insecure', '--port', board, SECOND);
      const second = flashed.exec(swap.out);
      assert.ok(second, swap.out);
      figures.push(
        `second model (compressed MLP): ${second[1]} B in ${second[2]} s, verified in ${second[3]} ms, efficiency ${second[4]}`,
      );
      const host2 = outputOf(
        (await morsel(60000, 'run', SECOND, '--input', 'idx:3', '--engine', 'host', '--json')).out,
      );
      const onBoard2 = await morsel(120000, 'run', SECOND, '--port', board, '--input', 'idx:3', '--json');
      assert.deepEqual(outputOf(onBoard2.out), host2, 'the swapped-in model answers the host reference');
      figures.push(`run --port idx:3 (compressed MLP): ${onBoard2.seconds.toFixed(1)} s, [${host2}]`);

      // A small rate: the agent reads its UART only between inferences (seconds each on a loaded host), and a
      // request that waits behind one times out on the host.
      await morsel(60000, 'workload', SECOND, '--port', board, '--insecure', '--inputs', 'idx:3', '--rate', '12/min');
      const log = path.join(dir, 'telemetry.ndjson');
      await morsel(60000, 'monitor', '--port', board, '--duration', '12', '--ndjson', log);
      const records = fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { n: number; ips: number; p50_us: number; p95_us: number; free: number });
      const last = records[records.length - 1];
      assert.ok(
        last.n > 0 && last.p50_us > 0 && last.p95_us >= last.p50_us,
        `telemetry with inferences: ${JSON.stringify(last)}`,
      );
      figures.push(
        `workload 12/min + monitor 12 s: ${records.length} records, ${last.ips.toFixed(2)} inf/s, p50 ${(last.p50_us / 1000).toFixed(0)} ms, p95 ${(last.p95_us / 1000).toFixed(0)} ms, free ${(last.free / 1024).toFixed(1)} KiB, ${last.n} inferences`,
      );
      alive();

      // The same race stops the workload: the stop is asked again until the board answers between inferences.
      let stops = 1;
      for (const stop = ['workload', '--port', board, '--insecure', '--stop']; ; stops++) {
        const r = await cli(60000, stop);
        if (r.code === 0) break;
        assert.ok(stops < 10 && /no answer to WORKLOAD/.test(r.out), `workload --stop exited ${r.code}:\n${r.out}`);
      }
      figures.push(`workload --stop answered at attempt ${stops}`);
      const uninstall = await morsel(60000, 'uninstall', '--target', 'espruino', '--insecure', '--port', board);
      assert.match(uninstall.out, /uninstalled: .* the REPL answers/);
      figures.push(`uninstall: ${uninstall.seconds.toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, 1000)); // the erase runs after the answer
      alive();
      assert.match(await replAnswer(board, '6*7'), /=42\r?\n>/);
      assert.match(await replAnswer(board, 'require("Storage").list().join()'), /^(?![\s\S]*morsel)[\s\S]*=/);
      alive();
    } finally {
      for (const child of running) child.kill('SIGKILL');
      await until('the started processes to end', () => running.size === 0, 5000);
      fs.rmSync(dir, { recursive: true, force: true });
      for (const f of figures) console.log(`      ${f}`);
    }
  });
});
