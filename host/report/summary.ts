// The terminal summary of a compression record: baseline vs compressed, then per layer.

import type { CompressionRecord, ModelFigures } from '../compress/compression-json';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const pt = (a: number, b: number) => `${100 * (a - b) >= 0 ? '+' : ''}${(100 * (a - b)).toFixed(2)} pt`;

export function terminalSummary(r: CompressionRecord): string {
  const { baseline: b, compressed: c } = r.results;
  const row = (label: string, f: (x: ModelFigures) => string) =>
    `${label.padEnd(28)} ${f(b).padStart(12)} ${f(c).padStart(12)}`;
  const lines = [
    `${r.source} → compressed (${r.results.testImages} test images)`,
    `${''.padEnd(28)} ${'baseline'.padStart(12)} ${'compressed'.padStart(12)}`,
    row('float top-1', (x) => pct(x.floatTestAccuracy)),
    row('int8 reference top-1', (x) => pct(x.int8TestAccuracy)),
    row('fake-quantized top-1', (x) => pct(x.quantizedTestAccuracy)),
    row('params', (x) => String(x.params)),
    row('MACs', (x) => String(x.macs)),
    row('blob bytes', (x) => String(x.blobBytes)),
    row('dense int8 blob bytes', (x) => String(x.int8BlobBytes)),
    row('float32 weight bytes', (x) => String(4 * x.params)),
    row('arena bytes', (x) => String(x.arenaBytes)),
    `Δ float ${pt(c.floatTestAccuracy, b.floatTestAccuracy)}, Δ int8 ${pt(c.int8TestAccuracy, b.int8TestAccuracy)}; ` +
      `MACs ×${(b.macs / c.macs).toFixed(2)} fewer, params ×${(b.params / c.params).toFixed(2)} fewer, blob ×${(b.blobBytes / c.blobBytes).toFixed(2)} smaller ` +
      `(×${(c.int8BlobBytes / c.blobBytes).toFixed(2)} vs its dense int8 blob, ×${((4 * b.params) / c.blobBytes).toFixed(1)} vs the float32 weights)`,
  ];
  if (r.results.studentWithoutTeacher)
    lines.push(`same student without the teacher: float ${pct(r.results.studentWithoutTeacher.floatTestAccuracy)}`);
  lines.push(
    '',
    `${'layer'.padEnd(14)} ${'weights'.padStart(8)} ${'nonzero'.padStart(8)} bits ${'storage'.padEnd(12)} ${'bytes'.padStart(8)} ${'MACs'.padStart(8)}  sensitivity (val drop at 8/4/2 bits)`,
  );
  for (const l of r.results.layers) {
    const s = l.sensitivity
      ? ['8', '4', '2']
          .map((k) => (l.sensitivity![k] === undefined ? '-' : `${(100 * l.sensitivity![k]).toFixed(1)}`))
          .join('/')
      : '';
    lines.push(
      `${l.name.padEnd(14)} ${String(l.weights).padStart(8)} ${String(l.nonzero).padStart(8)} ${String(l.bits).padStart(4)} ${l.layout.padEnd(12)} ${String(l.bytes).padStart(8)} ${String(l.macs).padStart(8)}  ${s} pt`,
    );
  }
  if (r.results.candidates) {
    const front = r.results.candidates.filter((c) => c.pareto).sort((a, b) => a.blobBytes - b.blobBytes);
    lines.push('', `search: ${r.results.candidates.length} candidates, Pareto front (accuracy vs blob bytes vs MACs):`);
    for (const c of front)
      lines.push(
        `  width ${c.width}${c.depth === undefined ? '' : ` depth ${c.depth}`} sparsity ${c.sparsity} int${c.bits}: val ${pct(c.valAccuracy)}, ${c.blobBytes} B, ${c.macs} MACs`,
      );
  }
  return lines.join('\n');
}
