// The MLPerf Tiny int8 models on every device engine: TFLite Micro's golden outputs (double rounding) and full
// TFLite's outputs (WebAssembly, its builtin kernels) in Morsel's 'tflite' rounding mode, byte for byte.
// Node runs every golden case and every random input; the interpreters (QuickJS, Duktape, ...) run a fixed subset
// to keep `npm test` short; `npm run bench:mlperf -- --sweep` runs every case, input and layer on every engine.

import { strict as assert } from 'assert';
import { decodeModel } from '../host/blob/decode';
import { engineLayers } from '../host/cli/layer-diff';
import { ENGINES, runOnEngine } from '../host/engines';
import { compileTflite } from '../host/import/tflite/compile';
import { goldenLayersInput, readGolden } from '../host/import/tflite/golden';
import {
  INT8_MODELS,
  mlperfFile,
  randomInt8Inputs,
  SLOW_ENGINE_CASES,
  SLOW_ENGINE_RANDOM_INPUTS,
  TFLITE_RANDOM_INPUTS,
  tfliteOutputs,
} from './helpers/tflite-mlperf';

describe('TFLite models on the device engines', function () {
  this.timeout(300000);
  for (const name of INT8_MODELS) {
    const golden = readGolden(mlperfFile(`golden/${name}.golden.json`));
    const double = compileTflite(mlperfFile(`${name}.tflite`)).blob;
    const tflite = compileTflite(mlperfFile(`${name}.tflite`), { rounding: 'tflite' }).blob;
    for (const engine of ENGINES) {
      const everything = engine === 'node';
      const cases = everything ? golden.cases : golden.cases.filter((c) => SLOW_ENGINE_CASES.includes(c.seed));
      const randomInputs = everything ? TFLITE_RANDOM_INPUTS : SLOW_ENGINE_RANDOM_INPUTS;

      it(`${name} on ${engine}: TFLite Micro's golden outputs (${cases.length} cases), then full TFLite's in 'tflite' rounding (${randomInputs} random inputs)`, async () => {
        const run = await runOnEngine(
          engine,
          double,
          cases.map((c) => c.input),
        );
        cases.forEach((c, i) => assert.deepEqual(run.outputs[i], c.output, `seed ${c.seed}`));
        const model = decodeModel(tflite);
        const inputs = randomInt8Inputs(model, randomInputs, 7);
        const theirs = await tfliteOutputs(model, inputs);
        const ours = (await runOnEngine(engine, tflite, inputs)).outputs;
        inputs.forEach((x, i) => assert.deepEqual(ours[i], theirs[i], `'tflite' rounding, random input ${i}`));
      });
    }
  }

  it("every layer of kws_ref_model's seed-1 case on node, through the models cut after each op (`morsel diff`)", async () => {
    const golden = readGolden(mlperfFile('golden/kws_ref_model.golden.json'));
    const model = decodeModel(compileTflite(mlperfFile('kws_ref_model.tflite')).blob);
    const layers = await engineLayers('node', model, goldenLayersInput(golden));
    const byName = new Map(golden.layers.map((l) => [l.name, l.data]));
    model.ops.forEach((op, k) =>
      assert.deepEqual(layers[k], byName.get(op.name), `layer ${k} ${op.opcode} '${op.name}'`),
    );
  });
});
