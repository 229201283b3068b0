// The MLPerf Tiny int8 models on every device engine: TFLite Micro's golden outputs (double rounding) and the
// host reference in single rounding (itself checked against full TFLite in tflite.test.ts), byte for byte.
// Node runs every golden case; the interpreters (QuickJS, Duktape, ...) run a fixed subset to keep `npm test`
// short; `npm run bench:mlperf -- --sweep` runs every case and every layer on every engine.

import { strict as assert } from 'assert';
import { decodeModel } from '../host/blob/decode';
import { engineLayers } from '../host/cli/layer-diff';
import { ENGINES, runOnEngine } from '../host/engines';
import { compileTflite } from '../host/import/tflite/compile';
import { goldenLayersInput, readGolden } from '../host/import/tflite/golden';
import { runInt8 } from '../host/interp/int8/interpreter';
import { INT8_MODELS, mlperfFile, randomInt8Inputs, SLOW_ENGINE_CASES } from './helpers/tflite-mlperf';

const NODE_RANDOM_INPUTS = 5;

describe('TFLite models on the device engines', function () {
  this.timeout(300000);
  for (const name of INT8_MODELS) {
    const golden = readGolden(mlperfFile(`golden/${name}.golden.json`));
    const double = compileTflite(mlperfFile(`${name}.tflite`)).blob;
    const single = compileTflite(mlperfFile(`${name}.tflite`), { rounding: 'single' }).blob;
    for (const engine of ENGINES) {
      const everything = engine === 'node';
      const cases = everything ? golden.cases : golden.cases.filter((c) => SLOW_ENGINE_CASES.includes(c.seed));
      const randomInputs = everything ? NODE_RANDOM_INPUTS : SLOW_ENGINE_CASES.length;

      it(`${name} on ${engine}: golden outputs of TFLite Micro (${cases.length} cases), then single rounding (${randomInputs} random inputs)`, async () => {
        const run = await runOnEngine(engine, double, cases.map((c) => c.input));
        cases.forEach((c, i) => assert.deepEqual(run.outputs[i], c.output, `seed ${c.seed}`));
        const model = decodeModel(single);
        const inputs = randomInt8Inputs(model, randomInputs, 7);
        const runSingle = await runOnEngine(engine, single, inputs);
        inputs.forEach((x, i) => assert.deepEqual(runSingle.outputs[i], runInt8(model, [x])[0], `single rounding, input ${i}`));
      });
    }
  }

  it('every layer of kws_ref_model\'s seed-1 case on node, through the models cut after each op (`morsel diff`)', async () => {
    const golden = readGolden(mlperfFile('golden/kws_ref_model.golden.json'));
    const model = decodeModel(compileTflite(mlperfFile('kws_ref_model.tflite')).blob);
    const layers = await engineLayers('node', model, goldenLayersInput(golden));
    const byName = new Map(golden.layers.map((l) => [l.name, l.data]));
    model.ops.forEach((op, k) => assert.deepEqual(layers[k], byName.get(op.name), `layer ${k} ${op.opcode} '${op.name}'`));
  });
});
