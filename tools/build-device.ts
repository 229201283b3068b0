// Builds the device runtime from the one source tree in device/ (file list and order: device/tsconfig.json):
//   dist/device/morsel.es5.js       tsc (target ES5) into one script, wrapped to define a global `Morsel`,
//                                   minified by esbuild; platform/js.ts supplies typed arrays
//   dist/device/morsel.espruino.js  the same code as an Espruino module: require("morsel").load(bytes)
//   dist/device/morsel.lua          typescript-to-lua (Lua 5.1 output, which 5.3 and LuaJIT also run), with
//                                   platform/lua.lua in place of platform/js.ts; `return`s the Morsel table

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { transformSync } from 'esbuild';
import * as ts from 'typescript';
import * as tstl from 'typescript-to-lua';

const ROOT = path.join(__dirname, '..', '..');
const DEVICE = path.join(ROOT, 'device');
const OUT = path.join(ROOT, 'dist', 'device');
export const ES5_LIMIT = 26 * 1024;
export const LUA_LIMIT = 52 * 1024;
/** What each build fixes at build time (device/platform/api.d.ts); esbuild drops the ES5 bundle's dead branches. */
const ES5_DEFINES = { TRACING_JIT: 'false', ROUND_BY_FLOOR: 'false' };
const LUA_DEFINES = { ROUND_BY_FLOOR: 'true' };

export interface DeviceBuild {
  es5: string;
  es5Bytes: number;
  lua: string;
  luaBytes: number;
}

export function buildDevice(): DeviceBuild {
  execFileSync(process.execPath, [path.join(__dirname, 'check-device-subset.js')], { stdio: 'inherit' });
  fs.mkdirSync(OUT, { recursive: true });
  const tmp = path.join(OUT, 'morsel.es5.tmp.js');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(DEVICE, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  const sources = deviceFiles()
    .map((f) => fs.readFileSync(path.join(DEVICE, f), 'utf8'))
    .join('\n');
  const code = inlineConstants(fs.readFileSync(tmp, 'utf8'), sources, /^var ([A-Za-z_]\w*) = (-?\d+);$/, 4);
  fs.rmSync(tmp);
  const wrapped = `(function (global) {\n${code}\nglobal.Morsel = Morsel;\n})(typeof globalThis !== "undefined" ? globalThis : this);\n`;
  const mangleProps = internalProperties();
  const min = minifyEs5(wrapped, mangleProps);
  const es5 = path.join(OUT, 'morsel.es5.js');
  fs.writeFileSync(es5, min);
  fs.writeFileSync(
    path.join(OUT, 'morsel.espruino.js'),
    minifyEs5(`(function(){${code}\nexports.load=Morsel.load;exports.version=Morsel.version;})();`, mangleProps),
  );
  const luaCode = buildLua();
  const lua = path.join(OUT, 'morsel.lua');
  fs.writeFileSync(lua, luaCode);
  return { es5, es5Bytes: Buffer.byteLength(min), lua, luaBytes: Buffer.byteLength(luaCode) };
}

/** esbuild fixes the build's defines (dropping the dead branches), shortens the runtime's own property names and minifies. */
function minifyEs5(code: string, mangleProps: RegExp): string {
  return transformSync(code, { minify: true, target: 'es5', legalComments: 'none', mangleProps, define: ES5_DEFINES })
    .code;
}

/**
 * The property names esbuild may shorten: members of the runtime's own interfaces (PreparedOp, TensorInfo, ...)
 * and the private members of its classes, minus any name the sources also read off something else (a typed
 * array's `buffer`, ...). Public API names (load, invoke, inputShape, ...) are never among them.
 */
function internalProperties(): RegExp {
  const files = deviceFiles().map((f) => path.join(DEVICE, f));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES5,
    lib: ['lib.es5.d.ts'],
    types: [],
    noEmit: true,
    ignoreDeprecations: '6.0',
  });
  const checker = program.getTypeChecker();
  const internal = new Set<string>();
  const accessed = new Set<string>();
  for (const sf of program.getSourceFiles().filter((f) => files.includes(path.normalize(f.fileName)))) {
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
        if (
          !decl ||
          files.indexOf(path.normalize(decl.getSourceFile().fileName)) < 0 ||
          decl.getSourceFile().fileName.endsWith('.d.ts')
        )
          accessed.add(node.name.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const names = [...internal].filter((n) => !accessed.has(n));
  return new RegExp(`^(${names.join('|')})$`);
}

/** The device sources in build order, as listed in device/tsconfig.json. */
function deviceFiles(): string[] {
  return JSON.parse(fs.readFileSync(path.join(DEVICE, 'tsconfig.json'), 'utf8')).files;
}

/**
 * Transpiles the device sources to one Lua chunk. They are concatenated into one virtual file so that the few
 * lualib helpers typescript-to-lua needs are inlined once; any diagnostic (error or warning, e.g. a truthiness
 * test that Lua would read differently) fails the build, reported at its original file and line.
 */
const platformFile = (name: string) => fs.readFileSync(path.join(DEVICE, 'platform', name), 'utf8');

function buildLua(): string {
  const sources = deviceFiles().filter((f) => f !== 'platform/js.ts' && !f.endsWith('.d.ts'));
  const starts: { file: string; line: number }[] = [];
  let line = 0;
  const parts = sources.map((f) => {
    const text = fs.readFileSync(path.join(DEVICE, f), 'utf8').replace(/\n?$/, '\n');
    starts.push({ file: f, line });
    line += text.split('\n').length - 1;
    return text;
  });
  const result = tstl.transpileVirtualProject(
    { 'morsel.ts': parts.join(''), 'api.d.ts': platformFile('api.d.ts'), 'lua.d.ts': platformFile('lua.d.ts') },
    {
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
    },
  );
  if (result.diagnostics.length) {
    const where = (d: ts.Diagnostic) => {
      if (!d.file || d.start === undefined) return 'device';
      const l = d.file.getLineAndCharacterOfPosition(d.start).line;
      if (d.file.fileName !== 'morsel.ts') return `${d.file.fileName}:${l + 1}`;
      const s = starts.filter((x) => x.line <= l).pop()!;
      return `device/${s.file}:${l - s.line + 1}`;
    };
    throw new Error(
      `typescript-to-lua:\n${result.diagnostics.map((d) => `${where(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`).join('\n')}`,
    );
  }
  const platform = platformFile('lua.lua');
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

/**
 * Turns typescript-to-lua's counting loops back into Lua numeric for loops. TSTL writes `for (let k = a; k < n; k++)`
 * as `do local k=a while k<n do ... k=k+1 end end`, which costs a compare, an add and a jump per iteration in
 * the interpreters (a numeric for is one FORLOOP instruction, and LuaJIT compiles it better). Only when that is
 * the same loop: the limit is made of locals and literals that the body never assigns, nor the counter, and
 * the bounds are integers (tensor extents). Runs on compactLua's output (one statement per line).
 */
function numericForLoops(lua: string): string {
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
function inlineConstants(
  code: string,
  tsSource: string,
  definition: RegExp,
  longest = Infinity,
  defines: Record<string, string> = {},
): string {
  const values = new Map<string, string>(Object.entries(defines));
  for (const m of tsSource.matchAll(/^const ([A-Z][A-Za-z0-9_]*) = (-?\d+);$/gm)) {
    if (m[2].length <= longest) values.set(m[1], m[2].startsWith('-') ? `(${m[2]})` : m[2]);
  }
  const lines = code.split('\n').filter((l) => {
    const m = definition.exec(l);
    return !(m && values.has(m[1]));
  });
  // Outside string literals only (a message could mention a name), and never a property name.
  const pieces = lines.join('\n').split(/("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/);
  const names = new RegExp(`(?<![.\\w])(${[...values.keys()].join('|')})\\b`, 'g');
  return pieces.map((piece, i) => (i % 2 === 1 ? piece : piece.replace(names, (n) => values.get(n)!))).join('');
}

/**
 * Drops indentation, blank lines, whole-line comments and the spaces next to punctuation and operators (outside
 * string literals; not where "--" would start a comment or "1.." misread a number). The runtime's Lua has no long
 * strings or long comments, which this would not handle.
 */
function compactLua(src: string): string {
  if (/\[\[|\[=+\[/.test(src)) throw new Error('compactLua: long brackets in the Lua output; extend the compactor');
  const keep = src
    .split('\n')
    .map((l) => l.trim())
    .filter((l, i) => l !== '' && (i < 2 || !l.startsWith('--')));
  // Not around "-" where that would make "--" (a comment), nor ".." after a digit (a malformed number).
  const squeeze = (code: string) =>
    code
      .replace(/ *([=+*\/%<>(){}\[\],;~#^:]) */g, '$1')
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
function joinContinuedLines(lua: string): string {
  const out: string[] = [];
  for (const line of lua.split('\n')) {
    const last = out.length - 1,
      prev = last >= 0 ? out[last] : '';
    if (last >= 0 && !prev.startsWith('--') && (/[(,]$/.test(prev) || line.startsWith(')'))) out[last] = prev + line;
    else out.push(line);
  }
  return out.join('\n');
}

if (require.main === module) {
  const b = buildDevice();
  const report = (file: string, bytes: number, limit: number, what: string) =>
    console.log(
      `${path.relative(process.cwd(), file)}: ${bytes.toLocaleString('en-US')} bytes ${what} (target ≤ ${limit.toLocaleString('en-US')})`,
    );
  report(b.es5, b.es5Bytes, ES5_LIMIT, 'minified');
  report(b.lua, b.luaBytes, LUA_LIMIT, 'compacted');
  if (b.es5Bytes > ES5_LIMIT || b.luaBytes > LUA_LIMIT)
    console.warn('build:device: a bundle exceeds its size budget (test/engines.test.ts fails on it)');
}
