// Builds the device agent (device/agent/, the serial protocol on top of the runtime) into one minified ES5
// file that defines the global `MorselAgent`. It is evaluated after dist/device/morsel.es5.js, so the runtime
// build stays untouched:
//   dist/device/morsel-agent.es5.js

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { transformSync } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'device');
export const AGENT_BUNDLE = path.join(OUT, 'morsel-agent.es5.js');

export function buildAgent(): { file: string; bytes: number } {
  execFileSync(process.execPath, [path.join(__dirname, 'check-device-subset.js')], { stdio: 'inherit' });
  const tmp = path.join(OUT, 'morsel-agent.tmp.js');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'device', 'agent', 'tsconfig.json')],
    { stdio: 'inherit' },
  );
  const code = fs.readFileSync(tmp, 'utf8');
  fs.rmSync(tmp);
  const wrapped = `(function (global) {\n${code}\nglobal.MorselAgent = MorselAgentApi;\n})(typeof globalThis !== "undefined" ? globalThis : this);\n`;
  const min = transformSync(wrapped, { minify: true, target: 'es5', legalComments: 'none' }).code;
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(AGENT_BUNDLE, min);
  return { file: AGENT_BUNDLE, bytes: Buffer.byteLength(min) };
}

if (require.main === module) {
  const { file, bytes } = buildAgent();
  console.log(`${path.relative(process.cwd(), file)}: ${bytes.toLocaleString('en-US')} bytes minified`);
}
