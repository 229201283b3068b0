/** Element-wise int8 → int8 through a 256-entry table indexed by x + 128 (LOGISTIC, TANH, QUANTIZE, LEAKY_RELU). */
export function lookup(x: Int8Array, table: ArrayLike<number>, y: Int8Array): void {
  for (let i = 0; i < x.length; i++) y[i] = table[x[i] + 128];
}
