// The device runtime (dist/device/morsel.es5.js) in real engines, byte for byte against the host int8 reference.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { crc32 } from '../host/blob/crc32';
import { encodeModel } from '../host/blob/encode';
import { morselSchema } from '../host/blob/fbs';
import { rootFieldPosition } from '../host/blob/flatbuffer';
import { loadSamples } from '../host/data/dataset';
import { Engine, ENGINES, fuzzOnEngine, runOnEngine } from '../host/engines';
import { runInt8 } from '../host/interp/int8/interpreter';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { randomQModel } from './helpers/random-qmodel';
import { tinyFcModel } from './helpers/tiny-models';
import { planMemory } from '../host/plan/planner';

const ROOT = path.join(__dirname, '..', '..');
// An ESP32-WROVER-like JS heap budget for the whole context: bundle, blob, arena, inputs and driver.
const QUICKJS_LIMIT = 1536 * 1024;
const hex = (a: Int8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');

/** Re-seals a mutated blob with a correct CRC so validation beyond the checksum gets exercised. */
function reseal(bytes: Uint8Array): Uint8Array {
  let at: number;
  try { at = rootFieldPosition(morselSchema(), bytes, 'crc32'); } catch { return bytes; }
  if (at < 0 || at + 4 > bytes.length) return bytes;
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  dv.setUint32(at, 0, true);
  dv.setUint32(at, crc32(bytes), true);
  return bytes;
}

function mutants(base: Uint8Array, n: number, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    let b = base.slice();
    const kind = i % 5;
    if (kind === 0) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
    else if (kind === 1) b = b.slice(0, rng.int(0, b.length - 1));
    else if (kind === 2) for (let k = rng.int(1, 8); k > 0; k--) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
    else if (kind === 3) { const p = rng.int(0, b.length - 4) & ~3; new DataView(b.buffer).setInt32(p, rng.pick([0, -1, 0x7fffffff, b.length, rng.int(-1000, 100000)]), true); }
    else b[rng.int(8, b.length - 1)] = rng.int(0, 255);
    out.push(i % 2 === 0 ? reseal(b) : b);
  }
  return out;
}

describe('device runtime on real engines (bit-exact with the host int8 reference)', function () {
  this.timeout(600000);

  it('the ES5 bundle is built and within 24 KB', () => {
    const size = fs.statSync(path.join(ROOT, 'dist', 'device', 'morsel.es5.js')).size;
    assert.ok(size <= 24 * 1024, `${size} bytes`);
    assert.ok(fs.statSync(path.join(ROOT, 'dist', 'device', 'morsel.espruino.js')).size > 1000);
  });

  for (const name of ['fashion_mlp', 'fashion_cnn']) {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
    const model = decodeModel(blob);
    const inputs = loadSamples('fashion-mnist', { split: 'test', limit: 100, size: 784 }).inputs.map((x) => quantizeInput(model, x));
    const expected = inputs.map((x) => hex(runInt8(model, [x])[0]));
    for (const engine of ENGINES) {
      it(`${name}: 100 test images on ${engine}`, async () => {
        const r = await runOnEngine(engine, blob, inputs, engine === 'quickjs' ? { memoryLimitBytes: QUICKJS_LIMIT } : {});
        assert.deepEqual(r.outputs.map(hex), expected);
        assert.equal(r.layerMs.length, model.ops.length);
      });
    }
  }

  it('200 random graphs: every engine equals the host reference on each', async () => {
    const rng = new Rng(2024);
    const cases = Array.from({ length: 200 }, () => randomQModel(rng));
    const opcodes = new Set(cases.flatMap((c) => c.model.ops.map((o) => o.opcode)));
    assert.ok(opcodes.size >= 9, `opcodes covered: ${[...opcodes]}`);
    for (const engine of ENGINES) {
      for (const [i, { model, inputs }] of cases.entries()) {
        const r = await runOnEngine(engine, encodeModel(model), inputs);
        assert.deepEqual(r.outputs.map(hex), inputs.map((x) => hex(runInt8(model, [x])[0])), `${engine}, graph ${i} (${model.ops.map((o) => o.opcode)})`);
      }
    }
  });

  for (const engine of ENGINES) {
    it(`fuzz: 10,000 mutated blobs on ${engine} are rejected with MRSL_E_* or run`, async () => {
      const m = tinyFcModel();
      planMemory(m);
      const blobs = mutants(encodeModel(m), 10000, new Rng(engine.length * 7919));
      const started = Date.now();
      const outcomes = await fuzzOnEngine(engine, blobs);
      assert.equal(outcomes.length, blobs.length);
      const bad = outcomes.filter((o) => o !== 'ok' && !o.startsWith('MRSL_E_'));
      assert.deepEqual(bad.slice(0, 5), [], `${bad.length} unclear failures`);
      assert.ok(outcomes.filter((o) => o !== 'ok' && !o.startsWith('MRSL_E_CRC')).length > 500, 'structural validation exercised');
      assert.ok((Date.now() - started) / blobs.length < 1000);
    });
  }
});

export type { Engine };
