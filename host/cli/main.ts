// `morsel` command line: one small handler per command, shared error reporting.
// Errors that are not Morsel's (a bad model, data file, blob or flag; a board that refuses or does not answer; a
// port or file the system will not open) print one line and exit 2; --debug adds the stack. Exit 1 is a bug.

import * as fs from 'fs';
import * as path from 'path';
import { parseArgs, type ParseArgsConfig } from 'util';
import { BlobFormatError } from '../blob/flatbuffer';
import { ModelError } from '../ir/graph';
import { ReplError } from '../serial/espruino-install';
import { BoardError } from '../serial/protocol';
import { COMMANDS } from './commands';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** -o's file, refused up front when it names a directory (the write would fail only at the end, on rename). */
export function outputFile(out: string, example: string): string {
  if (fs.existsSync(out) && fs.statSync(out).isDirectory())
    throw new UsageError(`-o ${out} is a directory; name the file to write, e.g. -o ${path.join(out, example)}`);
  return out;
}

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(args: {
    values: Record<string, string | boolean | string[] | undefined>;
    positionals: string[];
  }): Promise<number>;
}

const COMMON = { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } } as const;

function mainHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'morsel — compile neural networks to int8 blobs for ESP32-class JavaScript and Lua engines',
    '',
    'usage: morsel <command> [options]',
    '',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n].summary}`),
    '',
    "Run 'morsel <command> --help' for a command's options.",
  ].join('\n');
}

/** The system refusing a file or a port (ENOENT, EACCES, EISDIR, EBUSY, ...), or serialport failing to open one. */
const isEnvironmentError = (e: unknown): boolean =>
  /^E[A-Z]+$/.test(String((e as NodeJS.ErrnoException)?.code)) ||
  /\b(cannot open|Cannot lock port|Resource temporarily unavailable|Inappropriate ioctl)\b/.test(
    String((e as Error)?.message),
  );

export const isUserError = (e: unknown): e is Error =>
  e instanceof ModelError ||
  e instanceof BlobFormatError ||
  e instanceof UsageError ||
  e instanceof BoardError ||
  e instanceof ReplError ||
  (e instanceof Error && isEnvironmentError(e));

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    console.log(require(path.join(__dirname, '..', '..', '..', 'package.json')).version); // dist/host/cli → root
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`morsel: unknown command '${name}'\n\n${mainHelp()}`);
    return 2;
  }
  const debug = rest.includes('--debug');
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: rest, options: { ...COMMON, ...cmd.options }, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nusage: ${cmd.usage}`);
    }
    if (parsed.values.help) {
      console.log(`${cmd.summary}\n\nusage: ${cmd.usage}`);
      return 0;
    }
    return await cmd.run(parsed as Parameters<Command['run']>[0]);
  } catch (e) {
    if (isUserError(e)) {
      console.error(`morsel ${name}: error: ${e.message}`);
      if (debug) console.error(e.stack);
      return 2;
    }
    console.error(`morsel ${name}: internal error: ${(e as Error)?.message ?? e}`);
    console.error(debug ? (e as Error)?.stack : '(run with --debug for the stack trace, and please report it)');
    return 1;
  }
}
