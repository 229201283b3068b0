// First install on an Espruino board, through its REPL the way the Espruino CLI uploads files: echo off
// with a leading \x10 on each line, the file written to flash as require("Storage").write(name,
// atob("…"), offset, total) in 384-byte chunks, then load() to reboot into it. Unlike the CLI, which
// paces itself by fixed pauses, each line prints a marker and the next one waits for it, so a slow flash
// write can never overrun the REPL's input buffer. Afterwards the board speaks the binary protocol.

import * as fs from 'fs';
import * as path from 'path';
import type { Link } from './link';
import { AGENT_BUNDLE, RUNTIME_BUNDLE } from './device-engine';

export interface StorageFile {
  name: string;
  content: Buffer;
}

/** The runtime built for Espruino (its 64 KB view offsets, E.convolve): the ES5 bundle leaves those out. */
const ESPRUINO_RUNTIME = path.join(path.dirname(RUNTIME_BUNDLE), 'morsel.espruino.js');

/** Storage module "morsel" (runtime + agent) and the .boot0 line that starts the agent on `serial`. */
export function espruinoInstallFiles(
  serial = 'Serial1',
  consoleTo = 'LoopbackA',
  runtime = ESPRUINO_RUNTIME,
  agent = AGENT_BUNDLE,
): StorageFile[] {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(serial) || !/^[A-Za-z][A-Za-z0-9]*$/.test(consoleTo))
    throw new Error('serial and console must be device names like Serial1');
  // Module code runs inside a function on Espruino; the bundles look for globalThis, which older firmware lacks.
  const module = [
    'var globalThis=global;',
    fs.readFileSync(runtime, 'utf8'),
    fs.readFileSync(agent, 'utf8'),
    'exports.start=function(s,c){return MorselAgent.espruino(s,c);};',
  ].join('\n');
  return [
    { name: 'morsel', content: Buffer.from(module, 'latin1') },
    {
      name: '.boot0',
      content: Buffer.from(`require("morsel").start(${serial},${JSON.stringify(consoleTo)});`, 'latin1'),
    },
  ];
}

export interface ReplUploadOptions {
  chunkBytes?: number;
  /** Per line: at 115200 baud a 530-byte line takes ~50 ms, the flash write up to a few hundred. */
  lineTimeoutMs?: number;
  onProgress?: (sent: number, total: number) => void;
}

export class ReplError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplError';
  }
}

/** Whether an Espruino REPL answers a bare newline with its prompt within `timeoutMs` (after an uninstall). */
export async function replAnswers(link: Link, timeoutMs = 3000): Promise<boolean> {
  let text = '';
  link.onData((c) => {
    text += c.toString('latin1');
  });
  await link.write(Buffer.from('\n'));
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && !text.includes('>'); )
    await new Promise((r) => setTimeout(r, 10));
  return text.includes('>');
}

/** Writes the files to the board's Storage through its REPL, then reboots it with load(). */
export async function uploadViaRepl(link: Link, files: StorageFile[], opts: ReplUploadOptions = {}): Promise<void> {
  const chunk = opts.chunkBytes ?? 384;
  const lineTimeout = opts.lineTimeoutMs ?? 3000;
  let text = '';
  link.onData((c) => {
    text += c.toString('latin1');
    if (text.length > 65536) text = text.slice(-4096);
  });
  const waitFor = async (marker: RegExp, what: string) => {
    const deadline = Date.now() + lineTimeout;
    for (;;) {
      const m = marker.exec(text);
      if (m) {
        text = text.slice(m.index + m[0].length);
        return m;
      }
      if (Date.now() > deadline)
        throw new ReplError(`no answer from the Espruino REPL to ${what} (is the board's console on this port?)`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await link.write(Buffer.from('\n'));
  await waitFor(/>/, 'a newline');
  const total = files.reduce((n, f) => n + f.content.length, 0);
  let sent = 0;
  for (const f of files) {
    for (let off = 0; off < f.content.length; off += chunk) {
      const b64 = f.content.subarray(off, off + chunk).toString('base64');
      const call = `require("Storage").write(${JSON.stringify(f.name)},atob("${b64}"),${off},${f.content.length})`;
      await link.write(Buffer.from(`\x10print(${call}?"MRSL_W ${off}":"MRSL_F ${off}")\n`, 'latin1'));
      // Anchored on the line end: a reply still arriving ("MRSL_W 1" of "MRSL_W 16512") must not match.
      const m = await waitFor(/MRSL_([WF]) (\d+)\r?\n/, `the write of ${f.name} at ${off}`);
      if (m[1] === 'F' || Number(m[2]) !== off)
        throw new ReplError(`Storage.write of ${f.name} at ${off} failed (flash full?)`);
      sent += Math.min(chunk, f.content.length - off);
      opts.onProgress?.(sent, total);
    }
  }
  await link.write(Buffer.from('\x10load()\n'));
}
