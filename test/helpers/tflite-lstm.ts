// A float .tflite with one UNIDIRECTIONAL_SEQUENCE_LSTM, written with Morsel's own TFLite writer from a torch
// nn.LSTM's weights (test/fixtures/tflite/lstm_torch.json, made by make_lstm.py): there is no TensorFlow here to
// convert a Keras LSTM. The tensors are laid out as TF's converter writes them: 24 inputs, the absent optional
// ones -1, the hidden and cell state as variable tensors.

import * as fs from 'fs';
import * as path from 'path';
import { type OutOp, type OutTensor, writeTflite } from '../../host/export/tflite';
import {
  ActivationFunction,
  BuiltinOperator,
  BuiltinOptions,
  Field,
  TensorType,
} from '../../host/import/tflite/schema';

export const LSTM_FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tflite', 'lstm_torch.json');

export interface TorchLstm {
  steps: number;
  features: number;
  hidden: number;
  weight_ih: number[];
  weight_hh: number[];
  bias_ih: number[];
  bias_hh: number[];
  input: number[];
  output: number[];
}

export const readTorchLstm = (): TorchLstm => JSON.parse(fs.readFileSync(LSTM_FIXTURE, 'utf8'));

/**
 * The .tflite bytes of `lstm` as one UNIDIRECTIONAL_SEQUENCE_LSTM over [1, steps, features], or [steps, 1, features]
 * when `timeMajor` (the same values for one sequence).
 */
export function lstmTflite(lstm: TorchLstm, timeMajor = false): Uint8Array {
  const { steps, features: F, hidden: H } = lstm;
  const tensors: OutTensor[] = [];
  const add = (name: string, shape: number[], values?: number[], variable = false) => {
    tensors.push({
      name,
      shape,
      type: TensorType.FLOAT32,
      ...(values ? { data: new Uint8Array(Float32Array.from(values).buffer) } : {}),
      scale: [],
      zeroPoint: [],
      quantizedDimension: 0,
      variable,
    });
    return tensors.length - 1;
  };
  // torch's gates are i, f, g (cell), o: the same order as TFLite's per-gate inputs.
  const gate = (m: number[], cols: number, k: number) => m.slice(k * H * cols, (k + 1) * H * cols);
  const x = add('input', timeMajor ? [steps, 1, F] : [1, steps, F]);
  const gates = ['input', 'forget', 'cell', 'output'];
  const inputWeights = gates.map((g, k) => add(`input_to_${g}_weights`, [H, F], gate(lstm.weight_ih, F, k)));
  const recurrentWeights = gates.map((g, k) => add(`recurrent_to_${g}_weights`, [H, H], gate(lstm.weight_hh, H, k)));
  const biases = gates.map((g, k) =>
    add(
      `${g}_gate_bias`,
      [H],
      gate(lstm.bias_ih, 1, k).map((b, i) => b + lstm.bias_hh[k * H + i]),
    ),
  );
  const hState = add('output_state', [1, H], undefined, true);
  const cState = add('cell_state', [1, H], undefined, true);
  const y = add('output', timeMajor ? [steps, 1, H] : [1, steps, H]);
  const none = -1;
  const F_ = Field.UnidirectionalSequenceLSTMOptions;
  const op: OutOp = {
    builtin: BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM,
    inputs: [
      x,
      ...inputWeights,
      ...recurrentWeights,
      none,
      none,
      none,
      ...biases,
      none,
      none,
      hState,
      cState,
      none,
      none,
      none,
      none,
    ],
    outputs: [y],
    optionsType: BuiltinOptions.UnidirectionalSequenceLSTMOptions,
    options: [
      [F_.fused_activation_function, 'i8', ActivationFunction.TANH],
      [F_.cell_clip, 'f32', 0],
      [F_.proj_clip, 'f32', 0],
      [F_.time_major, 'bool', timeMajor ? 1 : 0],
    ],
  };
  return writeTflite('torch_lstm', tensors, [op], [x], [y]);
}
