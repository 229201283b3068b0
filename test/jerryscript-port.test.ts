// The JerryScript port (device/ports/jerryscript) built for Linux against the JerryScript 3.0 checkout in
// MORSEL_JERRYSCRIPT_SRC with the ESP32 configuration (128 KB heap), then run: the runtime loads blobs through
// the port's morsel_storage_read (an external ArrayBuffer over the mapped file, outside the heap) and runs them
// bit-exactly; the agent speaks the binary protocol on the runner's stdin/stdout; the runtime boots from a
// `jerry-snapshot generate` snapshot when MORSEL_JERRY_SNAPSHOT names the tool. MORSEL_JERRY_PORT may name a runner
// already built from these sources (the build is skipped). Without either the tests are reported pending
// ("not configured").

import { strict as assert } from 'assert';
import { type ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { compileTflite } from '../host/import/tflite/compile';
import { runInt8 } from '../host/interp/int8/interpreter';
import { measureJerry } from '../host/memory/measure';
import { DeviceClient } from '../host/serial/client';
import { AGENT_BUNDLE, RUNTIME_BUNDLE } from '../host/serial/device-engine';
import type { Link } from '../host/serial/link';
import { ensureAgentBundle } from './serial-fixtures';
import { configuredPath } from './helpers/configured';
import { mlperfFile, randomInt8Inputs } from './helpers/tflite-mlperf';

const ROOT = path.join(__dirname, '..', '..');
const PORT_SOURCES = path.join(ROOT, 'device', 'ports', 'jerryscript');
const HEAP_BYTES = 128 * 1024;
const hex = (a: ArrayLike<number>) => Buffer.from(Int8Array.from(a).buffer).toString('hex');

function subjects() {
  const cnn = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', 'fashion_cnn', 'model.msl')));
  const kws = compileTflite(mlperfFile('kws_ref_model.tflite')).blob;
  return [
    { name: 'zoo CNN', blob: cnn },
    { name: 'KWS', blob: kws },
  ].map((s) => {
    const model = decodeModel(s.blob);
    const inputs = randomInt8Inputs(model, 2, 5);
    return { ...s, model, inputs, expected: inputs.map((x) => hex(runInt8(model, [x])[0])) };
  });
}

/** A Link over a child process's stdin/stdout (the runner's UART); writes fail once the runner has exited. */
function stdioLink(child: ChildProcess): Link {
  let exited = '';
  child.once('exit', (code, signal) => (exited = `the runner exited (${signal ?? code})`));
  child.stdin!.on('error', () => undefined); // EPIPE after an exit: reported by the next write instead
  const link = {
    bytesOut: 0,
    bytesIn: 0,
    write: async (data: Buffer) => {
      if (exited) throw new Error(exited);
      link.bytesOut += data.length;
      await new Promise<void>((resolve, reject) => child.stdin!.write(data, (e) => (e ? reject(e) : resolve())));
    },
    onData: (listener: (chunk: Buffer) => void) =>
      void child.stdout!.on('data', (c: Buffer) => {
        link.bytesIn += c.length;
        listener(c);
      }),
    close: async () => void child.stdin!.end(),
  };
  return link;
}

describe('JerryScript port on Linux (JerryScript 3.0, 128 KB heap)', function () {
  this.timeout(1800000);
  let buildDir = '';
  let runner = '';

  before(function () {
    ensureAgentBundle();
    if (process.env.MORSEL_JERRY_PORT) {
      runner = process.env.MORSEL_JERRY_PORT;
      buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-jerry-port-'));
      return;
    }
    const source = configuredPath(this, 'MORSEL_JERRYSCRIPT_SRC', '/path/to/jerryscript, a 3.0 checkout');
    buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-jerry-port-'));
    execFileSync(
      'cmake',
      ['-S', PORT_SOURCES, '-B', buildDir, `-DMORSEL_JERRYSCRIPT_SRC=${source}`, '-DCMAKE_BUILD_TYPE=MinSizeRel'],
      { stdio: 'ignore' },
    );
    execFileSync('make', ['-C', buildDir, '-j2', 'morsel-jerry'], { stdio: 'ignore' });
    runner = path.join(buildDir, 'morsel-jerry');
  });
  after(() => {
    if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
  });

  it('runs the zoo CNN and KWS bit-exactly, the blob outside the heap', () => {
    for (const s of subjects()) {
      for (let i = 0; i < s.inputs.length; i++) {
        const run = measureJerry(runner, s.blob, s.inputs[i]);
        assert.equal(hex(run.output), s.expected[i], `${s.name} input ${i}`);
        assert.ok(run.after < HEAP_BYTES, `${s.name}: ${run.after} heap bytes`);
      }
    }
  });

  it('reads the blob in place: AD01 (a 268 KB blob) runs bit-exactly in the 128 KB heap', () => {
    const blob = compileTflite(mlperfFile('ad01_int8.tflite')).blob;
    assert.ok(blob.length > HEAP_BYTES);
    const model = decodeModel(blob);
    const [input] = randomInt8Inputs(model, 1, 5);
    const run = measureJerry(runner, blob, input);
    assert.equal(hex(run.output), hex(runInt8(model, [input])[0]));
    assert.ok(run.after < HEAP_BYTES);
  });

  it('the agent on the runner UART: HELLO, flash the zoo CNN, RUN bit-exact', async () => {
    const [cnn] = subjects();
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-jerry-store-'));
    const child = spawn(runner, ['--agent', RUNTIME_BUNDLE, AGENT_BUNDLE, storage], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const client = new DeviceClient(stdioLink(child), { latencyMs: 2000 });
    try {
      const info = await client.helloWithRetry();
      assert.equal(info.engine, 'jerryscript');
      assert.equal(info.id, 'linux-jerryscript');
      assert.ok(info.free > 0 && info.free < HEAP_BYTES, `free ${info.free}`);
      const report = await client.flash(cnn.blob);
      assert.equal(report.bytes, cnn.blob.length);
      for (let i = 0; i < cnn.inputs.length; i++)
        assert.equal(hex((await client.run(cnn.inputs[i])).y), cnn.expected[i]);
    } finally {
      child.kill();
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(storage, { recursive: true, force: true });
    }
  });

  it('boots the runtime from a jerry-snapshot snapshot: same outputs, less heap', function () {
    const tool = configuredPath(this, 'MORSEL_JERRY_SNAPSHOT', '/path/to/jerry-snapshot');
    const snapshot = path.join(buildDir, 'morsel.es5.snapshot');
    execFileSync(tool, ['generate', '-o', snapshot, RUNTIME_BUNDLE], { stdio: 'ignore' });
    const [cnn] = subjects();
    const fromSource = measureJerry(runner, cnn.blob, cnn.inputs[0]);
    const fromSnapshot = measureJerry(runner, cnn.blob, cnn.inputs[0], snapshot);
    assert.equal(hex(fromSnapshot.output), cnn.expected[0]);
    assert.ok(
      fromSnapshot.base < fromSource.base,
      `runtime heap ${fromSnapshot.base} vs ${fromSource.base} from source`,
    );
  });
});
