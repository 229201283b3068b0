// One worker process of `morsel fleet simulate`: many boards, each with its own engine instance, flash
// directory and MQTT connection, sharing the process's dataset and decoded-model cache. Driven over IPC by
// simulate.ts; killing the process is a power cut for all its boards.

import * as path from 'path';
import { loadFashionMnist } from '../data/fashion-mnist';
import { SimBoard, type SimEngine, type Workload } from './board';

export interface WorkerBoard {
  id: string;
  engine: SimEngine;
  group: string;
}

export interface WorkerConfig {
  brokerUrl: string;
  fleet: string;
  boards: WorkerBoard[];
  /** Flash directories live in storageRoot/<id>. */
  storageRoot: string;
  keyHex: string | null;
  rate: number;
  telemetryMs: number;
  factoryBlob: string | null;
  sampleBelow: number;
  samplesPerMinute: number;
  drift: number;
  datasetLimit: number;
}

export type ToWorker =
  | { type: 'start'; config: WorkerConfig }
  | { type: 'drift'; drift: number }
  | { type: 'power-cut'; ids: string[] }
  | { type: 'stop' };
export type FromWorker = { type: 'ready'; ids: string[] } | { type: 'error'; message: string } | { type: 'stopped' };

function workloadOf(limit: number): Workload {
  const ds = loadFashionMnist('test', limit);
  const size = ds.height * ds.width;
  const inputs: Float32Array[] = [];
  for (let i = 0; i < ds.count; i++)
    inputs.push(Float32Array.from(ds.images.subarray(i * size, (i + 1) * size), (v) => v / 255));
  return { inputs, labels: ds.labels };
}

async function main(): Promise<void> {
  const boards = new Map<string, SimBoard>();
  const send = (m: FromWorker) => process.send?.(m);
  process.on('message', async (m: ToWorker) => {
    try {
      if (m.type === 'start') {
        const c = m.config;
        const workload = workloadOf(c.datasetLimit);
        const factoryBlob = c.factoryBlob ? new Uint8Array(Buffer.from(c.factoryBlob, 'base64')) : undefined;
        for (const b of c.boards) {
          boards.set(
            b.id,
            await SimBoard.start({
              ...b,
              fleet: c.fleet,
              brokerUrl: c.brokerUrl,
              storageDir: path.join(c.storageRoot, b.id),
              key: c.keyHex ? new Uint8Array(Buffer.from(c.keyHex, 'hex')) : null,
              workload,
              rate: c.rate,
              telemetryMs: c.telemetryMs,
              factoryBlob,
              sampleBelow: c.sampleBelow,
              samplesPerMinute: c.samplesPerMinute,
              drift: c.drift,
            }),
          );
        }
        send({ type: 'ready', ids: [...boards.keys()] });
      } else if (m.type === 'drift') {
        for (const b of boards.values()) b.setDrift(m.drift);
      } else if (m.type === 'power-cut') {
        for (const id of m.ids) {
          await boards.get(id)?.stop(true);
          boards.delete(id);
        }
      } else if (m.type === 'stop') {
        await Promise.all([...boards.values()].map((b) => b.stop()));
        boards.clear();
        send({ type: 'stopped' });
        process.disconnect?.();
        process.exit(0);
      }
    } catch (e) {
      send({ type: 'error', message: (e as Error).message });
    }
  });
  process.on('disconnect', () => process.exit(0)); // the parent is gone
}

if (require.main === module) void main();
