// Commands that talk to a board over a serial port: devices, flash, monitor, emulate, and the helper
// behind `morsel run --port`. Timeouts assume a real 115200-baud link unless --baud says otherwise.

import { memoryWarnings, targetForBoard } from '../memory/cost-model';
import { SerialPort } from 'serialport';
import { crc32 } from '../blob/crc32';
import { readBlobFile, verifyBlob } from '../blob/verify';
import type { QModel } from '../ir/qmodel';
import { defaultKeyFile, formatKey, generateKey, resolveKey, writeKeyFile } from '../serial/auth';
import { DeviceClient } from '../serial/client';
import { BOARD_ENGINES, Emulator, KEY_FILE } from '../serial/emulator';
import { MQTT_CHOICE_FILE, mqttChoice } from '../fleet/firmware-mqtt';
import { DEFAULT_FLEET } from '../fleet/topics';
import { espruinoInstallFiles, replAnswers, uploadViaRepl } from '../serial/espruino-install';
import { BoardError } from '../serial/protocol';
import { SerialLink } from '../serial/link';
import { isShared, PortShare, SocketLink, sharePath } from '../serial/port-share';
import { startMonitor } from '../serial/monitor';
import { Progress } from '../util/progress';
import { parseChoice } from './convert';
import type { Command } from './main';
import { UsageError } from './main';

export const baudOption = { baud: { type: 'string' } } as const;
export const keyOptions = { key: { type: 'string' }, insecure: { type: 'boolean' } } as const;

/** The upload key from --key FILE or the default key file; null only with --insecure. */
export const keyOf = (values: Record<string, unknown>) =>
  resolveKey({ keyFile: values.key as string | undefined, insecure: values.insecure === true });

export function baudOf(values: Record<string, unknown>): number {
  const baud = values.baud === undefined ? 115200 : Number(values.baud);
  if (!(baud >= 300 && baud <= 12_000_000)) throw new UsageError(`--baud ${values.baud}: expected a rate like 115200`);
  return baud;
}

function needPort(values: Record<string, unknown>, usage: string): string {
  if (typeof values.port !== 'string')
    throw new UsageError(
      `missing --port (ports cannot always be listed; emulated boards live on ptys)\nusage: ${usage}`,
    );
  return values.port;
}

/**
 * A protocol client sized for the port's baud rate (8N1: 10 bits a byte): through `morsel monitor`'s connection
 * when a monitor owns the port (host/serial/port-share.ts), else on the port itself.
 */
export async function connect(port: string, baud = 115200): Promise<DeviceClient> {
  const link =
    (await SocketLink.connect(sharePath(port))) ??
    (await SerialLink.open(port, { baudRate: baud, bytesPerSecond: baud / 10 }));
  return new DeviceClient(link, { bytesPerSecond: baud / 10 });
}

/**
 * `morsel run --port`: one inference on the board, with its per-layer microseconds. With `blob`, the board's
 * model must be that blob (INFO's CRC and size), since its answer is read with that blob's scales and names.
 * Without it, the board's blob is read back (`model`), and `input` may be a function of it (the input file is
 * quantized with the board's input scale).
 */
export async function runOnPort(
  port: string,
  input: Int8Array | ((model: QModel) => Int8Array),
  baud = 115200,
  blob?: Uint8Array,
): Promise<{ output: Int8Array; layer_us: number[]; total_us: number; model: QModel | null }> {
  const client = await connect(port, baud);
  try {
    const info = await client.helloWithRetry(3);
    if (!info.model) throw new UsageError(`the board on ${port} has no model: morsel flash --port ${port} model.msl`);
    if (blob && (info.model.crc !== crc32(blob) || info.model.size !== blob.length))
      throw new UsageError(
        `the board on ${port} runs another model (crc32 ${hex8(info.model.crc)}, ${info.model.size} bytes) than this blob ` +
          `(crc32 ${hex8(crc32(blob))}, ${blob.length} bytes): flash it first, or leave out the local file`,
      );
    // Without a local file the board's own blob is read back (its CRC checked against INFO) for its
    // quantization, output scale and layer names, and verified as any blob the host reads.
    const model = blob ? null : verifyBlob(await client.readModel(info.model));
    const x = typeof input === 'function' ? input(model!) : input;
    const outputs = info.model.output.reduce((a, b) => a * b, 1);
    const r = await client.run(x, 10000, outputs);
    return { output: Int8Array.from(r.y), layer_us: r.layer_us, total_us: r.total_us, model };
  } finally {
    await client.link.close();
  }
}

export const devicesCommand: Command = {
  summary: 'list serial ports (best effort: needs udevadm, never shows ptys)',
  usage: 'morsel devices',
  options: {},
  async run() {
    let ports: Awaited<ReturnType<typeof SerialPort.list>>;
    try {
      ports = await SerialPort.list();
    } catch (e) {
      console.log(`cannot list serial ports here (${(e as Error).message}); pass the device path with --port`);
      return 0;
    }
    if (!ports.length)
      console.log('no serial ports found; emulated boards (morsel emulate) are ptys and are not listed');
    for (const p of ports)
      console.log(
        `${p.path}\t${[p.manufacturer, p.vendorId && `${p.vendorId}:${p.productId}`, p.serialNumber].filter(Boolean).join('  ')}`,
      );
    return 0;
  },
};

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

export const keygenCommand: Command = {
  summary: 'create the key that authenticates uploads to boards (installed with the agent, used by flash)',
  usage: `morsel keygen [-o FILE (default ${defaultKeyFile()})] [--force]`,
  options: { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
  async run({ values }) {
    const file = (values.output as string | undefined) ?? defaultKeyFile();
    writeKeyFile(file, generateKey(), values.force === true);
    console.log(`wrote ${file} (keep it secret: whoever has it can replace the model on your boards)`);
    return 0;
  },
};

export const flashCommand: Command = {
  summary: 'upload a blob to a board over serial, verify it there and make it the active model',
  usage:
    'morsel flash --port <path> <model.msl> [--key FILE | --insecure] [--target espruino [--mqtt mqtt://HOST[:PORT] [--fleet F] [--group G]]] [--serial Serial1] [--baud 115200]',
  options: {
    port: { type: 'string' },
    target: { type: 'string' },
    serial: { type: 'string' },
    mqtt: { type: 'string' },
    fleet: { type: 'string' },
    group: { type: 'string' },
    ...baudOption,
    ...keyOptions,
  },
  async run({ values, positionals }) {
    const port = needPort(values, this.usage);
    const [file] = positionals;
    if (!file) throw new UsageError(`missing <model.msl>\nusage: ${this.usage}`);
    const { bytes: blob, model } = readBlobFile(file); // a blob the board would refuse never goes on the wire
    const key = keyOf(values);
    const target = parseChoice('--target', values.target, ['agent', 'espruino'] as const, 'agent');
    const baud = baudOf(values);
    if (values.mqtt !== undefined && target !== 'espruino')
      throw new UsageError('--mqtt is chosen at install: use it with --target espruino');
    let mqttFile: { name: string; content: Buffer } | null = null;
    if (typeof values.mqtt === 'string') {
      const fleet = (values.fleet as string | undefined) ?? DEFAULT_FLEET;
      const group = (values.group as string | undefined) ?? 'boards';
      try {
        mqttFile = { name: MQTT_CHOICE_FILE, content: Buffer.from(mqttChoice(values.mqtt, fleet, group), 'latin1') };
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (target === 'espruino') {
      if (await isShared(port))
        throw new UsageError(`a morsel monitor owns ${port}: stop it first (the install talks to the board's REPL)`);
      const link = await SerialLink.open(port, { baudRate: baud, bytesPerSecond: baud / 10 });
      const files = espruinoInstallFiles((values.serial as string | undefined) ?? 'Serial1');
      if (key) files.push({ name: KEY_FILE, content: Buffer.from(formatKey(key), 'latin1') });
      // The agent then joins the fleet on the board's own network (docs/fleet.md); the UART keeps answering.
      if (mqttFile) files.push(mqttFile);
      const bar = new Progress(
        'install runtime+agent',
        files.reduce((n, f) => n + f.content.length, 0),
        'B',
      );
      let last = 0;
      try {
        await uploadViaRepl(link, files, {
          onProgress: (sent) => {
            bar.tick(sent - last);
            last = sent;
          },
        });
      } finally {
        await link.close();
      }
      bar.done();
      await new Promise((r) => setTimeout(r, 1500)); // load() reboots the JS interpreter
    }
    const client = await connect(port, baud);
    try {
      const info = await client.helloWithRetry();
      console.error(
        `board ${info.id}: ${info.engine}, runtime v${info.runtime}, agent v${info.agent}, ${info.free} bytes free`,
      );
      const ram = targetForBoard(info.engine);
      if (ram) for (const w of memoryWarnings(model, blob.length, [ram.name])) console.error(w);
      const bar = new Progress('flash', blob.length, 'B');
      let shown = 0;
      const r = await client.flash(blob, {
        key,
        onProgress: (have) => {
          if (have > shown) bar.tick(have - shown);
          shown = Math.max(shown, have);
        },
      });
      bar.done();
      console.log(
        `flashed ${r.bytes} bytes (crc32 ${r.crc.toString(16).padStart(8, '0')}) in ${r.seconds.toFixed(2)} s; ` +
          `verified on the board in ${r.verifyMs} ms; ${r.wireBytes} bytes on the wire (efficiency ${(r.bytes / r.wireBytes).toFixed(3)})` +
          `${r.resumedFrom ? `; resumed at byte ${r.resumedFrom}` : ''}${r.retries ? `; ${r.retries} retries` : ''}`,
      );
      return 0;
    } finally {
      await client.link.close();
    }
  },
};

export const uninstallCommand: Command = {
  summary: "remove Morsel's runtime, agent and models from a board and give its port back to the REPL",
  usage: 'morsel uninstall --port <path> --target espruino|nodemcu [--key FILE | --insecure] [--baud 115200]',
  options: { port: { type: 'string' }, target: { type: 'string' }, ...baudOption, ...keyOptions },
  async run({ values }) {
    const port = needPort(values, this.usage);
    if (values.target === undefined) throw new UsageError(`missing --target\nusage: ${this.usage}`);
    parseChoice('--target', values.target, ['espruino', 'nodemcu'] as const, 'espruino');
    const key = keyOf(values);
    const baud = baudOf(values);
    if (await isShared(port))
      throw new UsageError(`a morsel monitor owns ${port}: stop it first (uninstall then checks the board's REPL)`);
    const client = await connect(port, baud);
    let erased: number;
    try {
      erased = await client.uninstall(key);
    } finally {
      await client.link.close();
    }
    const link = await SerialLink.open(port, { baudRate: baud, bytesPerSecond: baud / 10 });
    try {
      if (!(await replAnswers(link)))
        throw new BoardError(`the agent is gone from ${port}, but no REPL prompt answers there: reset the board`);
    } finally {
      await link.close();
    }
    console.log(`uninstalled: ${erased} agent files and the boot code erased; the REPL answers on ${port}`);
    return 0;
  },
};

export const monitorCommand: Command = {
  summary: "show a board's live telemetry (inferences/s, latency, free memory) and log it",
  usage: 'morsel monitor --port <path> [--csv F | --ndjson F] [--duration S] [--interval MS] [--baud 115200]',
  options: {
    port: { type: 'string' },
    csv: { type: 'string' },
    ndjson: { type: 'string' },
    duration: { type: 'string' },
    interval: { type: 'string' },
    ...baudOption,
  },
  async run({ values }) {
    const port = needPort(values, this.usage);
    if (values.csv && values.ndjson) throw new UsageError('choose one of --csv and --ndjson');
    const duration = values.duration === undefined ? Infinity : Number(values.duration);
    const interval = values.interval === undefined ? 1000 : Number(values.interval);
    if (!(duration > 0) || !(interval >= 100))
      throw new UsageError('--duration must be > 0 seconds and --interval ≥ 100 ms');
    const baud = baudOf(values);
    // This monitor owns the port and shares it, unless another monitor already does (then it is a client too).
    const shared = await SocketLink.connect(sharePath(port));
    const serial = shared ? null : await SerialLink.open(port, { baudRate: baud, bytesPerSecond: baud / 10 });
    const share = serial
      ? await PortShare.serve(serial, port).catch(async (e) => {
          await serial.close();
          throw e;
        })
      : null;
    if (share) console.error(`sharing ${port}: run --port, flash and workload on it go through this monitor`);
    const client = new DeviceClient(shared ?? share!.local, { bytesPerSecond: baud / 10 });
    try {
      const log = values.csv
        ? { format: 'csv' as const, file: values.csv as string }
        : values.ndjson
          ? { format: 'ndjson' as const, file: values.ndjson as string }
          : undefined;
      const m = await startMonitor(client, { intervalMs: interval, log, out: process.stdout });
      await new Promise<void>((resolve) => {
        // SIGTERM too: a monitor that shares its port must close the share socket however it is ended.
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          clearTimeout(timer);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        const timer = Number.isFinite(duration) ? setTimeout(stop, duration * 1000) : undefined;
      });
      const n = await m.stop();
      console.log(
        `\n${n} telemetry records${log ? ` written to ${log.file}` : ''}` +
          (share?.forwarded ? `; ${share.forwarded} requests of other commands passed through` : ''),
      );
      return 0;
    } finally {
      await share?.close();
      await (shared ?? serial)!.close();
    }
  },
};

/** "160k", "2m", "65536" → bytes. */
export function parseBytes(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (!m) throw new UsageError(`${flag} ${text}: expected a size like 160k or 2m`);
  return Math.round(Number(m[1]) * (m[2] ? (m[2].toLowerCase() === 'k' ? 1024 : 1048576) : 1));
}

export const emulateCommand: Command = {
  summary: 'emulate a board on a pty: the device runtime and agent in a real engine behind a serial link',
  usage: `morsel emulate [--engine ${BOARD_ENGINES.join('|')}] [--ram 160k] [--link PATH] [--storage DIR] [--key FILE | --insecure]`,
  options: {
    engine: { type: 'string' },
    ram: { type: 'string' },
    link: { type: 'string' },
    storage: { type: 'string' },
    ...keyOptions,
  },
  async run({ values }) {
    const engine = parseChoice('--engine', values.engine, BOARD_ENGINES, 'quickjs');
    const ramBytes = values.ram === undefined ? 1536 * 1024 : parseBytes('--ram', values.ram as string);
    const key = keyOf(values);
    const em = await Emulator.start({
      engine,
      ramBytes,
      key,
      linkPath: values.link as string | undefined,
      storageDir: values.storage as string | undefined,
    });
    console.log(`emulated board (${engine}, ${ramBytes} bytes RAM, flash in ${em.storage.dir}) on ${em.path}`);
    console.log(`try: morsel flash --port ${em.path} model.msl   (Ctrl-C stops the board)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await em.stop();
    return 0;
  },
};
