// `morsel workload`: starts or stops a board's workload mode (docs/protocol.md, WORKLOAD). The board then runs its
// model on the given inputs at the given rate by itself, so `morsel monitor` shows inferences, latency percentiles
// and memory on a board nobody is sending RUN requests to.

import { crc32 } from '../blob/crc32';
import { readBlobFile, verifyBlob } from '../blob/verify';
import type { QModel } from '../ir/qmodel';
import { MAX_PAYLOAD } from '../serial/protocol';
import { readInput } from './run';
import { baudOf, baudOption, connect, keyOf, keyOptions } from './serial-commands';
import type { Command } from './main';
import { UsageError } from './main';

/** "5", "5/s", "0.5/s", "30/min" → milliseconds between inferences. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|min))?$/.exec(text);
  const perSecond = m ? Number(m[1]) / (m[2] === 'min' ? 60 : 1) : Number.NaN;
  if (!(perSecond > 0 && perSecond <= 1000))
    throw new UsageError(`--rate ${text}: expected inferences per second like 5/s or 30/min (at most 1000/s)`);
  return Math.max(1, Math.round(1000 / perSecond));
}

/** "idx:0-4,x.npy" → idx:0 … idx:4, x.npy: each one model input (readInput's specs). */
export function inputSpecs(text: string): string[] {
  return text.split(',').flatMap((spec) => {
    const range = /^idx:(\d+)-(\d+)$/.exec(spec);
    if (!range) return [spec];
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from || to - from >= 256) throw new UsageError(`--inputs ${spec}: expected a range like idx:0-7`);
    return Array.from({ length: to - from + 1 }, (_, i) => `idx:${from + i}`);
  });
}

export const workloadCommand: Command = {
  summary: "run the board's model on stored inputs at a set rate, on the board itself (watch it with monitor)",
  usage:
    'morsel workload [model.msl] --port <path> (--inputs <idx:0-7|file|file.npy,...> --rate 5/s | --stop) [--key FILE | --insecure] [--baud 115200]',
  options: {
    port: { type: 'string' },
    inputs: { type: 'string' },
    rate: { type: 'string' },
    stop: { type: 'boolean' },
    ...baudOption,
    ...keyOptions,
  },
  async run({ values, positionals }) {
    const [file] = positionals;
    if (typeof values.port !== 'string') throw new UsageError(`missing --port\nusage: ${this.usage}`);
    const stop = values.stop === true;
    if (stop === (values.inputs !== undefined) || (!stop && values.rate === undefined))
      throw new UsageError(`give --inputs and --rate, or --stop\nusage: ${this.usage}`);
    const periodMs = stop ? 0 : parseRate(values.rate as string);
    const specs = stop ? [] : inputSpecs(values.inputs as string);
    const key = keyOf(values);
    const client = await connect(values.port, baudOf(values));
    try {
      let inputs: Int8Array[] = [];
      if (!stop) {
        const info = await client.helloWithRetry(3);
        if (!info.model)
          throw new UsageError(
            `the board on ${values.port} has no model: morsel flash --port ${values.port} model.msl`,
          );
        // The inputs are quantized with the board's model: the local file when it is that model, else the board's
        // own blob read back (its CRC checked against INFO).
        const local = file ? readBlobFile(file) : null;
        if (local && (crc32(local.bytes) !== info.model.crc || local.bytes.length !== info.model.size))
          throw new UsageError(`the board on ${values.port} runs another model than ${file}: flash it first`);
        const model: QModel = local?.model ?? verifyBlob(await client.readModel(info.model));
        inputs = specs.map((s) => readInput(s, model));
        const room = Math.floor((MAX_PAYLOAD - 4 - 32) / inputs[0].length);
        if (inputs.length > room)
          throw new UsageError(
            `${inputs.length} inputs of ${inputs[0].length} bytes: one WORKLOAD frame holds ${room}`,
          );
      }
      const held = await client.workload(periodMs, inputs, key);
      console.log(
        stop
          ? `workload stopped on ${values.port}`
          : `the board on ${values.port} runs ${held} inputs in turn, one inference every ${periodMs} ms: morsel monitor --port ${values.port}`,
      );
      return 0;
    } finally {
      await client.link.close();
    }
  },
};
