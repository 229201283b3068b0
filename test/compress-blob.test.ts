// Packed (int4/int2) and sparse (bitmask, run-length, CSR) weights in the blob: host round trip, the
// encoder's size choice, load-time validation, and bit-exact runs on every engine against the host reference.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readCompressionRecord } from '../host/cli/compress-commands';
import { loadSamples } from '../host/data/dataset';
import { quantizeInput } from '../host/quantize/quantize';
import { crc32 } from '../host/blob/crc32';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { morselSchema, vtableOffset } from '../host/blob/fbs';
import { rootFieldPosition } from '../host/blob/flatbuffer';
import {
  decodeWeights,
  encodeWeightsAll,
  packableWeights,
  storedWeightsOf,
  WEIGHT_LAYOUTS,
  type WeightLayout,
} from '../host/blob/weights';
import { ENGINES, fuzzOnEngine, runOnEngine } from '../host/engines';
import { runInt8 } from '../host/interp/int8/interpreter';
import type { QModel, WeightBits } from '../host/ir/qmodel';
import { Rng } from '../host/util/rng';
import { randomQModel } from './helpers/random-qmodel';
import { randomWeights, rowConvModel, wideFcModel } from './helpers/tiny-models';

const ROOT = path.join(__dirname, '..', '..');
const hex = (a: Int8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');
const BITS: WeightBits[] = [8, 4, 2];

/** Gives every packable weight of `model` random bits and sparsity (values rewritten to fit). */
function compressWeights(model: QModel, rng: Rng): void {
  for (const ti of packableWeights(model).keys()) {
    const t = model.tensors[ti];
    t.weightBits = rng.pick(BITS);
    t.data = randomWeights(rng, t.data!.length, t.weightBits, rng.pick([0, 0.5, 0.8, 0.95, 1]));
  }
}

/** Every committed compressed model directory (models/*_compressed and its experiment subdirectories). */
function compressedDirs(): string[] {
  const models = path.join(ROOT, 'models');
  return fs
    .readdirSync(models)
    .filter((d) => d.endsWith('_compressed'))
    .flatMap((d) => {
      const top = path.join(models, d);
      return [
        top,
        ...fs
          .readdirSync(top)
          .map((e) => path.join(top, e))
          .filter((e) => fs.statSync(e).isDirectory()),
      ];
    });
}

describe('compressed weights in the blob', function () {
  this.timeout(300000);

  it('every committed compressed model has a blob whose bytes are those its compression.json reports', () => {
    const dirs = compressedDirs();
    assert.ok(dirs.length >= 6, dirs.join(' '));
    for (const dir of dirs) {
      const blob = new Uint8Array(fs.readFileSync(path.join(dir, 'model.msl')));
      const record = readCompressionRecord(dir);
      assert.equal(record.results.compressed.blobBytes, blob.length, dir);
      const model = decodeModel(blob);
      const stored = storedWeightsOf(model, undefined, 'size');
      for (const [name, l] of Object.entries(record.layers)) {
        const op = model.ops.find((o) => o.name === name)!;
        assert.equal(
          stored.get(op.inputs[1])?.bytes.length ?? model.tensors[op.inputs[1]].data!.length,
          l.bytes,
          `${dir} ${name}`,
        );
      }
    }
  });

  for (const engine of ENGINES) {
    it(`every committed compressed blob runs bit-exactly on ${engine} (50 test images each)`, async () => {
      const images = loadSamples('fashion-mnist', { split: 'test', limit: 50, size: 784 }).inputs;
      for (const dir of compressedDirs()) {
        const blob = new Uint8Array(fs.readFileSync(path.join(dir, 'model.msl')));
        const model = decodeModel(blob);
        const inputs = images.map((x) => quantizeInput(model, x));
        const r = await runOnEngine(engine, blob, inputs);
        assert.deepEqual(
          r.outputs.map(hex),
          inputs.map((x) => hex(runInt8(model, [x])[0])),
          `${dir} on ${engine}`,
        );
      }
    });
  }

  it('every layout round-trips at every width, and the encoder keeps DENSE unless a sparse layout is smaller', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 60; trial++) {
      const rows = rng.int(1, 9),
        depth = rng.pick([1, 3, 17, 255, 256, 257, 700]);
      const bits = rng.pick(BITS);
      const values = randomWeights(rng, rows * depth, bits, rng.pick([0, 0.3, 0.8, 0.97, 1]));
      const all = encodeWeightsAll(values, rows, bits);
      assert.deepEqual(
        all.map((s) => `${s.layout}${s.runBits ?? ''}`),
        ['dense', 'bitmask', ...[1, 2, 3, 4, 5, 6, 7, 8].map((r) => `run_length${r}`), 'csr'],
      );
      for (const s of all)
        assert.deepEqual(
          decodeWeights(s, values.length, rows, s.layout),
          values,
          `${s.layout}${s.runBits ?? ''} at ${bits} bits, ${rows}×${depth}`,
        );
      assert.equal(all[0].bytes.length, Math.ceil((values.length * bits) / 8));
    }
    assert.equal(storedWeightsOf(wideFcModel(rng, 100, 10, 8, 0)).get(1)!.layout, 'dense');
    assert.throws(() => encodeWeightsAll(new Int8Array(1000).fill(8), 10, 4), /does not fit in 4 bits \(-8\.\.7\)/);
    const sparse = wideFcModel(rng, 784, 16, 8, 0.8);
    const s = storedWeightsOf(sparse, undefined, 'size').get(1)!;
    const sizes = encodeWeightsAll(sparse.tensors[1].data as Int8Array, 16, 8).map((x) => x.bytes.length);
    assert.equal(s.bytes.length, Math.min(...sizes));
    assert.ok(s.bytes.length < sizes[0] * 0.45, `${s.layout}: ${s.bytes.length} of ${sizes[0]} bytes`);
  });

  it('dense 8-bit blobs stay format version 1; packed blobs decode to the same values and re-encode to the same bytes', () => {
    const rng = new Rng(5);
    const plain = encodeModel(wideFcModel(rng, 40, 6, 8, 0));
    assert.equal(
      new DataView(plain.buffer, plain.byteOffset).getUint32(rootFieldPosition(morselSchema(), plain, 'version'), true),
      1,
    );
    assert.equal(decodeModel(plain).tensors[1].weightBits, undefined);
    for (const bits of BITS) {
      for (const layout of WEIGHT_LAYOUTS) {
        const m = wideFcModel(rng, 300, 5, bits, 0.9);
        const blob = encodeModel(m, { layout });
        const back = decodeModel(blob);
        assert.deepEqual(back.tensors[1].data, m.tensors[1].data);
        assert.equal(back.tensors[1].weightBits ?? 8, bits);
        assert.deepEqual(encodeModel(back, { layout }), blob);
      }
    }
  });

  it('random graphs and one-row convolutions with int8/int4/int2 dense and sparse weights run bit-exactly on every engine', async () => {
    const rng = new Rng(606);
    const cases: { model: QModel; inputs: Int8Array[]; layout: WeightLayout }[] = [];
    while (cases.length < 48) {
      const c = randomQModel(rng);
      if (packableWeights(c.model).size === 0) continue;
      compressWeights(c.model, rng);
      cases.push({ ...c, layout: WEIGHT_LAYOUTS[cases.length % 4] });
    }
    for (const [bits, sparsity, batches] of [
      [8, 0.8, 1],
      [4, 0.95, 1],
      [2, 0.5, 3],
      [4, 0, 1],
      [8, 0.995, 2],
      [2, 0.995, 1],
    ] as const) {
      const m = wideFcModel(rng, 784, 12, bits, sparsity, batches);
      for (const layout of WEIGHT_LAYOUTS)
        cases.push({
          model: m,
          inputs: [0, 1].map(() => new Int8Array(784 * batches).map(() => rng.int(-128, 127))),
          layout,
        });
    }
    // Pointwise and one-row convolutions (contiguous taps, padded at the left border or not) in every layout.
    for (const [kW, sw, padLeft, bits, sparsity] of [
      [1, 1, 0, 8, 0.97],
      [1, 2, 0, 4, 0.8],
      [3, 1, 1, 8, 0.9],
      [3, 2, 2, 2, 0.5],
    ] as const) {
      const m = rowConvModel(rng, kW, sw, padLeft, bits, sparsity);
      for (const layout of WEIGHT_LAYOUTS)
        cases.push({
          model: m,
          inputs: [0, 1].map(() => new Int8Array(3 * 7 * 16).map(() => rng.int(-128, 127))),
          layout,
        });
    }
    const stored = cases.flatMap((c) => [...storedWeightsOf(c.model, c.layout).values()]);
    assert.equal(new Set(stored.map((s) => `${s.layout}/${s.bits}`)).size, 12, 'every layout at every width');
    assert.ok(new Set(stored.map((s) => s.runBits)).size >= 5, 'run codes of several widths, straddling bytes or not');
    for (const engine of ENGINES) {
      for (const [i, { model, inputs, layout }] of cases.entries()) {
        const r = await runOnEngine(engine, encodeModel(model, { layout }), inputs);
        assert.deepEqual(
          r.outputs.map(hex),
          inputs.map((x) => hex(runInt8(model, [x])[0])),
          `${engine}, case ${i} (${layout}; ${model.ops.map((o) => o.opcode)})`,
        );
      }
    }
  });

  it('a packed buffer whose lengths or counts disagree is rejected at load with MRSL_E_WEIGHTS', async () => {
    const rng = new Rng(9);
    const bad: Uint8Array[] = [];
    for (const layout of WEIGHT_LAYOUTS) {
      const m = wideFcModel(rng, 64, 4, 4, 0.7);
      m.tensors[1].weightBits = layout === 'dense' ? 2 : 4; // dense: the buffer is now too short for 4-bit values
      if (layout === 'dense') m.tensors[1].data = randomWeights(rng, 256, 2, 0.5);
      const blob = encodeModel(m, { layout });
      // Claim two more stored values than the buffer holds (DENSE: claim 4 bits on a 2-bit buffer).
      bad.push(
        layout === 'dense'
          ? patchTensorByte(blob, 'weight_bits', 4)
          : patchTensorInt(blob, 'stored_values', decodeStored(blob) + 2),
      );
    }
    for (const engine of ENGINES) {
      const outcomes = await fuzzOnEngine(engine, bad);
      for (const o of outcomes) assert.match(o, /^MRSL_E_WEIGHTS/, `${engine}: ${outcomes.join(' | ')}`);
    }
    for (const b of bad) assert.throws(() => decodeModel(b), /tensor 1/);
  });

  it('fuzz: 600 mutated packed blobs per engine are rejected with MRSL_E_* or run', async () => {
    const rng = new Rng(77);
    const bases = WEIGHT_LAYOUTS.map((layout, i) =>
      encodeModel(wideFcModel(rng, 300, 6, BITS[i % 3], 0.85), { layout }),
    );
    const blobs = Array.from({ length: 600 }, (_, i) => {
      const base = bases[i % bases.length];
      const b = base.slice();
      for (let k = rng.int(1, 4); k > 0; k--) b[rng.int(8, b.length - 1)] = rng.int(0, 255);
      return i % 4 === 3 ? b : reseal(b, rootFieldPosition(morselSchema(), base, 'crc32'));
    });
    for (const engine of ENGINES) {
      const outcomes = await fuzzOnEngine(engine, blobs);
      const unclear = outcomes.filter((o) => o !== 'ok' && !o.startsWith('MRSL_E_'));
      assert.deepEqual(unclear.slice(0, 5), [], `${engine}: ${unclear.length} unclear failures`);
      assert.ok(
        outcomes.filter((o) => o.startsWith('MRSL_E_WEIGHTS')).length > 10,
        `${engine}: packed-weight validation exercised`,
      );
    }
  });
});

// --- helpers that rewrite one field of tensor 1 in an encoded blob and reseal its CRC ---

/** Position of a field of tensor 1 (the weights in wideFcModel). */
function tensorFieldAt(blob: Uint8Array, field: string): number {
  const dv = new DataView(blob.buffer, blob.byteOffset);
  const vec = rootFieldPosition(morselSchema(), blob, 'tensors');
  const v = vec + dv.getUint32(vec, true);
  const elem = v + 4 + 4;
  const t = elem + dv.getUint32(elem, true);
  const vt = t - dv.getInt32(t, true);
  const slot = morselSchema()
    .tables.get('Tensor')!
    .fields.find((f) => f.name === field)!.slot;
  const rel = dv.getUint16(vt + vtableOffset(slot), true);
  if (!rel) throw new Error(`tensor 1 has no ${field} field`);
  return t + rel;
}

/** A correct CRC for `b`, stored at `at` (by default where b's own root says the field is). */
function reseal(b: Uint8Array, at = rootFieldPosition(morselSchema(), b, 'crc32')): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setUint32(at, 0, true);
  dv.setUint32(at, crc32(b), true);
  return b;
}

const decodeStored = (blob: Uint8Array) =>
  new DataView(blob.buffer, blob.byteOffset).getInt32(tensorFieldAt(blob, 'stored_values'), true);

function patchTensorInt(blob: Uint8Array, field: string, value: number): Uint8Array {
  const b = blob.slice();
  new DataView(b.buffer).setInt32(tensorFieldAt(b, field), value, true);
  return reseal(b);
}

function patchTensorByte(blob: Uint8Array, field: string, value: number): Uint8Array {
  const b = blob.slice();
  b[tensorFieldAt(b, field)] = value;
  return reseal(b);
}
