// Builds the device agent (device/agent/, the serial protocol on top of the runtime) into one minified ES5
// file that defines the global `MorselAgent`. It is evaluated after dist/device/morsel.es5.js, so the runtime
// build stays untouched:
//   dist/device/morsel-agent.es5.js

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { transformSync } from 'esbuild';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'device');
export const AGENT_BUNDLE = path.join(OUT, 'morsel-agent.es5.js');

export function buildAgent(): { file: string; bytes: number } {
  execFileSync(process.execPath, [path.join(__dirname, 'check-device-subset.js')], { stdio: 'inherit' });
  const tmp = path.join(OUT, 'morsel-agent.tmp.js');
  compileAgentScripts(path.join(ROOT, 'device', 'agent', 'tsconfig.json'));
  const code = fs.readFileSync(tmp, 'utf8');
  fs.rmSync(tmp);
  const wrapped = `(function (global) {\n${code}\nglobal.MorselAgent = MorselAgentApi;\n})(typeof globalThis !== "undefined" ? globalThis : this);\n`;
  const min = transformSync(wrapped, { minify: true, target: 'es5', legalComments: 'none' }).code;
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(AGENT_BUNDLE, min);
  return { file: AGENT_BUNDLE, bytes: Buffer.byteLength(min) };
}

/**
 * tsc over the agent's tsconfig (scripts concatenated into one file). The runtime's format/crc32.ts is a module
 * (it exports its functions to the runtime's bundle): the agent takes it as a script, its `export`s dropped.
 */
function compileAgentScripts(configPath: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} },
  )!;
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, lang, onError) =>
    file.endsWith(path.join('device', 'format', 'crc32.ts'))
      ? ts.createSourceFile(file, fs.readFileSync(file, 'utf8').replace(/^export /gm, ''), lang)
      : getSourceFile(file, lang, onError);
  const program = ts.createProgram(config.fileNames, config.options, host);
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  if (diagnostics.length)
    throw new Error(
      ts.formatDiagnostics(diagnostics, { ...host, getNewLine: () => '\n', getCanonicalFileName: (f) => f }),
    );
}

if (require.main === module) {
  const { file, bytes } = buildAgent();
  console.log(`${path.relative(process.cwd(), file)}: ${bytes.toLocaleString('en-US')} bytes minified`);
}
