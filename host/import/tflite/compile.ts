// `morsel convert` for .tflite files (kept apart from ./index so that host/import does not depend on the compiler).

import { encodeModel } from '../../blob/encode';
import { compileGraph, type CompileOptions } from '../../compile';
import { checkDeviceIo } from '../limits';
import { ModelError } from '../../ir/graph';
import type { QModel } from '../../ir/qmodel';
import { planMemory } from '../../plan/planner';
import { readTfliteFile, tfliteModelName } from './index';
import { tfliteToGraph } from './to-graph';
import { isInt8Model, tfliteToQModel } from './to-qmodel';

export interface CompiledTflite {
  model: QModel;
  blob: Uint8Array;
  /** 'int8': imported with its own quantization; 'float': calibrated and quantized by Morsel. */
  kind: 'int8' | 'float';
}

/** `morsel convert` for .tflite: int8 models keep their quantization, float models need calibration data. */
export function compileTflite(file: string, opts: CompileOptions = {}): CompiledTflite {
  const m = readTfliteFile(file);
  if (isInt8Model(m)) {
    if (opts.calib)
      throw new ModelError(
        `${file} is already quantized to int8; --calib does not apply (its own scales and zero points are kept)`,
      );
    if (opts.weightRounding === 'gptq')
      throw new ModelError(
        `${file} is already quantized to int8; --weight-rounding gptq does not apply (its own int8 weights are kept)`,
      );
    if (opts.equalize && opts.equalize !== 'none')
      throw new ModelError(
        `${file} is already quantized to int8; --equalize does not apply (its own int8 weights are kept)`,
      );
    const model = tfliteToQModel(m, { rounding: opts.rounding, name: tfliteModelName(file) });
    checkDeviceIo(
      model.inputs.map((i) => model.tensors[i].name),
      model.outputs.map((i) => model.tensors[i].name),
      file,
    );
    planMemory(model);
    return { model, blob: encodeModel(model, { optimize: opts.optimize }), kind: 'int8' };
  }
  if (!opts.calib) {
    throw new ModelError(
      `${file} is a float model: it needs calibration data (morsel convert ${file} --calib <data> -o model.msl; data: a .npy/.json/IDX file of inputs, or random:LO:HI for uniform random inputs)`,
    );
  }
  const { model, blob } = compileGraph(tfliteToGraph(m, tfliteModelName(file)), opts);
  return { model, blob, kind: 'float' };
}
