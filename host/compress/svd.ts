// Singular value decomposition by one-sided Jacobi rotations (Hestenes): columns of A are rotated pairwise
// until mutually orthogonal; then A·V = U·Σ. Float64, accurate to rounding for the small matrices here.

interface Svd {
  /** m × k, row-major. */
  u: Float64Array;
  /** k singular values, descending. */
  s: Float64Array;
  /** n × k, row-major (A = U·diag(s)·Vᵀ). */
  v: Float64Array;
  k: number;
}

/** SVD of the row-major m × n matrix `a`, k = min(m, n). */
export function svd(a: ArrayLike<number>, m: number, n: number): Svd {
  if (m < n) {
    const t = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
    const r = svd(t, n, m);
    return { u: r.v, s: r.s, v: r.u, k: r.k };
  }
  // Work on columns: cols[j] is column j of A (length m); vcols[j] is column j of V (length n).
  const cols = Array.from({ length: n }, (_, j) => Float64Array.from({ length: m }, (_, i) => a[i * n + j]));
  const vcols = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return e;
  });
  const dot = (x: Float64Array, y: Float64Array) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * y[i];
    return s;
  };
  const rotate = (x: Float64Array, y: Float64Array, c: number, s: number) => {
    for (let i = 0; i < x.length; i++) {
      const xi = x[i];
      const yi = y[i];
      x[i] = c * xi - s * yi;
      y[i] = s * xi + c * yi;
    }
  };
  const norms = cols.map((c) => dot(c, c));
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = norms[p];
        const beta = norms[q];
        const gamma = dot(cols[p], cols[q]);
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(cols[p], cols[q], c, s);
        rotate(vcols[p], vcols[q], c, s);
        norms[p] = dot(cols[p], cols[p]);
        norms[q] = dot(cols[q], cols[q]);
      }
    }
    if (!rotated) break;
  }
  const order = Array.from(cols.keys()).sort((i, j) => norms[j] - norms[i]);
  const k = n;
  const u = new Float64Array(m * k);
  const s = new Float64Array(k);
  const v = new Float64Array(n * k);
  order.forEach((j, r) => {
    const sigma = Math.sqrt(norms[j]);
    s[r] = sigma;
    for (let i = 0; i < m; i++) u[i * k + r] = sigma > 0 ? cols[j][i] / sigma : 0;
    for (let i = 0; i < n; i++) v[i * k + r] = vcols[j][i];
  });
  return { u, s, v, k };
}

/** Smallest rank whose singular values keep at least `energy` of Σσ². */
export function rankForEnergy(s: ArrayLike<number>, energy: number): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i] * s[i];
  let acc = 0;
  for (let r = 0; r < s.length; r++) {
    acc += s[r] * s[r];
    if (acc >= energy * total * (1 - 1e-12)) return r + 1;
  }
  return s.length;
}
