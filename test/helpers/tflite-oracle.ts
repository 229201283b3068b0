// Full TFLite as an oracle: the WebAssembly build shipped in @tensorflow/tfjs-tflite, driven from Node by calling
// its Emscripten factory with the wasm bytes (the package itself expects a browser and fetch).
// Which kernels it runs (measured with its profiler): the XNNPACK delegate takes CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED whose weights are constant, and int8 ADD, requantizing in float32 (not TFLite's fixed point);
// builtinKernelsModel below keeps every op on TFLite's own builtin kernels.
import * as fs from 'fs';
import * as path from 'path';
import { exportTfliteWeightsAsInputs } from '../../host/export/tflite';
import type { QModel, QOp } from '../../host/ir/qmodel';
import { numel } from '../../host/ir/shape';

interface TensorInfo {
  data(): ArrayBufferView;
  dataType: string;
  shape: string;
  name: string;
}
interface Vector<T> {
  size(): number;
  get(i: number): T;
  delete(): void;
}
interface Runner {
  GetInputs(): Vector<TensorInfo>;
  GetOutputs(): Vector<TensorInfo>;
  Infer(): boolean;
  delete(): void;
  GetProfilingResults(): Vector<{ nodeType: string }>;
}
interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  TFLiteWebModelRunner: {
    CreateFromBufferAndOptions(
      ptr: number,
      n: number,
      o: { numThreads: number; enableProfiling: boolean; maxProfilingBufferEntries: number },
    ): {
      ok(): boolean;
      errorMessage(): string;
      value(): Runner;
    };
  };
}

export interface TfliteOracle {
  /** Runs a .tflite model; inputs are raw bytes in the model's input order; returns every output as int8. */
  run(model: Uint8Array, inputs: (Int8Array | Uint8Array)[]): Int8Array[];
  /** Runs a float .tflite model (a state-keeping op such as an LSTM keeps its state between runs of one file). */
  runFloat(model: Uint8Array, inputs: Float32Array[]): Float32Array[];
  /** The kinds of node TFLite executed in the model's last inference (e.g. "CONV_2D", "TfLiteXNNPackDelegate"). */
  nodeTypes(model: Uint8Array): string[];
}

let loaded: Promise<TfliteOracle> | undefined;

export function loadTfliteOracle(): Promise<TfliteOracle> {
  loaded ??= (async () => {
    const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const factory = require(path.join(dir, 'tflite_web_api_cc.js')) as (m: object) => Promise<WasmModule>;
    const mod = await factory({
      wasmBinary: fs.readFileSync(path.join(dir, 'tflite_web_api_cc.wasm')),
      print: () => {},
      printErr: () => {},
    });
    // Profiling is on so that tests can see which kernels ran; it does not change results.
    const runners = new WeakMap<Uint8Array, Runner>();
    const runnerFor = (model: Uint8Array): Runner => {
      let r = runners.get(model);
      if (!r) {
        // The runner keeps pointing at the model bytes, so they stay allocated for the process's lifetime.
        const p = mod._malloc(model.length);
        mod.HEAPU8.set(model, p);
        const status = mod.TFLiteWebModelRunner.CreateFromBufferAndOptions(p, model.length, {
          numThreads: 1,
          enableProfiling: true,
          maxProfilingBufferEntries: 4096,
        });
        if (!status.ok()) throw new Error(`TFLite (wasm) rejected the model: ${status.errorMessage()}`);
        r = status.value();
        runners.set(model, r);
      }
      return r;
    };
    const tensors = (v: Vector<TensorInfo>) => {
      try {
        return Array.from({ length: v.size() }, (_, i) => v.get(i));
      } finally {
        v.delete();
      }
    };
    /** Fills the inputs with `inputs` (raw bytes), runs once, and returns the output tensors. */
    const infer = (model: Uint8Array, inputs: ArrayBufferView[]): TensorInfo[] => {
      const r = runnerFor(model);
      const ins = tensors(r.GetInputs());
      if (ins.length !== inputs.length) throw new Error(`model has ${ins.length} inputs, got ${inputs.length}`);
      ins.forEach((t, i) => {
        const view = t.data();
        const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        if (bytes.length !== inputs[i].byteLength)
          throw new Error(`input ${i} (${t.name}) takes ${bytes.length} bytes, got ${inputs[i].byteLength}`);
        bytes.set(new Uint8Array(inputs[i].buffer, inputs[i].byteOffset, inputs[i].byteLength));
      });
      if (!r.Infer()) throw new Error('TFLite (wasm) inference failed');
      return tensors(r.GetOutputs());
    };
    const outputsOf = <T>(outs: TensorInfo[], type: string, copy: (v: ArrayBufferView) => T): T[] =>
      outs.map((t) => {
        if (t.dataType !== type) throw new Error(`output ${t.name} is ${t.dataType}, not ${type}`);
        return copy(t.data());
      });
    return {
      run: (model, inputs) => outputsOf(infer(model, inputs), 'int8', (v) => Int8Array.from(v as Int8Array)),
      runFloat: (model, inputs) =>
        outputsOf(infer(model, inputs), 'float32', (v) => Float32Array.from(v as Float32Array)),
      nodeTypes(model) {
        const r = runnerFor(model);
        const results = r.GetProfilingResults();
        try {
          return [...new Set(Array.from({ length: results.size() }, (_, i) => results.get(i).nodeType))];
        } finally {
          results.delete();
        }
      },
    };
  })();
  return loaded;
}

/**
 * A model for checking Morsel's kernels one by one against TFLite's builtin kernels: every op's output is a model
 * output (in op order), CONV/DEPTHWISE/FC weights are fed as inputs after the model's own (`weights`), and each
 * ADD/SUB/MUL works on rank-7 reshapes of its operands, beyond the 6 dimensions XNNPACK accepts, so TFLite keeps
 * it too. RESHAPE is exact, so the outputs are the same values TFLite's kernels compute on the original model.
 */
export function builtinKernelsModel(model: QModel): { bytes: Uint8Array; weights: Uint8Array[] } {
  const tensors = model.tensors.slice();
  const rank7 = (t: number) => {
    tensors.push({
      ...tensors[t],
      shape: [1, 1, 1, 1, 1, 1, numel(tensors[t].shape)],
      arenaOffset: -1,
    });
    return tensors.length - 1;
  };
  const ops: QOp[] = model.ops.flatMap((op): QOp[] => {
    if (op.opcode !== 'ADD' && op.opcode !== 'SUB' && op.opcode !== 'MUL') return [op];
    if (op.inputs.some((t) => numel(model.tensors[t].shape) !== numel(model.tensors[op.outputs[0]].shape))) {
      throw new Error(`${op.opcode} '${op.name}' broadcasts; only same-shape operands can be reshaped to rank 7`);
    }
    const [a, b, y] = [rank7(op.inputs[0]), rank7(op.inputs[1]), rank7(op.outputs[0])];
    const reshape = (from: number, to: number, name: string): QOp => ({
      opcode: 'RESHAPE',
      inputs: [from],
      outputs: [to],
      options: null,
      name,
    });
    return [
      reshape(op.inputs[0], a, `${op.name}/a`),
      reshape(op.inputs[1], b, `${op.name}/b`),
      { ...op, inputs: [a, b], outputs: [y] } as QOp,
      reshape(y, op.outputs[0], op.name),
    ];
  });
  return exportTfliteWeightsAsInputs({ ...model, tensors, ops, outputs: model.ops.map((op) => op.outputs[0]) });
}
