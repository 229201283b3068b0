// Inline SVG charts for the HTML report: scatter plots, horizontal bars and heat maps, no external assets.

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface Point {
  x: number;
  y: number;
  label: string;
  /** Highlighted (drawn filled and labelled). */
  strong?: boolean;
  color?: string;
}

function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / count));
  const nice = [1, 2, 5, 10].map((f) => f * step).find((s) => span / s <= count) ?? 10 * step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9; v += nice) out.push(+v.toPrecision(12));
  return out;
}

export function scatterSvg(
  points: Point[],
  opts: {
    xLabel: string;
    yLabel: string;
    width?: number;
    height?: number;
    xFormat?: (v: number) => string;
    yFormat?: (v: number) => string;
  },
): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const m = { l: 64, r: 16, t: 16, b: 48 };
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const pad = (lo: number, hi: number) => {
    const d = (hi - lo || Math.abs(hi) || 1) * 0.08;
    return [lo - d, hi + d];
  };
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const fx = opts.xFormat ?? String;
  const fy = opts.yFormat ?? String;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
  ];
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="#fafafa" stroke="#ccc"/>`,
  );
  for (const t of ticks(x0, x1))
    parts.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/><text x="${sx(t)}" y="${H - m.b + 14}" text-anchor="middle">${esc(fx(t))}</text>`,
    );
  for (const t of ticks(y0, y1))
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/><text x="${m.l - 4}" y="${sy(t) + 4}" text-anchor="end">${esc(fy(t))}</text>`,
    );
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  // Labels of highlighted points: left of the point near the right edge, nudged up past earlier labels.
  const placed: [number, number][] = [];
  for (const p of points) {
    const c = p.color ?? (p.strong ? '#d62728' : '#1f77b4');
    const x = sx(p.x);
    const y = sy(p.y);
    parts.push(
      `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${p.strong ? 5 : 3.5}" fill="${p.strong ? c : 'none'}" stroke="${c}"><title>${esc(p.label)}</title></circle>`,
    );
    if (!p.strong) continue;
    const left = x > W - m.r - 150;
    const lx = left ? x - 7 : x + 7;
    let ly = y - 6;
    while (placed.some(([px, py]) => Math.abs(px - lx) < 150 && Math.abs(py - ly) < 12)) ly -= 12;
    placed.push([lx, ly]);
    parts.push(
      `<text x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" fill="${c}" text-anchor="${left ? 'end' : 'start'}">${esc(p.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

interface Bar {
  label: string;
  values: number[];
}

/** Grouped horizontal bars: one row per bar, one colour per series. */
export function barsSvg(
  bars: Bar[],
  series: string[],
  opts: { width?: number; format?: (v: number) => string } = {},
): string {
  const W = opts.width ?? 640;
  const row = 14 * series.length + 10;
  const H = 24 + bars.length * row;
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  const left = 110;
  const max = Math.max(1e-12, ...bars.flatMap((b) => b.values.map(Math.abs)));
  const f = opts.format ?? String;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
  ];
  series.forEach((s, k) =>
    parts.push(
      `<rect x="${left + k * 130}" y="4" width="10" height="10" fill="${colors[k % colors.length]}"/><text x="${left + k * 130 + 14}" y="13">${esc(s)}</text>`,
    ),
  );
  bars.forEach((b, i) => {
    const y = 24 + i * row;
    parts.push(`<text x="${left - 6}" y="${y + row / 2}" text-anchor="end">${esc(b.label)}</text>`);
    b.values.forEach((v, k) => {
      const w = (Math.abs(v) / max) * (W - left - 90);
      parts.push(
        `<rect x="${left}" y="${y + k * 14}" width="${w.toFixed(1)}" height="12" fill="${colors[k % colors.length]}"><title>${esc(`${b.label} ${series[k]}: ${f(v)}`)}</title></rect>`,
      );
      parts.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + k * 14 + 10}">${esc(f(v))}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Confusion matrix counts[label][predicted] as a heat map, row-normalised colours, counts printed. */
export function heatmapSvg(counts: number[][], labels: string[], title: string): string {
  const n = counts.length;
  const cell = 30;
  const left = 90;
  const top = 40;
  const W = left + n * cell + 50;
  const H = top + n * cell + 70;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`,
  ];
  parts.push(
    `<text x="${left}" y="14" font-size="12" font-weight="bold">${esc(title)}</text><text x="${left}" y="30">rows: true class, columns: predicted</text>`,
  );
  counts.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    parts.push(
      `<text x="${left - 4}" y="${top + i * cell + cell / 2 + 3}" text-anchor="end">${esc(labels[i] ?? String(i))}</text>`,
    );
    row.forEach((v, j) => {
      const a = v / total;
      const fill = i === j ? `rgba(44,160,44,${a.toFixed(3)})` : `rgba(214,39,40,${Math.min(1, 4 * a).toFixed(3)})`;
      parts.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"><title>${esc(`${labels[i]} → ${labels[j]}: ${v}`)}</title></rect>`,
      );
      if (v)
        parts.push(
          `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 3}" text-anchor="middle">${v}</text>`,
        );
    });
  });
  labels.forEach((l, j) =>
    parts.push(
      `<text transform="translate(${left + j * cell + cell / 2 + 3} ${top + n * cell + 4}) rotate(60)" font-size="9">${esc(l)}</text>`,
    ),
  );
  parts.push('</svg>');
  return parts.join('');
}
