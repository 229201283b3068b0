// What every importer checks before it allocates or loops: a model file is untrusted input (a 141-byte ONNX file can
// ask for a 10^9-element Range). Models beyond these bounds could not run on a microcontroller anyway.

import { ModelError, numel } from '../ir/graph';

/** Elements in any one tensor, constant or activation (2^24: 64 MB as float32). */
export const MAX_TENSOR_ELEMENTS = 1 << 24;
/** Elements in all the constants an import materialises, folded shape arithmetic included. */
export const MAX_CONSTANT_ELEMENTS = 1 << 25;
export const MAX_RANK = 8;
/** Elements in one activation (2^22: 4 MB as int8, beyond the RAM of any ESP32-class board). */
export const MAX_ACTIVATION_ELEMENTS = 1 << 22;

/**
 * A shape whose every dimension is a positive safe integer (or 0 where `allowEmpty`, for constants such as an empty
 * `roi`), of a rank and size the importer can hold; else a ModelError naming `what`.
 */
export function checkShape(
  shape: readonly unknown[],
  what: string,
  allowEmpty = false,
  limit = MAX_TENSOR_ELEMENTS,
): number[] {
  if (shape.length > MAX_RANK) throw new ModelError(`${what}: rank ${shape.length} is beyond the limit of ${MAX_RANK}`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < (allowEmpty ? 0 : 1))
      throw new ModelError(
        `${what}: dimension ${i} of [${shape.map(String)}] is ${String(d)}; dimensions must be ${allowEmpty ? 'non-negative' : 'positive'} integers`,
      );
  });
  const dims = shape as number[];
  if (numel(dims) > limit)
    throw new ModelError(`${what}: [${dims}] has ${numel(dims)} elements, beyond the limit of ${limit} per tensor`);
  return dims;
}

/** An activation's shape: positive dimensions, at most MAX_ACTIVATION_ELEMENTS. */
export const checkActivation = (shape: readonly unknown[], what: string): number[] =>
  checkShape(shape, what, false, MAX_ACTIVATION_ELEMENTS);

/** A positive integer attribute (kernel size, stride, filters, units...). */
export function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_TENSOR_ELEMENTS)
    throw new ModelError(`${what} is ${JSON.stringify(v) ?? String(v)}; it must be a positive integer`);
  return v;
}

/** The elements all the constants of one import may hold together: a clear error naming the node beyond it. */
export class ElementBudget {
  private used = 0;
  constructor(private readonly limit = MAX_CONSTANT_ELEMENTS) {}
  take(elements: number, what: string): void {
    this.used += elements;
    if (this.used > this.limit)
      throw new ModelError(
        `${what}: the model's constants exceed ${this.limit} elements in total (the importer's limit)`,
      );
  }
}

/** The device runs one input and one output: anything else is refused at convert time, with the names. */
export function checkDeviceIo(inputs: readonly string[], outputs: readonly string[], model: string): void {
  for (const [what, names] of [
    ['input', inputs],
    ['output', outputs],
  ] as const)
    if (names.length !== 1)
      throw new ModelError(
        `${model} has ${names.length} ${what}s${names.length ? ` (${names.join(', ')})` : ''}; the device runs models with one input and one output`,
      );
}
