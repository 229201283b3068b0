// Element-wise ops (issue 15): their int8 tables against full TFLite where TFLite has the builtin, and one-op
// models compiled from float graphs through every device engine, byte for byte against the host int8 reference.

import { strict as assert } from 'assert';
import { compileGraph } from '../host/compile';
import { ENGINES, runBatchOnEngine } from '../host/engines';
import { exportTflite } from '../host/export/tflite';
import { readTflite } from '../host/import/tflite/reader';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { runInt8 } from '../host/interp/int8/interpreter';
import { type Graph, newGraph, type Op } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { prepareHardSwish, type QParams } from '../host/quantize/prepare';
import { Rng } from '../host/util/rng';
import { builtinKernelsModel, loadTfliteOracle } from './helpers/tflite-oracle';

const EVERY_INT8 = Int8Array.from({ length: 256 }, (_, i) => i - 128);

const act = (name: string, shape: number[], q: QParams) => ({
  name,
  shape,
  type: 'int8' as const,
  scale: [q.scale],
  zeroPoint: [q.zeroPoint],
  quantizedDimension: 0,
  arenaOffset: -1,
});

/** One table op on [1,256] with a random input quantization and an output of `outScale`·s_in. */
function tableModel(opcode: 'HARD_SWISH', rng: Rng): QModel {
  const x = { scale: Math.fround(rng.uniform(0.005, 0.2)), zeroPoint: rng.int(-100, 100) };
  const y = { scale: Math.fround(x.scale * rng.uniform(0.3, 3)), zeroPoint: rng.int(-128, 127) };
  return {
    name: opcode,
    producer: 'test',
    rounding: 'tflite',
    arenaBytes: 0,
    inputs: [0],
    outputs: [1],
    tensors: [act('x', [1, 256], x), act('y', [1, 256], y)],
    ops: [{ opcode, inputs: [0], outputs: [1], name: opcode, options: prepareHardSwish(x, y, 'single') }],
  };
}

/** A float NHWC graph x[1,4,4,6] → ops → y: `build` adds the nodes through `op` and returns the output's name. */
function floatGraph(name: string, build: (op: (o: Omit<Op, 'outputs'>) => string) => string): Graph {
  const g = newGraph(name, 'NHWC');
  const shape = [1, 4, 4, 6];
  g.tensors.set('x', { name: 'x', dtype: 'float32', shape });
  g.inputs.push('x');
  let k = 0;
  const op = (o: Omit<Op, 'outputs'>) => {
    const y = `t${k++}`;
    g.tensors.set(y, { name: y, dtype: 'float32', shape });
    g.nodes.push({ name: `${o.kind}${k}`, op: { ...o, outputs: [y] } as Op });
    return y;
  };
  g.outputs.push(build(op));
  return g;
}

/** One-op (and fused-chain) graphs of every element-wise kind. */
const ONE_OP_GRAPHS: Graph[] = [floatGraph('hard_swish', (op) => op({ kind: 'hard_swish', inputs: ['x'], attrs: {} }))];

describe('element-wise ops', function () {
  this.timeout(300000);

  it("HARD_SWISH's table is full TFLite's int8 HARD_SWISH on all 256 inputs (20 quantizations), and round-trips through .tflite", async () => {
    const oracle = await loadTfliteOracle();
    for (let seed = 0; seed < 20; seed++) {
      const model = tableModel('HARD_SWISH', new Rng(seed));
      const theirs = oracle.run(builtinKernelsModel(model).bytes, [EVERY_INT8])[0];
      assert.deepEqual(runInt8(model, [EVERY_INT8])[0], theirs, `seed ${seed}`);
      const back = tfliteToQModel(readTflite(exportTflite(model)), { rounding: 'tflite' });
      assert.deepEqual(
        back.ops.map((o) => o.opcode),
        ['HARD_SWISH'],
      );
      assert.deepEqual(back.ops[0].options, model.ops[0].options, `seed ${seed}: re-imported table`);
    }
  });

  it('one-op models of every element-wise kind: all six engines equal the host int8 reference on every input', async () => {
    const rng = new Rng(3);
    const jobs = ONE_OP_GRAPHS.map((g) => {
      const { model, blob } = compileGraph(g, { calib: 'random:-4:4', calibCount: 20, quiet: true });
      const inputs = [
        EVERY_INT8.slice(0, 96),
        EVERY_INT8.slice(96, 192),
        new Int8Array(96).map(() => rng.int(-128, 127)),
      ];
      return { name: g.name, model, blob, inputs };
    });
    for (const engine of ENGINES) {
      const runs = await runBatchOnEngine(engine, jobs);
      jobs.forEach((job, j) =>
        job.inputs.forEach((x, i) =>
          assert.deepEqual(runs[j].outputs[i], runInt8(job.model, [x])[0], `${job.name} on ${engine}, input ${i}`),
        ),
      );
    }
  });
});
