// Telemetry monitor: asks the board for a telemetry period, shows each record as one live status line and
// appends it to a CSV or NDJSON log.

import * as fs from 'fs';
import type { DeviceClient } from './client';
import type { Telemetry } from './protocol';

export interface MonitorOptions {
  intervalMs: number;
  log?: { format: 'csv' | 'ndjson'; file: string };
  out: NodeJS.WritableStream & { isTTY?: boolean };
}

export const CSV_COLUMNS = [
  'host_time',
  't',
  'n',
  'ips',
  'p50_us',
  'p95_us',
  'free',
  'err_frame',
  'err_run',
  'err_commit',
  'err_boot',
] as const;

export function csvRow(t: Telemetry, hostTime: string): string {
  const e = t.errors;
  return [hostTime, t.t, t.n, t.ips.toFixed(3), t.p50_us, t.p95_us, t.free, e.frame, e.run, e.commit, e.boot].join(',');
}

export function statusLine(t: Telemetry): string {
  const e = t.errors;
  const errs = e.frame + e.run + e.commit + e.boot;
  return (
    `${t.ips.toFixed(1).padStart(7)} inf/s  p50 ${(t.p50_us / 1000).toFixed(2)} ms  p95 ${(t.p95_us / 1000).toFixed(2)} ms  ` +
    `free ${(t.free / 1024).toFixed(1)} KiB  total ${t.n}  errors ${errs}${errs ? ` (frame ${e.frame}, run ${e.run}, commit ${e.commit}, boot ${e.boot})` : ''}`
  );
}

export async function startMonitor(
  client: DeviceClient,
  o: MonitorOptions,
): Promise<{ stop(): Promise<number>; records: Telemetry[] }> {
  const records: Telemetry[] = [];
  const fd = o.log ? fs.openSync(o.log.file, 'w') : undefined;
  if (fd !== undefined && o.log!.format === 'csv') fs.writeSync(fd, CSV_COLUMNS.join(',') + '\n');
  let stopped = false;
  client.onTelemetry((t) => {
    if (stopped) return;
    records.push(t);
    const now = new Date().toISOString();
    if (fd !== undefined)
      fs.writeSync(fd, (o.log!.format === 'csv' ? csvRow(t, now) : JSON.stringify({ host_time: now, ...t })) + '\n');
    o.out.write(o.out.isTTY ? `\r${statusLine(t)}\x1b[K` : `${statusLine(t)}\n`);
  });
  await client.configure({ telemetry_ms: o.intervalMs });
  return {
    records,
    async stop() {
      stopped = true;
      if (fd !== undefined) fs.closeSync(fd);
      return records.length;
    },
  };
}
