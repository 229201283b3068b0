// The one blob verifier (host/blob/verify.ts running device/format/verify.ts and the device's load): the blobs of
// issue 14 that host and device disagreed on are now refused by both with the same MRSL_E_* code, the commands
// that read a blob say so in one line with exit 2, and a differential fuzz finds host and engines in agreement.

import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { verifyBlob } from '../host/blob/verify';
import { ENGINES, fuzzOnEngine } from '../host/engines';
import type { FullyConnectedOptions, QModel } from '../host/ir/qmodel';
import { planMemory } from '../host/plan/planner';
import { differentialFuzz } from './helpers/differential';
import { act } from './helpers/tiny-models';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'morsel.js');
const zooBlob = (name: string) =>
  decodeModel(new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl'))));

/** A 1×1 input padded by 255 and max-pooled by a 256×256 window into 256×256 outputs: 4.3·10^9 comparisons. */
function hugeWorkModel(): QModel {
  const m: QModel = {
    name: 'huge-work',
    producer: 'test',
    rounding: 'double',
    arenaBytes: 0,
    tensors: [act('x', [1, 1, 1, 1]), act('y', [1, 256, 256, 1])],
    ops: [
      {
        opcode: 'MAX_POOL_2D',
        inputs: [0],
        outputs: [1],
        name: 'pool',
        options: {
          filter_h: 256,
          filter_w: 256,
          stride_h: 1,
          stride_w: 1,
          pad_top: 255,
          pad_left: 255,
          activation_min: -128,
          activation_max: 127,
        },
      },
    ],
    inputs: [0],
    outputs: [1],
  };
  planMemory(m);
  return m;
}

/** Issue 14's blobs, each a valid model with one field changed, and the code both sides refuse it with. */
const CASES: [string, () => QModel, RegExp][] = [
  [
    'an output shift of -2^31',
    () => {
      const m = zooBlob('fashion_mlp');
      (m.ops[0].options as FullyConnectedOptions).output_shift[0] = -2147483648;
      return m;
    },
    /MRSL_E_OPTIONS/,
  ],
  [
    'weights declared [20,784] over 100,352 bytes',
    () => {
      const m = zooBlob('fashion_mlp');
      m.tensors[m.ops[0].inputs[1]].shape = [20, 784];
      return m;
    },
    /MRSL_E_BUFFER|shape \[20,784\] but 100352 bytes/,
  ],
  [
    "the zoo CNN's first two ops swapped",
    () => {
      const m = zooBlob('fashion_cnn');
      [m.ops[0], m.ops[1]] = [m.ops[1], m.ops[0]];
      return m;
    },
    /MRSL_E_ORDER/,
  ],
  [
    "fc1's output moved onto its input",
    () => {
      const m = zooBlob('fashion_mlp');
      m.tensors[m.ops[0].outputs[0]].arenaOffset = m.tensors[m.ops[0].inputs[0]].arenaOffset;
      return m;
    },
    /MRSL_E_OVERLAP/,
  ],
  [
    'an int32 bias of INT32_MAX',
    () => {
      const m = zooBlob('fashion_mlp');
      (m.tensors[m.ops[0].inputs[2]].data as Int32Array)[3] = 2147483647;
      return m;
    },
    /MRSL_E_ACCUMULATOR: op 0 channel 3/,
  ],
  ['a pool claiming 4.3·10^9 comparisons', hugeWorkModel, /MRSL_E_WORK/],
  [
    'a pool window over padding only (an average of nothing: Lua stored NaN)',
    () => {
      const m = hugeWorkModel();
      m.tensors[1].shape = [1, 257, 2, 1];
      planMemory(m);
      return m;
    },
    /MRSL_E_SHAPE: op 0 has an empty pool window/,
  ],
];

describe('one blob verifier, host and device alike (issue 14)', function () {
  this.timeout(600000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-verify-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60000 });

  it('every zoo blob passes', () => {
    for (const name of ['fashion_mlp', 'fashion_cnn', 'fashion_cnn_compressed', 'fashion_mlp_compressed/mixed'])
      verifyBlob(new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl'))));
  });

  for (const [what, make, code] of CASES) {
    it(`${what}: the host and all six engines refuse it (${code.source.split('|')[0]})`, async () => {
      const blob = encodeModel(make());
      assert.throws(() => verifyBlob(blob), code);
      for (const engine of ENGINES) {
        const [outcome] = await fuzzOnEngine(engine, [blob]);
        assert.match(outcome, /^MRSL_E_/, engine);
        if (!code.source.includes('|')) assert.match(outcome, code, engine);
      }
    });
  }

  it('the host names the layer: the INT32_MAX bias refusal names fc1', () => {
    const blob = encodeModel(CASES[4][1]());
    assert.throws(() => verifyBlob(blob), /layer '[^']+'/);
  });

  for (const command of ['run', 'inspect', 'diff', 'export'] as const) {
    it(`${command} refuses a blob the device would refuse: one line, exit 2, nothing written`, () => {
      const file = path.join(tmp, `${command}.msl`);
      fs.writeFileSync(file, encodeModel(hugeWorkModel()));
      const out = path.join(tmp, `${command}.tflite`);
      const args: Record<typeof command, string[]> = {
        run: ['run', file, '--input', path.join(tmp, 'none.bin')],
        inspect: ['inspect', file],
        diff: ['diff', file],
        export: ['export', file, '--tflite', '-o', out],
      };
      if (command === 'run') fs.writeFileSync(path.join(tmp, 'none.bin'), new Uint8Array(1));
      const r = cli(...args[command]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /MRSL_E_WORK/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!fs.existsSync(out));
    });
  }

  it('inspect on a model output index of -1: one line, exit 2', () => {
    const m = zooBlob('fashion_mlp');
    m.outputs = [-1];
    const file = path.join(tmp, 'minus1.msl');
    fs.writeFileSync(file, encodeModel(m));
    const r = cli('inspect', file);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /model output refers to tensor -1/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('differential fuzz: 200 field-level mutants, the host and all six engines agree on accept/reject and outputs', async () => {
    const { disagreements, encoded, accepted } = await differentialFuzz(ENGINES, 200, 14);
    assert.ok(
      encoded > 150 && accepted > 20,
      `${encoded} encoded, ${accepted} accepted: the mutants exercise both sides`,
    );
    assert.deepEqual(disagreements.slice(0, 3), [], `${disagreements.length} disagreements`);
  });
});
