// Runs `morsel ARGS` in this process and returns what it printed (a spawned CLI spends seconds loading TF.js and
// onnxruntime); fails unless it exits 0.

import { strict as assert } from 'assert';
import { main } from '../../host/cli/main';

export async function morselInProcess(...args: string[]): Promise<string> {
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    assert.equal(await main(args), 0, `morsel ${args.join(' ')}`);
  } finally {
    console.log = log;
  }
  return printed.join('\n');
}
