/** RESHAPE: same bytes, new shape. */
export function reshape(x: Int8Array, y: Int8Array): void {
  y.set(x);
}
