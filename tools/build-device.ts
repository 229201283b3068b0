// Builds the device runtime from the modules in device/, from an entry that names the runtime's kernels (the full
// registration table, or one generated for a model's opcodes: only the kernels and helpers it imports are bundled):
//   dist/device/morsel.es5.js       esbuild bundles the modules (platform/api resolved to platform/js.ts), tsc lowers
//                                   the bundle to ES5, wrapped to define a global `Morsel`, minified by esbuild
//   dist/device/morsel.espruino.js  the same for Espruino (ESPRUINO: its 64 KB view offsets, E.convolve, getTime),
//                                   which the ES5 bundle for the other engines leaves out
//   dist/device/morsel.lua          typescript-to-lua (Lua 5.1 output, which 5.3 and LuaJIT also run) over the same
//                                   module graph flattened into one chunk, platform/lua.lua supplying platform/api;
//                                   `return`s the Morsel table

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { build, type Plugin, transformSync } from 'esbuild';
import * as ts from 'typescript';
import * as tstl from 'typescript-to-lua';
import { decodeModel } from '../host/blob/decode';
import { morselSchema } from '../host/blob/fbs';
import { decodeRoot } from '../host/blob/flatbuffer';
import { compileTflite } from '../host/import/tflite/compile';
import { DEVICE_MESSAGES } from '../host/ir/device-messages';
import { INT8_MODELS, mlperfFile } from '../test/helpers/tflite-mlperf';
import { numberMessages } from './device-messages';

const ROOT = path.join(__dirname, '..', '..');
const DEVICE = path.join(ROOT, 'device');
const OUT = path.join(ROOT, 'dist', 'device');
// The full bundles' budgets. Raised from 24 and 48 KB by the op registry (each kernel's prepare and op-data record
// instead of one 63-field record filled by two if-chains, and dense-only FULLY_CONNECTED / CONV_2D registrations
// beside the packed ones: measured +1,835 B of ES5 and +5,638 B of Lua for the same 17 opcodes); a board short of
// room takes a per-model bundle (registryEntry; the zoo CNN's ES5 is 16.6 KB). Raised again, to 28.5 and 56 KB,
// by the whole-model verifier (format/verify.ts: op order, arena overlap, int32 accumulator bounds, work limit,
// which the host runs too): measured +2,060 B of ES5 and +3,081 B of Lua. Moving the per-op checks into the
// kernels and the ES5 CRC-32 table took 1,175 B of ES5 back (27,313 B). Raised by the ops of issue 15: MIRROR_PAD
// (+1,108 B of ES5, +2,040 B of Lua), the element-wise ops (HARD_SWISH, ELU, EXP, GELU, LUT registered to LOOKUP;
// the PRELU, MAXIMUM and MINIMUM kernels: +1,187 B of ES5, +2,373 B of Lua) and the tensor ops GATHER_STRIDED,
// REDUCE and BATCH_MATMUL (runtime transpose/slice/split/gather, reductions on any axes, attention's MatMul of two
// activations: +2,952 B of ES5, +5,637 B of Lua) RESIZE_NEAREST_NEIGHBOR (+790 B of ES5, +1,513 B of Lua) and LAYER_NORM (+1,236 B of ES5, +2,170 B of Lua).
// Boards short of room take a per-model bundle. Raised by the flash-blob path's packed int8 buffers (6 values a Lua
// number, in pages), exact-sized tables and int32 spans read in place, which fit a 100 KB NodeMCU heap (issue 16):
// +1,254 B of Lua; by TRANSPOSE_CONV (ONNX ConvTranspose: +927 B of ES5, +1,844 B of Lua) and RESIZE_BILINEAR (ONNX
// Resize linear: +1,003 B of ES5, +1,781 B of Lua). Moving the refusal texts to the host (tools/device-messages.ts)
// took 3,167 B of ES5 and 3,695 B of Lua back: merged, 32,831 B of ES5 and 71,487 B of Lua.
// LOG_SOFTMAX (TFLM's int8 kernel with gemmlowp's log on the device, and device/gemmlowp.ts, the helpers it shares
// with SOFTMAX): +1,274 B of ES5 (32,831 → 34,105 B) and +3,103 B of Lua (71,487 → 74,590 B), so the Lua budget went
// from 72 to 73 KB; per-model bundles without LOG_SOFTMAX are unchanged (SOFTMAX's included). The sparse CONV_2D's
// row walk for pointwise windows (`balanced` on sparse KWS from x1.140 to x0.973 of dense's Duktape instructions):
// +178 B of ES5 and +482 B of Lua, merged 34,283 B and 75,072 B, so the Lua budget went to 74 KB.
export const ES5_LIMIT = 35 * 1024;
/**
 * The zoo CNN's per-model ES5 bundle (`morsel bundle models/fashion_cnn/model.msl --target es5`), 15,446 B. Issue 13
 * asks for 12 KB: it was 16,963 B before its refusal texts moved to the host (tools/device-messages.ts: -1,206 B)
 * and Espruino's differences to the Espruino variant (-311 B, with TensorInfo.bufferIndex). Where the rest goes:
 * `build:device --models` prints it by module (the loader, requantization, the conv kernels, the reader lead).
 */
export const ZOO_CNN_ES5_LIMIT = 15500;
export const LUA_LIMIT = 74 * 1024;
/** What each build fixes at build time (device/platform/globals.d.ts); esbuild drops the ES5 bundle's dead branches. */
const ES5_DEFINES = { TRACING_JIT: 'false', ROUND_BY_FLOOR: 'false', ESPRUINO: 'false' };
const ESPRUINO_DEFINES = { ...ES5_DEFINES, ESPRUINO: 'true' };
const LUA_DEFINES = { ROUND_BY_FLOOR: 'true', ESPRUINO: 'false' };
const PLATFORM_API = path.join(DEVICE, 'platform', 'api.d.ts');
const PLATFORM_JS = path.join(DEVICE, 'platform', 'js.ts');
/** The ES5 engines' CRC-32, with bitwise operators (the portable format/crc32.ts serves Lua). */
const CRC32_JS = path.join(DEVICE, 'platform', 'crc32-js.ts');
/** The full runtime's entry: every kernel of the registry (device/ops.ts). */
export const FULL_ENTRY =
  "import { OPS } from './ops';\nimport { runtime } from './runtime';\nconst Morsel = runtime(OPS);\n";

export interface DeviceBuild {
  es5: string;
  espruino: string;
  lua: string;
}

/** The full runtime in both languages, type-checked and subset-checked first. */
export async function buildDevice(): Promise<DeviceBuild> {
  execFileSync(process.execPath, [path.join(__dirname, 'check-device-subset.js')], { stdio: 'inherit' });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(DEVICE, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  return bundleRuntime(FULL_ENTRY);
}

/**
 * The runtime bundled from `entry`, TypeScript in device/ that imports what it needs and defines `Morsel` at top
 * level (FULL_ENTRY, or a per-model registration table).
 */
export async function bundleRuntime(entry: string): Promise<DeviceBuild> {
  const graph = moduleGraph(entry, 'es5');
  const mangleProps = internalProperties(graph.files);
  const script = async (defines: Record<string, string>) => {
    const code = inlineConstants(await bundleEs5(entry, defines), graph.sources, /^var ([A-Za-z_]\w*) = (-?\d+);$/, 4);
    const wrapped = `(function (global) {\n${code}\nglobal.Morsel = Morsel;\n})(typeof globalThis !== "undefined" ? globalThis : this);\n`;
    return minifyEs5(wrapped, mangleProps, defines);
  };
  return { es5: await script(ES5_DEFINES), espruino: await script(ESPRUINO_DEFINES), lua: buildLua(entry) };
}

const REGISTRY = path.join(DEVICE, 'ops.ts');
const REGISTRATION = /^OPS\[OpCode_([A-Z0-9_]+)\] = [A-Z0-9_]+;$/;

/**
 * The entry of a runtime holding only the kernels of `opNames` (schema opcode names, e.g. 'CONV_2D'): the registry
 * (device/ops.ts) with only their registration lines and the imports those use; the bundlers leave out the rest.
 * Without `packed`, each X_PACKED kernel (kernels/x-packed.ts) becomes its dense-only X (kernels/x.ts).
 */
export function registryEntry(opNames: string[], packed: boolean): string {
  let text = fs.readFileSync(REGISTRY, 'utf8');
  if (!packed) text = text.replace(/\b([A-Z0-9_]+)_PACKED\b/g, '$1').replace(/(\.\/kernels\/[\w-]+)-packed'/g, "$1'");
  const lines = text.split('\n');
  const registered = lines.map((l) => REGISTRATION.exec(l)?.[1]).filter((n) => n !== undefined);
  const missing = opNames.filter((n) => !registered.includes(n));
  if (missing.length) throw new Error(`the device runtime has no kernel for ${missing.join(', ')}`);
  const kept = lines.filter((l) => {
    const m = REGISTRATION.exec(l);
    return !m || opNames.includes(m[1]);
  });
  const sf = ts.createSourceFile(REGISTRY, kept.join('\n'), ts.ScriptTarget.ES5, true);
  const code = sf.statements
    .filter((st) => !ts.isImportDeclaration(st))
    .map((st) => st.getText(sf).replace(/^export /, ''))
    .join('\n');
  const used = new Set(code.match(/[A-Za-z_]\w*/g));
  const imports = sf.statements.filter(ts.isImportDeclaration).flatMap((st) => {
    const named = st.importClause?.namedBindings;
    const names = named && ts.isNamedImports(named) ? named.elements.filter((e) => used.has(e.name.text)) : [];
    const spec = (st.moduleSpecifier as ts.StringLiteral).text;
    const typeOnly = st.importClause?.isTypeOnly ? 'type ' : '';
    return names.length ? [`import ${typeOnly}{ ${names.map((e) => e.getText(sf)).join(', ')} } from '${spec}';`] : [];
  });
  return `${imports.join('\n')}\nimport { runtime } from './runtime';\n${code}\nconst Morsel = runtime(OPS);\n`;
}

/** The schema's error codes by name: the bundles raise them by number (tools/device-messages.ts). */
const errorCodes = () => morselSchema().enums.get('ErrorCode')!.values;

/**
 * Resolves the platform contract (platform/api) and the CRC-32 to their ES5 implementations, and numbers the device
 * modules' refusal texts (tools/device-messages.ts).
 */
const platformJs: Plugin = {
  name: 'platform-js',
  setup(b) {
    b.onResolve({ filter: /(^|\/)platform\/api$|^\.\/api$/ }, () => ({ path: PLATFORM_JS }));
    b.onResolve({ filter: /(^|\/)format\/crc32$/ }, () => ({ path: CRC32_JS }));
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: numberMessages(args.path, fs.readFileSync(args.path, 'utf8'), DEVICE_MESSAGES, errorCodes()),
      loader: 'ts',
    }));
  },
};

/** esbuild's options for bundling the device modules from `entry` into one ES module that keeps `Morsel`. */
function esbuildOptions(entry: string, defines: Record<string, string>) {
  return {
    stdin: {
      contents: `${entry}\nMORSEL_KEEP(Morsel);\n`,
      resolveDir: DEVICE,
      loader: 'ts' as const,
      sourcefile: 'entry.ts',
    },
    bundle: true,
    write: false as const,
    format: 'esm' as const,
    target: 'es2017',
    platform: 'neutral' as const,
    define: defines,
    plugins: [platformJs],
    logLevel: 'silent' as const,
  };
}

/**
 * esbuild bundles the modules from the entry (scope-hoisted into one script, unused code shaken off), and tsc lowers
 * that to ES5 (esbuild cannot lower let/const or classes to ES5). `Morsel` stays a top-level name of the script.
 */
async function bundleEs5(entry: string, defines: Record<string, string>): Promise<string> {
  const result = await build(esbuildOptions(entry, defines));
  const esm = result.outputFiles[0].text.replace(/^MORSEL_KEEP\(Morsel\);\n/m, '');
  return ts.transpileModule(esm, {
    compilerOptions: { target: ts.ScriptTarget.ES5, removeComments: true, ignoreDeprecations: '6.0' },
  }).outputText;
}

/**
 * Where the bytes of `entry`'s ES5 bundle go: each device module's share of the esbuild bundle minified (before
 * the property mangling and constant inlining that take the whole bundle a further ~13% down), largest first.
 */
export async function moduleBytes(entry: string): Promise<[string, number][]> {
  const result = await build({ ...esbuildOptions(entry, ES5_DEFINES), minify: true, metafile: true });
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  return Object.entries(inputs)
    .map(([file, v]): [string, number] => [path.relative(DEVICE, path.resolve(file)), v.bytesInOutput])
    .sort((a, b) => b[1] - a[1]);
}

/** esbuild fixes the build's defines (dropping the dead branches), shortens the runtime's own property names and minifies. */
function minifyEs5(code: string, mangleProps: RegExp, defines: Record<string, string>): string {
  return transformSync(code, { minify: true, target: 'es5', legalComments: 'none', mangleProps, define: defines }).code;
}

/**
 * The property names esbuild may shorten: members of the runtime's own interfaces (PreparedOp, TensorInfo, ...)
 * and the private members of its classes, minus any name the sources also read off something else (a typed
 * array's `buffer`, ...). Public API names (load, invoke, inputShape, ...) are never among them.
 */
function internalProperties(files: string[]): RegExp {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES5,
    lib: ['lib.es5.d.ts'],
    types: [],
    noEmit: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    ignoreDeprecations: '6.0',
  });
  const checker = program.getTypeChecker();
  const internal = new Set<string>();
  const accessed = new Set<string>();
  const own = (f: string) => files.includes(path.normalize(f)) && !f.endsWith('.d.ts');
  for (const sf of program.getSourceFiles().filter((f) => own(f.fileName))) {
    const visit = (node: ts.Node) => {
      if (ts.isInterfaceDeclaration(node))
        node.members.forEach((m) => m.name && ts.isIdentifier(m.name) && internal.add(m.name.text));
      if (
        ts.isPropertyDeclaration(node) &&
        node.modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword) &&
        ts.isIdentifier(node.name)
      )
        internal.add(node.name.text);
      if (ts.isPropertyAccessExpression(node)) {
        // A property read off a value whose type is not one of the runtime's own declarations (lib types, any).
        const decl = checker.getSymbolAtLocation(node.name)?.declarations?.[0];
        if (!decl || !own(decl.getSourceFile().fileName)) accessed.add(node.name.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const names = [...internal].filter((n) => !accessed.has(n));
  return new RegExp(`^(${names.join('|')})$`);
}

interface ModuleGraph {
  /** Every device file the entry reaches (absolute paths), each module after the modules whose values it imports. */
  files: string[];
  /** Those of them reached through type-only imports alone (their code is not needed). */
  typeOnly: Set<string>;
  /** Their sources, concatenated in that order. */
  sources: string;
}

/**
 * The device modules `entry` reaches through its imports. For 'es5', platform/api is platform/js.ts; for 'lua' it is
 * the declaration file (platform/lua.lua implements it). Ordered so that a module's top-level code runs after that of
 * the modules it imports values from, as the bundlers order them.
 */
function moduleGraph(entry: string, target: 'es5' | 'lua'): ModuleGraph {
  const files: string[] = [];
  const visiting = new Set<string>();
  const needed = new Set<string>([ENTRY_FILE]);
  const visit = (file: string, text: string) => {
    if (visiting.has(file)) return;
    visiting.add(file);
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES5, true);
    for (const st of sf.statements) {
      if (!ts.isImportDeclaration(st)) continue;
      const dep = resolveDeviceModule(file, (st.moduleSpecifier as ts.StringLiteral).text, target);
      const named = st.importClause?.namedBindings;
      const typesOnly =
        st.importClause?.isTypeOnly || (named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly));
      if (!typesOnly) needed.add(dep);
      visit(dep, fs.readFileSync(dep, 'utf8'));
    }
    if (file !== ENTRY_FILE) files.push(file);
  };
  visit(ENTRY_FILE, entry);
  // A module whose code is needed makes the code of its own value imports needed (dependencies come first).
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of files.filter((x) => needed.has(x))) {
      for (const st of ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.ES5, true).statements) {
        if (!ts.isImportDeclaration(st) || st.importClause?.isTypeOnly) continue;
        const named = st.importClause?.namedBindings;
        if (named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly)) continue;
        const dep = resolveDeviceModule(f, (st.moduleSpecifier as ts.StringLiteral).text, target);
        if (!needed.has(dep)) grew = needed.add(dep) !== undefined;
      }
    }
  }
  if (target === 'es5') files.push(path.join(DEVICE, 'platform', 'globals.d.ts'), PLATFORM_API);
  const typeOnly = new Set(files.filter((f) => !needed.has(f) && !f.endsWith('.d.ts')));
  return { files, typeOnly, sources: files.map((f) => fs.readFileSync(f, 'utf8')).join('\n') + entry };
}

const ENTRY_FILE = path.join(DEVICE, 'entry.ts');

function resolveDeviceModule(from: string, spec: string, target: 'es5' | 'lua'): string {
  const base = path.resolve(path.dirname(from), spec);
  if (base === PLATFORM_API.replace(/\.d\.ts$/, '')) return target === 'es5' ? PLATFORM_JS : PLATFORM_API;
  if (target === 'es5' && base === path.join(DEVICE, 'format', 'crc32')) return CRC32_JS;
  if (!spec.startsWith('.') || !fs.existsSync(`${base}.ts`)) throw new Error(`${from}: cannot bundle import '${spec}'`);
  return `${base}.ts`;
}

/**
 * A module as part of one flat Lua chunk: its imports dropped (the names they bind are the flat chunk's top-level
 * names, so they must not be renamed with `as`) and `export` dropped, each line kept where it was (diagnostics).
 */
function flattenModule(file: string, text: string): string {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES5, true);
  const cuts: [number, number, string][] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const named = st.importClause?.namedBindings;
      if (st.importClause?.name || (named && (!ts.isNamedImports(named) || named.elements.some((e) => e.propertyName))))
        throw new Error(`${file}: the Lua build takes named imports without renaming only`);
      cuts.push([st.getStart(sf), st.getEnd(), st.getText(sf).replace(/[^\n]/g, '')]);
    } else if (ts.isExportDeclaration(st) || ts.isExportAssignment(st)) {
      throw new Error(`${file}: the Lua build takes exported declarations only`);
    } else {
      const exp = ts.canHaveModifiers(st) && ts.getModifiers(st)?.find((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (exp) cuts.push([exp.getStart(sf), exp.getEnd() + 1, '']);
    }
  }
  let out = text;
  for (const [from, to, keep] of cuts.reverse()) out = out.slice(0, from) + keep + out.slice(to);
  return out;
}

/**
 * Transpiles the module graph of `entry` to one Lua chunk. The modules are flattened into one virtual file (their
 * top-level names are then one namespace: a name declared in two modules fails the build) so that the few lualib
 * helpers typescript-to-lua needs are inlined once and every function is a plain global of the runtime's
 * environment; any diagnostic (error or warning, e.g. a truthiness test that Lua would read differently) fails the
 * build, reported at its original file and line.
 */
/** typescript-to-lua's options for device code (the agent's Lua build takes them too, tools/build-agent.ts). */
export const LUA_TRANSPILE_OPTIONS: tstl.CompilerOptions = {
  target: ts.ScriptTarget.ES5,
  lib: ['lib.es5.d.ts'],
  types: [],
  strict: true,
  removeComments: true,
  ignoreDeprecations: '6.0',
  luaTarget: tstl.LuaTarget.Lua51,
  noImplicitSelf: true,
  luaLibImport: tstl.LuaLibImportKind.Inline,
  noHeader: true,
};

/** The Lua runtime alone for `entry` (no ES5 build): what a NodeMCU board runs, e.g. for one model's opcodes. */
export function buildLua(entry: string): string {
  const modules = moduleGraph(entry, 'lua');
  const graph = modules.files.filter((f) => !f.endsWith('.d.ts'));
  const starts: { file: string; line: number }[] = [];
  const declared = new Map<string, string>();
  let line = 0;
  const parts = [...graph, ENTRY_FILE].map((f) => {
    const source =
      f === ENTRY_FILE ? entry : numberMessages(f, fs.readFileSync(f, 'utf8'), DEVICE_MESSAGES, errorCodes());
    const text = flattenModule(f, modules.typeOnly.has(f) ? typeDeclarations(f, source) : source).replace(/\n?$/, '\n');
    for (const name of topLevelNames(f, text)) {
      if (declared.has(name)) throw new Error(`${f}: '${name}' is also declared in ${declared.get(name)}`);
      declared.set(name, f);
    }
    starts.push({ file: path.relative(ROOT, f), line });
    line += text.split('\n').length - 1;
    return text;
  });
  // platform/api.d.ts as global declarations: platform/lua.lua defines them as globals or locals of the chunk.
  const api = fs
    .readFileSync(PLATFORM_API, 'utf8')
    .replace(/^export (function|const)/gm, 'declare $1')
    .replace(/^export /gm, '');
  const result = tstl.transpileVirtualProject(
    {
      'morsel.ts': parts.join(''),
      'api.d.ts': api,
      'globals.d.ts': fs
        .readFileSync(path.join(DEVICE, 'platform', 'globals.d.ts'), 'utf8')
        .replace(/import\(['"]\.\/api['"]\)\./g, ''),
    },
    LUA_TRANSPILE_OPTIONS,
  );
  if (result.diagnostics.length) {
    const where = (d: ts.Diagnostic) => {
      if (!d.file || d.start === undefined) return 'device';
      const l = d.file.getLineAndCharacterOfPosition(d.start).line;
      if (d.file.fileName !== 'morsel.ts') return `${d.file.fileName}:${l + 1}`;
      const s = starts.filter((x) => x.line <= l).pop()!;
      return `${s.file}:${l - s.line + 1}`;
    };
    throw new Error(
      `typescript-to-lua:\n${result.diagnostics.map((d) => `${where(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`).join('\n')}`,
    );
  }
  const platform = fs.readFileSync(path.join(DEVICE, 'platform', 'lua.lua'), 'utf8');
  const code = inlineConstants(
    `${platform}\n${result.transpiledFiles.find((f) => f.outPath.endsWith('morsel.lua'))!.lua!}`,
    parts.join(''),
    /^([A-Za-z_]\w*) = (-?\d+)$/,
    Infinity,
    LUA_DEFINES,
  );
  const chunk = [
    '-- Morsel device runtime for Lua 5.1, 5.3 and LuaJIT (NodeMCU), built by tools/build-device.ts from device/.',
    '-- local Morsel = dofile("morsel.lua"); local model = Morsel.load(blobString); local y = model:invoke(x)',
    // The runtime's globals live in a private environment (5.2+: _ENV; 5.1/LuaJIT: setfenv), so loading it
    // leaves the caller's globals alone; the standard libraries it uses in hot paths are upvalues.
    'local math, string, type, tostring, error, setmetatable = math, string, type, tostring, error, setmetatable',
    'local _ENV = setmetatable({}, { __index = _G })',
    'if setfenv then setfenv(1, _ENV) end',
    code,
    'return Morsel',
  ].join('\n');
  return joinContinuedLines(numericForLoops(compactLua(chunk)));
}

/** A module reduced to its imports and its interfaces and type aliases: what a type-only import of it needs. */
function typeDeclarations(file: string, text: string): string {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES5, true);
  return sf.statements
    .filter((st) => ts.isImportDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st))
    .map((st) => st.getFullText(sf))
    .join('');
}

/** The names a module declares at top level (functions, variables, classes; not types). */
function topLevelNames(file: string, text: string): string[] {
  const names: string[] = [];
  for (const st of ts.createSourceFile(file, text, ts.ScriptTarget.ES5).statements) {
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) names.push(st.name.text);
    if (ts.isVariableStatement(st))
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
  }
  return names;
}

/**
 * Turns typescript-to-lua's counting loops back into Lua numeric for loops. TSTL writes `for (let k = a; k < n; k++)`
 * as `do local k=a while k<n do ... k=k+1 end end`, which costs a compare, an add and a jump per iteration in
 * the interpreters (a numeric for is one FORLOOP instruction, and LuaJIT compiles it better). Only when that is
 * the same loop: the limit is made of locals and literals that the body never assigns, nor the counter, and
 * the bounds are integers (tensor extents). Runs on compactLua's output (one statement per line).
 */
export function numericForLoops(lua: string): string {
  const lines = lua.split('\n');
  const code = () => lines.map((l) => l.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/--.*$/, ''));
  const opens = (l: string) =>
    (l.match(/\b(function|if|do|repeat)\b/g) ?? []).length - (l.match(/\b(end|until)\b/g) ?? []).length;
  // The names a statement assigns (left of its first lone '='), ignoring fields and what is inside brackets.
  const assigns = (l: string, name: string) => {
    const eq = /(^|[^=<>~])=(?!=)/.exec(l);
    const lhs = eq ? l.slice(0, eq.index + eq[1].length).replace(/\[[^\]]*\]/g, '') : '';
    return new RegExp(`(^|[^.\\w])${name}\\b`).test(lhs);
  };
  for (let i = 0, c = code(); i + 2 < lines.length; i++) {
    const init = /^local ([A-Za-z_]\w*)=(.+)$/.exec(c[i + 1]);
    const loop =
      init && c[i] === 'do' ? new RegExp(`^while ${init[1]}(<=?)([\\w+*\\-() ]+?) ?do$`).exec(c[i + 2]) : null;
    if (!init || !loop) continue;
    let end = i + 2;
    for (let depth = opens(c[end]); depth > 0; ) depth += opens(c[++end]);
    const step = new RegExp(`^${init[1]}=${init[1]}\\+(\\d+)$`).exec(c[end - 1]);
    const body = c.slice(i + 3, end - 1);
    const names = [init[1], ...(loop[2].match(/[A-Za-z_]\w*/g) ?? [])];
    if (!step || c[end + 1] !== 'end' || body.some((l) => names.some((n) => assigns(l, n)))) continue;
    const limit = loop[1] === '<=' ? loop[2] : /^\w+$/.test(loop[2]) ? `${loop[2]}-1` : `(${loop[2]})-1`;
    lines.splice(end - 1, 3, 'end');
    lines.splice(i, 3, `for ${init[1]}=${init[2]},${limit}${step[1] === '1' ? '' : `,${step[1]}`} do`);
    c = code();
    i--;
  }
  return lines.join('\n');
}

/**
 * Replaces each top-level integer constant (capitalised, never shadowed) of the sources (`const OpCode_ADD = 5;`: the
 * generated layout, the DOT_* kinds) by its value and drops its definition, a line that `definition` matches
 * (name, value). Lua has no constants, so each would otherwise be a table lookup in the runtime's environment
 * on every use; esbuild's transform keeps them as variables. Either way they also cost bytes, except a value
 * longer than `longest` digits, which is shorter as a variable a minifier names. `defines` are replaced too.
 */
export function inlineConstants(
  code: string,
  tsSource: string,
  definition: RegExp,
  longest = Infinity,
  defines: Record<string, string> = {},
): string {
  const values = new Map<string, string>(Object.entries(defines));
  for (const m of tsSource.matchAll(/^(?:export )?const ([A-Z][A-Za-z0-9_]*) = (-?\d+);$/gm)) {
    if (m[2].length <= longest) values.set(m[1], m[2].startsWith('-') ? `(${m[2]})` : m[2]);
  }
  const lines = code.split('\n').filter((l) => {
    const m = definition.exec(l);
    return !(m && values.has(m[1]));
  });
  // Outside string literals only (a message could mention a name), and never a property name (`t.X`, or a Lua
  // table constructor's key `{X = v}`: nothing assigns a constant, so a name before a lone `=` is a key).
  const pieces = lines.join('\n').split(/("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/);
  const names = new RegExp(`(?<![.\\w])(${[...values.keys()].join('|')})\\b(?!\\s*=(?!=))`, 'g');
  return pieces.map((piece, i) => (i % 2 === 1 ? piece : piece.replace(names, (n) => values.get(n)!))).join('');
}

/**
 * Drops indentation, blank lines, whole-line comments and the spaces next to punctuation and operators (outside
 * string literals; not where "--" would start a comment or "1.." misread a number). The runtime's Lua has no long
 * strings or long comments, which this would not handle.
 */
export function compactLua(src: string): string {
  if (/\[\[|\[=+\[/.test(src)) throw new Error('compactLua: long brackets in the Lua output; extend the compactor');
  const keep = src
    .split('\n')
    .map((l) => l.trim())
    .filter((l, i) => l !== '' && (i < 2 || !l.startsWith('--')));
  // Not around "-" where that would make "--" (a comment), nor ".." after a digit (a malformed number).
  const squeeze = (code: string) =>
    code
      .replace(/ *([=+*/%<>(){}[\],;~#^:]) */g, '$1')
      .replace(/([^-\s]) - (?!-)/g, '$1-')
      .replace(/([^\d.\s]) \.\. /g, '$1..');
  return (
    keep
      .map((l, i) =>
        i < 2
          ? l
          : l
              .split(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/)
              .map((piece, k) => (k % 2 ? piece : squeeze(piece)))
              .join(''),
      )
      .join('\n') + '\n'
  );
}

/** Joins what typescript-to-lua spreads over lines, a call's arguments or a table's items: Lua reads newlines as spaces. */
export function joinContinuedLines(lua: string): string {
  const out: string[] = [];
  for (const line of lua.split('\n')) {
    const last = out.length - 1,
      prev = last >= 0 ? out[last] : '';
    if (last >= 0 && !prev.startsWith('--') && (/[(,]$/.test(prev) || line.startsWith(')'))) out[last] = prev + line;
    else out.push(line);
  }
  return out.join('\n');
}

/** The models whose per-model bundles build:device reports: the zoo, and the MLPerf Tiny int8 models when present. */
function reportedModels(): { name: string; blob: () => Uint8Array }[] {
  const zoo = fs
    .readdirSync(path.join(ROOT, 'models'))
    .filter((d) => fs.existsSync(path.join(ROOT, 'models', d, 'model.msl')))
    .map((d) => ({ name: d, blob: () => new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', d, 'model.msl'))) }));
  const mlperf = INT8_MODELS.filter((n) => fs.existsSync(mlperfFile(`${n}.tflite`))).map((n) => ({
    name: n,
    blob: () => compileTflite(mlperfFile(`${n}.tflite`)).blob,
  }));
  return [...zoo, ...mlperf];
}

/** The entry of a runtime for `blob`: the registry's kernels for its opcodes, packed-weight readers if it has any. */
export function modelEntry(blob: Uint8Array): string {
  const ops = [...new Set(decodeModel(blob).ops.map((o) => o.opcode as string))];
  const tensors = (decodeRoot(morselSchema(), blob) as { tensors?: { weight_layout: number; weight_bits: number }[] })
    .tensors;
  return registryEntry(
    ops,
    (tensors ?? []).some((t) => t.weight_layout !== 0 || t.weight_bits !== 8),
  );
}

/** Writes the full bundles into dist/device and reports their sizes against the budgets; with --models, each model's. */
async function main(): Promise<void> {
  const b = await buildDevice();
  fs.mkdirSync(OUT, { recursive: true });
  const write = (name: string, code: string, limit: number, what: string) => {
    fs.writeFileSync(path.join(OUT, name), code);
    const bytes = Buffer.byteLength(code);
    console.log(
      `dist/device/${name}: ${bytes.toLocaleString('en-US')} bytes ${what}${limit ? ` (target ≤ ${limit.toLocaleString('en-US')})` : ''}`,
    );
    return bytes <= limit || !limit;
  };
  const fits = [
    write('morsel.es5.js', b.es5, ES5_LIMIT, 'minified'),
    write('morsel.espruino.js', b.espruino, 0, 'minified'),
    write('morsel.lua', b.lua, LUA_LIMIT, 'compacted'),
  ];
  if (fits.includes(false))
    console.warn('build:device: a bundle exceeds its size budget (test/engines.test.ts fails on it)');
  if (!process.argv.includes('--models')) return;
  console.log('per-model bundles (morsel bundle): ES5 / Espruino / Lua bytes');
  for (const m of reportedModels()) {
    const entry = modelEntry(m.blob());
    const own = await bundleRuntime(entry);
    const kernels = entry.match(/(?<=\] = )\w+/g) ?? [];
    const kb = (n: string) => Buffer.byteLength(n).toLocaleString('en-US').padStart(7);
    console.log(`  ${m.name.padEnd(24)} ${kb(own.es5)} / ${kb(own.espruino)} / ${kb(own.lua)}  ${kernels.join(' ')}`);
    if (m.name === 'fashion_cnn' && Buffer.byteLength(own.es5) > ZOO_CNN_ES5_LIMIT)
      console.warn(
        `build:device: the zoo CNN's ES5 bundle exceeds ${ZOO_CNN_ES5_LIMIT} (test/engines.test.ts fails on it)`,
      );
  }
}
if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
