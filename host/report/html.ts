// `morsel report`: one self-contained HTML page (inline CSS and SVG, no scripts or external assets) from a
// compression record: accuracy vs size, the steps taken, per-layer bytes/MACs/sensitivity and float vs
// quantized confusion matrices. Blob sizes are those of the real blobs.

import type { CompressionRecord, ModelFigures } from '../compress/compression-json';
import { barsSvg, heatmapSvg, type Point, scatterSvg } from './svg';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const kb = (b: number) => `${+(b / 1000).toFixed(1)} kB`;

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderReport(r: CompressionRecord): string {
  const { baseline: b, compressed: c } = r.results;
  const fig = (label: string, f: (x: ModelFigures) => string) => [label, f(b), f(c)];
  const points: Point[] = [
    { x: 4 * b.params, y: 100 * b.floatTestAccuracy, label: 'baseline float32 weights', strong: true, color: '#555' },
    { x: b.blobBytes, y: 100 * b.int8TestAccuracy, label: 'baseline int8 blob', strong: true, color: '#1f77b4' },
    { x: c.blobBytes, y: 100 * c.int8TestAccuracy, label: 'compressed blob', strong: true, color: '#d62728' },
  ];
  const candidatePoints: Point[] = (r.results.candidates ?? []).map((k) => ({
    x: k.blobBytes,
    y: 100 * k.valAccuracy,
    label: `w${k.width}${k.depth === undefined ? '' : ` d${k.depth}`} s${k.sparsity} int${k.bits} (${k.macs} MACs)`,
    strong: k.pareto,
  }));
  const layers = r.results.layers;
  const sens = layers.filter((l) => l.sensitivity && Object.keys(l.sensitivity).length);
  const sections = [
    `<h1>Compression report: ${esc(r.source)}</h1>`,
    `<p class="cmd"><code>${esc(r.command)}</code></p>`,
    `<p>Accuracies on ${r.results.testImages} test images. <b>Blob</b> sizes are those of the real blobs (the compressed ` +
      `one is model.msl: weights packed at their bits and stored dense, as a bitmask, run lengths or CSR, whichever is ` +
      `smallest per layer); <b>dense int8 blob</b> is the same model with every weight stored dense at 8 bits. ` +
      `The <b>int8 reference</b> runs the blob bit-exactly like the device; <b>fake-quantized</b> accuracy simulates the ` +
      `chosen weight bits and int8 activations in float.</p>`,
    '<h2>Summary</h2>',
    table(
      ['', 'baseline', 'compressed'],
      [
        fig('float top-1', (x) => pct(x.floatTestAccuracy)),
        fig('int8 reference top-1', (x) => pct(x.int8TestAccuracy)),
        fig('fake-quantized top-1', (x) => pct(x.quantizedTestAccuracy)),
        fig('parameters', (x) => x.params.toLocaleString('en')),
        fig('MACs', (x) => x.macs.toLocaleString('en')),
        fig('blob', (x) => `${x.blobBytes} B`),
        fig('dense int8 blob', (x) => `${x.int8BlobBytes} B`),
        fig('float32 weights', (x) => `${4 * x.params} B`),
        fig('arena', (x) => `${x.arenaBytes} B`),
      ],
    ),
    ...(r.results.studentWithoutTeacher
      ? [
          `<p>The same student trained without the teacher (same seed and epochs): float top-1 ${pct(r.results.studentWithoutTeacher.floatTestAccuracy)}.</p>`,
        ]
      : []),
    '<h2>Accuracy vs size</h2>',
    scatterSvg(points, { xLabel: 'bytes', yLabel: 'test top-1 (%)', xFormat: kb, yFormat: (v) => v.toFixed(1) }),
    ...(candidatePoints.length
      ? [
          '<h2>Structure search</h2><p>Validation accuracy vs blob bytes; filled points are on the Pareto front of accuracy, bytes and MACs (hover for details).</p>',
          scatterSvg(candidatePoints, {
            xLabel: 'blob bytes',
            yLabel: 'validation top-1 (%)',
            xFormat: kb,
            yFormat: (v) => v.toFixed(1),
          }),
          table(
            ['width', 'depth', 'sparsity', 'bits', 'val top-1', 'blob bytes', 'MACs', 'params', 'Pareto'],
            r.results.candidates!.map((k) => [
              k.width,
              k.depth ?? '',
              k.sparsity,
              k.bits,
              pct(k.valAccuracy),
              k.blobBytes,
              k.macs,
              k.params,
              k.pareto ? 'yes' : '',
            ]),
          ),
        ]
      : []),
    '<h2>Steps</h2>',
    table(
      ['technique', 'detail', 'validation top-1', 'params', 'MACs', 'seconds'],
      r.steps.map((s) => [s.technique, s.detail, pct(s.valAccuracy), s.params, s.macs, s.seconds]),
    ),
    '<h2>Per layer</h2>',
    table(
      [
        'layer',
        'kind',
        'weights',
        'nonzero',
        'bits',
        'storage',
        'dense int8 bytes',
        'blob bytes',
        'MACs',
        'sensitivity 8/4/2 bits (pt)',
      ],
      layers.map((l) => [
        l.name,
        l.kind,
        l.weights,
        l.nonzero,
        l.bits,
        l.layout,
        l.int8Bytes,
        l.bytes,
        l.macs,
        l.sensitivity
          ? ['8', '4', '2']
              .map((k) => (l.sensitivity![k] === undefined ? '-' : (100 * l.sensitivity![k]).toFixed(2)))
              .join(' / ')
          : '',
      ]),
    ),
    barsSvg(
      layers.map((l) => ({ label: l.name, values: [l.int8Bytes, l.bytes] })),
      ['dense int8 bytes', 'blob bytes'],
    ),
    barsSvg(
      layers.map((l) => ({ label: l.name, values: [l.macs] })),
      ['MACs'],
      { format: (v) => v.toLocaleString('en') },
    ),
    ...(sens.length
      ? [
          "<p>Sensitivity: validation accuracy lost when only this layer's weights are fake-quantized.</p>",
          barsSvg(
            sens.map((l) => ({ label: l.name, values: ['8', '4', '2'].map((k) => 100 * (l.sensitivity![k] ?? 0)) })),
            ['int8', 'int4', 'int2'],
            { format: (v) => `${v.toFixed(2)} pt` },
          ),
        ]
      : []),
    '<h2>Confusion matrices</h2>',
    `<div class="row">${heatmapSvg(r.results.confusion.float, r.results.classes, `compressed, float: ${pct(c.floatTestAccuracy)}`)}` +
      `${heatmapSvg(r.results.confusion.int8, r.results.classes, `compressed, int8 reference: ${pct(c.int8TestAccuracy)}`)}` +
      `${heatmapSvg(r.results.confusion.quantized, r.results.classes, `compressed, fake-quantized: ${pct(c.quantizedTestAccuracy)}`)}</div>`,
    '<h2>Per-layer decisions (compression.json)</h2>',
    table(
      ['layer', 'bits', 'sparsity', 'storage', 'bytes'],
      Object.entries(r.layers).map(([n, l]) => [n, l.bits, l.sparsity, l.layout, l.bytes]),
    ),
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Morsel compression report: ${esc(r.source)}</title>
<style>
body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}.cmd code{background:#f6f6f6;padding:4px;display:block;white-space:pre-wrap}
.row{display:flex;flex-wrap:wrap;gap:1em}svg{margin:0.5em 0}
</style></head><body>
${sections.join('\n')}
</body></html>
`;
}
