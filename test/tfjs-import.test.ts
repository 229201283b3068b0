import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeModel } from '../host/blob/encode';
import { ENGINES, runOnEngine } from '../host/engines';
import { importModel } from '../host/import';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { ModelError } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { planMemory } from '../host/plan/planner';
import { calibrate } from '../host/quantize/calibrate';
import { dequantizeOutput, quantizeGraph, quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';

const DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'tfjs', 'functional');
const MODEL = path.join(DIR, 'model.json');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as {
  inputs: number[][];
  outputs: number[][];
};
const argmax = (a: ArrayLike<number>) => Array.from(a).reduce((b, v, i, arr) => (v > arr[b] ? i : b), 0);

/** A copy of the fixture with its topology edited, for the bad-input cases. */
function editedModel(edit: (layers: any[]) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-tfjs-'));
  const json = JSON.parse(fs.readFileSync(MODEL, 'utf8'));
  edit(json.modelTopology.model_config?.config.layers ?? json.modelTopology.config.layers);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  fs.copyFileSync(path.join(DIR, 'weights.bin'), path.join(dir, 'weights.bin'));
  return path.join(dir, 'model.json');
}

describe('TF.js functional model import (fixture made by test/fixtures/tfjs/make_functional.ts)', () => {
  it('reproduces TF.js predictions before and after the device passes', () => {
    const g = importModel(MODEL);
    const kinds = new Set(g.nodes.map((n) => n.op.kind));
    for (const k of [
      'conv2d',
      'depthwise_conv2d',
      'batchnorm',
      'add',
      'concat',
      'max_pool',
      'avg_pool',
      'mean',
      'reshape',
      'dense',
      'softmax',
      'tanh',
      'clip',
    ])
      assert.ok(kinds.has(k as never), k);
    const d = toDeviceGraph(g);
    assert.ok(!d.nodes.some((n) => n.op.kind === 'batchnorm'), 'batch norm folded');
    expected.inputs.forEach((x, i) => {
      for (const graph of [g, d]) {
        const y = Object.values(runFloat(graph, { [graph.inputs[0]]: Float32Array.from(x) }))[0];
        assert.ok(
          Array.from(y).every((v, j) => Math.abs(v - expected.outputs[i][j]) <= 1e-5),
          `case ${i}: ${Array.from(y)} vs ${expected.outputs[i]}`,
        );
      }
    });
  });

  it('quantizes to int8 close to float (same top-1) and runs bit-exactly on every engine', async () => {
    const d = toDeviceGraph(importModel(MODEL));
    const rng = new Rng(9);
    const calib = [
      ...expected.inputs.map((x) => Float32Array.from(x)),
      ...Array.from({ length: 28 }, () => Float32Array.from({ length: 192 }, () => rng.normal())),
    ];
    const model = quantizeGraph(d, calibrate(d, calib));
    planMemory(model);
    const xs = expected.inputs.map((x) => quantizeInput(model, Float32Array.from(x)));
    const ref = xs.map((x) => runInt8(model, [x])[0]);
    ref.forEach((y, i) => {
      const yq = dequantizeOutput(model, y);
      assert.equal(argmax(yq), argmax(expected.outputs[i]), `case ${i} top-1`);
      assert.ok(
        Array.from(yq).every((v, j) => Math.abs(v - expected.outputs[i][j]) <= 0.05),
        `case ${i}: ${Array.from(yq)} vs ${expected.outputs[i]}`,
      );
    });
    for (const engine of ENGINES) {
      const r = await runOnEngine(engine, encodeModel(model), xs);
      assert.deepEqual(
        r.outputs.map((o) => Array.from(o)),
        ref.map((o) => Array.from(o)),
        engine,
      );
    }
  });

  it('rejects shared layers, unknown layers and dangling inputs with one clear line', () => {
    const cases: [string, (layers: any[]) => void, RegExp][] = [
      [
        'shared',
        (ls) => {
          const l = ls.find((x) => x.name === 'tanh');
          l.inbound_nodes.push(l.inbound_nodes[0]);
        },
        /layer \d+ 'tanh'.*shared layers \(called 2 times\) are not supported/,
      ],
      [
        'unknown',
        (ls) => {
          ls.find((x) => x.name === 'tanh').class_name = 'Bidirectional';
        },
        /'tanh' \(Bidirectional\): TF.js layer Bidirectional is not supported \(supported: InputLayer, Dense/,
      ],
      [
        'dangling',
        (ls) => {
          ls.find((x) => x.name === 'sum').inbound_nodes[0][1][0] = 'nowhere';
        },
        /layers .*sum.* read layers that do not exist/,
      ],
    ];
    for (const [what, edit, message] of cases) {
      assert.throws(
        () => importModel(editedModel(edit)),
        (e: unknown) => e instanceof ModelError && message.test(e.message) && !e.message.includes('\n'),
        what,
      );
    }
  });
});
