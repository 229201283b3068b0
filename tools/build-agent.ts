// Builds the device agent (device/agent/, the serial protocol on top of the runtime) into one minified ES5
// file that defines the global `MorselAgent`. It is evaluated after dist/device/morsel.es5.js, so the runtime
// build stays untouched:
//   dist/device/morsel-agent.es5.js
// and, with typescript-to-lua, the same protocol code as one Lua 5.1 chunk for NodeMCU (lua/typed.lua before it,
// the NodeMCU adapter nodemcu.lua after it):
//   dist/device/morsel-agent.lua     local MorselAgent = dofile("morsel-agent.lua"); MorselAgent.nodemcu(Morsel)

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { transformSync } from 'esbuild';
import * as ts from 'typescript';
import * as tstl from 'typescript-to-lua';
import { LUA_TRANSPILE_OPTIONS } from './build-device';

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'device');
export const AGENT_BUNDLE = path.join(OUT, 'morsel-agent.es5.js');
export const AGENT_LUA_BUNDLE = path.join(OUT, 'morsel-agent.lua');
const AGENT_DIR = path.join(ROOT, 'device', 'agent');
/** The protocol code both builds share, in dependency order; the ES5 build adds its adapters (tsconfig.json). */
const LUA_SOURCES = [
  path.join(ROOT, 'device', 'format', 'crc32.ts'),
  ...[
    'runtime-api.ts',
    'platform.ts',
    'protocol.ts',
    'slip.ts',
    'framing.ts',
    'sha256.ts',
    'auth.ts',
    'agent.ts',
    'emulator-host.ts',
    'mqtt.ts',
  ].map((f) => path.join(AGENT_DIR, f)),
];

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
 * Modules the agent takes as scripts, their `export`s dropped: the runtime's CRC-32, and the SLIP codec and emulator
 * interface the host imports.
 */
const MODULES_AS_SCRIPTS = [
  path.join('device', 'format', 'crc32.ts'),
  path.join('device', 'agent', 'slip.ts'),
  path.join('device', 'agent', 'emulator-host.ts'),
];

/** tsc over the agent's tsconfig (scripts concatenated into one file), MODULES_AS_SCRIPTS among them. */
function compileAgentScripts(configPath: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} },
  )!;
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, lang, onError) =>
    MODULES_AS_SCRIPTS.some((m) => file.endsWith(m))
      ? ts.createSourceFile(file, fs.readFileSync(file, 'utf8').replace(/^export /gm, ''), lang)
      : getSourceFile(file, lang, onError);
  const program = ts.createProgram(config.fileNames, config.options, host);
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  if (diagnostics.length)
    throw new Error(
      ts.formatDiagnostics(diagnostics, { ...host, getNewLine: () => '\n', getCanonicalFileName: (f) => f }),
    );
}

/**
 * The agent as one Lua chunk: typescript-to-lua over the shared protocol sources flattened into one script (the
 * agent is ES5-style `var` code; typescript-to-lua takes only block-scoped declarations, so each `var` is read as
 * `let`, and the type check then refuses any use a block scope would change). lua/typed.lua supplies the few
 * ES5 built-ins the protocol uses (Uint8Array, Int8Array, JSON); nodemcu.lua is the board adapter. Globals stay
 * in a private environment, as in the runtime's Lua build.
 */
export function buildAgentLua(): { file: string; bytes: number } {
  const script = LUA_SOURCES.map((f) =>
    fs
      .readFileSync(f, 'utf8')
      .replace(/^export /gm, '')
      .replace(/\bvar (?=[A-Za-z_])/g, 'let '),
  ).join('\n');
  const result = tstl.transpileVirtualProject(
    { 'agent.ts': script },
    // Methods take self here (the NodeMCU adapter and typed.lua are written for that), unlike the runtime's build.
    { ...LUA_TRANSPILE_OPTIONS, noImplicitSelf: false },
  );
  if (result.diagnostics.length) {
    const starts: { file: string; line: number }[] = [];
    let line = 0;
    for (const f of LUA_SOURCES) {
      starts.push({ file: path.relative(ROOT, f), line });
      line += fs.readFileSync(f, 'utf8').split('\n').length;
    }
    const where = (d: ts.Diagnostic) => {
      if (!d.file || d.start === undefined) return 'agent';
      const l = d.file.getLineAndCharacterOfPosition(d.start).line;
      const s = starts.filter((x) => x.line <= l).pop()!;
      return `${s.file}:${l - s.line + 1}`;
    };
    throw new Error(
      `typescript-to-lua (agent):\n${result.diagnostics.map((d) => `${where(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`).join('\n')}`,
    );
  }
  const lua = [
    '-- Morsel device agent for NodeMCU (Lua 5.1; also 5.3 and LuaJIT), built by tools/build-agent.ts from device/agent/.',
    'local _ENV = setmetatable({}, { __index = _G })',
    'if setfenv then setfenv(1, _ENV) end',
    fs.readFileSync(path.join(AGENT_DIR, 'lua', 'typed.lua'), 'utf8'),
    'do',
    result.transpiledFiles[0].lua!,
    fs.readFileSync(path.join(AGENT_DIR, 'nodemcu.lua'), 'utf8'),
    'end',
  ].join('\n');
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(AGENT_LUA_BUNDLE, lua);
  return { file: AGENT_LUA_BUNDLE, bytes: Buffer.byteLength(lua) };
}

if (require.main === module) {
  const { file, bytes } = buildAgent();
  console.log(`${path.relative(process.cwd(), file)}: ${bytes.toLocaleString('en-US')} bytes minified`);
  const lua = buildAgentLua();
  console.log(`${path.relative(process.cwd(), lua.file)}: ${lua.bytes.toLocaleString('en-US')} bytes`);
}
