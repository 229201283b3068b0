// `morsel fleet simulate`: N boards spread over a few worker processes (sim-worker.ts), as 2 cores need:
// every board keeps its own engine, agent state, flash directory and MQTT connection; a worker only shares
// the process, the dataset and decoded models. A worker can be killed (a power cut for its boards) and
// started again on the same flash directories.

import { type ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SimEngine } from './board';
import type { FromWorker, ToWorker, WorkerBoard, WorkerConfig } from './sim-worker';

export interface SimulationOptions {
  brokerUrl: string;
  fleet: string;
  devices: number;
  /** Boards take these engines in turn. */
  engines: SimEngine[];
  workers?: number;
  storageRoot?: string;
  factoryBlob?: Uint8Array;
  key: Uint8Array | null;
  /** Inferences per second per board. */
  rate?: number;
  telemetryMs?: number;
  group?: string;
  /** Board ids are `${prefix}${index}`. */
  prefix?: string;
  sampleBelow?: number;
  samplesPerMinute?: number;
  drift?: number;
  datasetLimit?: number;
}

export class Simulation {
  readonly storageRoot: string;
  private procs: (ChildProcess | null)[] = [];
  readonly plan: WorkerBoard[][];
  private readonly ownsStorage: boolean;

  private constructor(private readonly o: SimulationOptions) {
    this.ownsStorage = !o.storageRoot;
    this.storageRoot = o.storageRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-fleet-sim-'));
    const workers = Math.max(1, Math.min(o.workers ?? Math.max(1, os.cpus().length), o.devices));
    const prefix = o.prefix ?? 'sim-';
    const width = String(o.devices - 1).length;
    this.plan = Array.from({ length: workers }, () => []);
    for (let i = 0; i < o.devices; i++) {
      this.plan[i % workers].push({
        id: `${prefix}${String(i).padStart(width, '0')}`,
        engine: o.engines[i % o.engines.length],
        group: o.group ?? 'sim',
      });
    }
  }

  static async start(o: SimulationOptions): Promise<Simulation> {
    const sim = new Simulation(o);
    try {
      await Promise.all(sim.plan.map((_, i) => sim.startWorker(i)));
    } catch (e) {
      await sim.stop();
      throw e;
    }
    return sim;
  }

  get ids(): string[] {
    return this.plan.flat().map((b) => b.id);
  }

  private config(i: number): WorkerConfig {
    const o = this.o;
    return {
      brokerUrl: o.brokerUrl,
      fleet: o.fleet,
      boards: this.plan[i],
      storageRoot: this.storageRoot,
      keyHex: o.key ? Buffer.from(o.key).toString('hex') : null,
      rate: o.rate ?? 2,
      telemetryMs: o.telemetryMs ?? 1000,
      factoryBlob: o.factoryBlob ? Buffer.from(o.factoryBlob).toString('base64') : null,
      sampleBelow: o.sampleBelow ?? 0,
      samplesPerMinute: o.samplesPerMinute ?? 6,
      drift: o.drift ?? 0,
      datasetLimit: o.datasetLimit ?? 1000,
    };
  }

  /** Starts (or restarts, on the same flash) worker i; resolves when all its boards are online. */
  async startWorker(i: number): Promise<void> {
    const ext = path.extname(__filename);
    const child = fork(path.join(__dirname, `sim-worker${ext}`), [], {
      execArgv: ext === '.ts' ? ['--require', 'tsx/cjs'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.procs[i] = child;
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`simulation worker ${i} exited (${code}) while starting`));
      child.once('exit', onExit);
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          child.off('exit', onExit);
          resolve();
        } else if (m.type === 'error') reject(new Error(`simulation worker ${i}: ${m.message}`));
      });
      child.send({ type: 'start', config: this.config(i) } satisfies ToWorker);
    });
  }

  /** Power cut: SIGKILL worker i, all its boards at once (flash stays). */
  async killWorker(i: number): Promise<void> {
    const p = this.procs[i];
    this.procs[i] = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
  }

  setDrift(drift: number): void {
    for (const p of this.procs) p?.send({ type: 'drift', drift } satisfies ToWorker);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (!p || p.exitCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.send({ type: 'stop' } satisfies ToWorker);
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }),
    );
    this.procs = [];
    if (this.ownsStorage) fs.rmSync(this.storageRoot, { recursive: true, force: true });
  }
}
