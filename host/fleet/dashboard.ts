// The fleet dashboard: one self-contained page (inline SVG, no scripts, no CDN) with, per model version, the
// latency histogram, the class histogram and the top-1 confidence histogram, and a table of the devices.

import { FASHION_MNIST_CLASSES } from '../data/fashion-mnist';
import type { FleetStatus, ModelStatus } from './store';
import { crcHex } from './topics';

/** Plot colours (the browser test looks for them in a screenshot). */
export const PLOT_COLOURS = { latency: '#1f77b4', classes: '#2ca02c', confidence: '#ff7f0e' } as const;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function bars(title: string, values: number[], labels: string[], colour: string, kind: string): string {
  const w = 360;
  const h = 180;
  const pad = 28;
  const max = Math.max(1, ...values);
  const bw = (w - pad * 2) / Math.max(1, values.length);
  const rects = values
    .map((v, i) => {
      const bh = ((h - pad * 2) * v) / max;
      return `<rect x="${(pad + i * bw + 1).toFixed(1)}" y="${(h - pad - bh).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colour}"><title>${esc(labels[i] ?? '')}: ${v}</title></rect>`;
    })
    .join('');
  const first = labels[0] ?? '';
  const last = labels[labels.length - 1] ?? '';
  return `<figure class="plot" data-plot="${kind}"><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#444"/>${rects}
<text x="${pad}" y="${h - 8}" font-size="10">${esc(first)}</text><text x="${w - pad}" y="${h - 8}" font-size="10" text-anchor="end">${esc(last)}</text>
<text x="${pad}" y="14" font-size="10">max ${max}</text></svg></figure>`;
}

function modelSection(m: ModelStatus): string {
  const f = (v: number | null) => (v === null ? '–' : v.toFixed(2));
  const classNames = m.classes.map((_, i) => FASHION_MNIST_CLASSES[i] ?? `class ${i}`);
  return `<section class="model" data-crc="${crcHex(m.model_crc)}"><h2>model ${crcHex(m.model_crc)}</h2>
<p>${m.devices} devices, ${m.inferences} inferences, latency p50 ${f(m.latency_p50_ms)} ms · p95 ${f(m.latency_p95_ms)} ms · p99 ${f(m.latency_p99_ms)} ms, ${m.run_errors} run errors, mean confidence ${m.mean_confidence === null ? '–' : m.mean_confidence.toFixed(3)}</p>
<div class="plots">${bars(
    'latency (ms)',
    m.latency_hist,
    m.latency_bins_ms.map((e) => `≤ ${e.toFixed(2)} ms`),
    PLOT_COLOURS.latency,
    'latency',
  )}
${bars('top-1 class', m.classes, classNames, PLOT_COLOURS.classes, 'classes')}
${bars(
  'top-1 confidence',
  m.confidence,
  m.confidence.map((_, i) => `${(i / m.confidence.length).toFixed(1)}–${((i + 1) / m.confidence.length).toFixed(1)}`),
  PLOT_COLOURS.confidence,
  'confidence',
)}</div></section>`;
}

export function renderDashboard(fleet: string, s: FleetStatus): string {
  const rows = s.devices
    .map(
      (d) =>
        `<tr><td>${esc(d.id)}</td><td>${esc(d.group ?? '')}</td><td>${esc(d.engine ?? '')}</td><td>${d.online ? 'online' : 'offline'}</td><td>${d.model_crc === null ? '–' : crcHex(d.model_crc)}</td><td>${d.inferences}</td><td>${d.latency_p95_ms ?? '–'}</td><td>${d.errors}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Morsel fleet ${esc(fleet)}</title>
<style>body{font:14px system-ui,sans-serif;margin:16px;background:#fff;color:#111}.plots{display:flex;gap:12px;flex-wrap:wrap}
figure{margin:0}figcaption{font-weight:600}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>Morsel fleet <code>${esc(fleet)}</code></h1>
<p>${s.devices.length} devices (${s.devices.filter((d) => d.online).length} online), ${s.telemetry.reports} telemetry reports (end-to-end p95 ${s.telemetry.lag_p95_ms?.toFixed(1) ?? '–'} ms), ${s.samples} hard samples, ${s.rejected} rejected payloads</p>
${s.models.map(modelSection).join('\n')}
<h2>devices</h2><table><thead><tr><th>id</th><th>group</th><th>engine</th><th>state</th><th>model</th><th>inferences</th><th>p95 ms</th><th>errors</th></tr></thead><tbody>
${rows}</tbody></table></body></html>`;
}
