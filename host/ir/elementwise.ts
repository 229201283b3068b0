// Element-wise functions of one activation, as expression trees over its value 'x' (IR kind 'elementwise'). The
// importers write one function per op; host/passes/fuse-elementwise.ts composes a chain of them on one activation
// into one tree, and the quantizer tabulates the tree over the 256 int8 inputs (one rounding for the whole chain).

/** A function's name and its arity: arguments are sub-expressions, or numbers for its constant parameters. */
export const ELEMENTWISE_FNS = {
  add: 2,
  sub: 2,
  mul: 2,
  div: 2,
  pow: 2,
  max: 2,
  min: 2,
  abs: 1,
  neg: 1,
  exp: 1,
  log: 1,
  sqrt: 1,
  reciprocal: 1,
  erf: 1,
  sigmoid: 1,
  tanh: 1,
  relu: 1,
  softplus: 1,
  softsign: 1,
  sign: 1,
  floor: 1,
  ceil: 1,
  round: 1,
  hard_swish: 1,
  /** x, alpha */
  elu: 2,
  /** x, alpha */
  celu: 2,
  /** x, alpha */
  leaky_relu: 2,
  /** x, alpha (x where x > alpha, else 0) */
  thresholded_relu: 2,
  /** x, alpha, gamma */
  selu: 3,
  /** x, alpha, beta */
  hard_sigmoid: 3,
  /** x, min, max */
  clip: 3,
  /** x, bias, lambd */
  shrink: 3,
  /** x, 0 (exact, with erf) or 1 (the tanh approximation) */
  gelu: 2,
} as const;
export type ElementwiseFn = keyof typeof ELEMENTWISE_FNS;

export type Expr = 'x' | number | { f: ElementwiseFn; args: Expr[] };

/** erf to about 1e-15 relative (Abramowitz–Stegun 7.1.26 is 1e-7; a series and a continued fraction do better). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    // Maclaurin series: erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)).
    let term = a,
      sum = a;
    for (let n = 1; n < 60 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  if (a > 6) return Math.sign(x);
  // erfc x = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + …))))), evaluated from the tail.
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (a + f);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

const FNS: { [F in ElementwiseFn]: (a: number, b: number, c: number) => number } = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  max: (a, b) => Math.max(a, b),
  min: (a, b) => Math.min(a, b),
  abs: Math.abs,
  neg: (a) => -a,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  reciprocal: (a) => 1 / a,
  erf,
  sigmoid,
  tanh: Math.tanh,
  relu: (a) => Math.max(0, a),
  softplus: (a) => (a > 30 ? a : Math.log1p(Math.exp(a))),
  softsign: (a) => a / (1 + Math.abs(a)),
  sign: Math.sign,
  floor: Math.floor,
  ceil: Math.ceil,
  // ONNX Round: half to even.
  round: (a) => {
    const r = Math.round(a);
    return r - a === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  hard_swish: (a) => (a * Math.min(6, Math.max(0, a + 3))) / 6,
  elu: (a, alpha) => (a >= 0 ? a : alpha * Math.expm1(a)),
  celu: (a, alpha) => Math.max(0, a) + Math.min(0, alpha * Math.expm1(a / alpha)),
  leaky_relu: (a, alpha) => (a >= 0 ? a : alpha * a),
  thresholded_relu: (a, alpha) => (a > alpha ? a : 0),
  selu: (a, alpha, gamma) => gamma * (a > 0 ? a : alpha * Math.expm1(a)),
  hard_sigmoid: (a, alpha, beta) => Math.max(0, Math.min(1, alpha * a + beta)),
  clip: (a, lo, hi) => Math.min(hi, Math.max(lo, a)),
  shrink: (a, bias, lambd) => (a < -lambd ? a + bias : a > lambd ? a - bias : 0),
  gelu: (a, tanhApprox) =>
    tanhApprox
      ? 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a)))
      : 0.5 * a * (1 + erf(a / Math.SQRT2)),
};

/** The expression's value at x (in double precision). */
export function evalExpr(e: Expr, x: number): number {
  if (e === 'x') return x;
  if (typeof e === 'number') return e;
  const [a, b, c] = e.args.map((arg) => evalExpr(arg, x));
  return FNS[e.f](a, b ?? 0, c ?? 0);
}

/** `f(x, …params)`: one function applied to x. */
export const applied = (f: ElementwiseFn, ...params: number[]): Expr => ({ f, args: ['x', ...params] });

/** e with every 'x' replaced by `inner` (the composition e ∘ inner). */
export function compose(e: Expr, inner: Expr): Expr {
  if (e === 'x') return inner;
  if (typeof e === 'number') return e;
  return { f: e.f, args: e.args.map((a) => compose(a, inner)) };
}

/** A readable form for messages and `inspect`, e.g. mul(x, hard_sigmoid(x, 0.1667, 0.5)). */
export function exprText(e: Expr): string {
  if (e === 'x') return 'x';
  if (typeof e === 'number') return String(Number(e.toPrecision(4)));
  return `${e.f}(${e.args.map(exprText).join(', ')})`;
}

export const sameExpr = (a: Expr, b: Expr): boolean => JSON.stringify(a) === JSON.stringify(b);
