// Enforces the device subset on device/**/*.ts: what the embedded engines (Espruino, JerryScript, Duktape,
// Lua via typescript-to-lua) cannot be trusted with is a build error, not a review comment. typescript-to-lua
// itself fails the Lua build on anything it would translate with different semantics (tools/build-device.ts).

import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const BITWISE = new Set([
  ts.SyntaxKind.AmpersandToken,
  ts.SyntaxKind.BarToken,
  ts.SyntaxKind.CaretToken,
  ts.SyntaxKind.LessThanLessThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken,
  ts.SyntaxKind.AmpersandEqualsToken,
  ts.SyntaxKind.BarEqualsToken,
  ts.SyntaxKind.CaretEqualsToken,
  ts.SyntaxKind.LessThanLessThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken,
  ts.SyntaxKind.AsteriskAsteriskToken,
  ts.SyntaxKind.AsteriskAsteriskEqualsToken,
]);
const FORBIDDEN_NAMES = new Set(['Map', 'Set', 'WeakMap', 'Symbol', 'BigInt', 'Promise', 'Proxy', 'Reflect']);
const FORBIDDEN_MATH = new Set(['imul', 'clz32', 'fround', 'trunc', 'sign', 'log2', 'hypot']);

/** Whether a device source is also compiled to Lua: everything but the serial agent (device/agent/). */
export const sharedWithLuaBuild = (file: string): boolean => !file.split(path.sep).join('/').includes('device/agent/');

/** Whether a device source is the ES5 engines' alone (device/platform/*js.ts), which all have int32 bitwise operators. */
export const es5Only = (file: string): boolean =>
  /device\/platform\/[\w-]*js\.ts$/.test(file.split(path.sep).join('/'));

export function checkSource(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES5, true);
  const sharedWithLua = sharedWithLuaBuild(file);
  const bitwiseAllowed = es5Only(file);
  const problems: string[] = [];
  const report = (node: ts.Node, what: string) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    problems.push(`${file}:${line + 1}:${character + 1}: ${what}`);
  };
  const visit = (node: ts.Node, inLoop: boolean) => {
    if (!bitwiseAllowed && ts.isBinaryExpression(node) && BITWISE.has(node.operatorToken.kind))
      report(node, `operator '${node.operatorToken.getText(sf)}' (no bitwise or ** on device: Lua 5.1)`);
    if (!bitwiseAllowed && ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.TildeToken)
      report(node, "operator '~'");
    // typescript-to-lua rejects `var`; tsc lowers let/const to var for the ES5 engines (Espruino would share one
    // `let` binding per loop, but it never sees one). The agent is ES5-only and keeps its `var`s.
    if (sharedWithLua && ts.isVariableDeclarationList(node) && !(node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)))
      report(node, "'var' (typescript-to-lua rejects it): use let/const");
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isPropertyAccessExpression(node.left) &&
      node.left.name.text === 'length'
    )
      report(node, 'assignment to \'.length\' (Espruino: "Assignment to a constant")');
    if (ts.isArrowFunction(node)) report(node, 'arrow function');
    if (ts.isForOfStatement(node)) report(node, 'for-of');
    if (ts.isSpreadElement(node) || ts.isSpreadAssignment(node)) report(node, 'spread');
    if (ts.isObjectBindingPattern(node) || ts.isArrayBindingPattern(node)) report(node, 'destructuring');
    if (ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node)) report(node, 'template literal');
    if (
      (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)) &&
      (node.asteriskToken || node.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword))
    )
      report(node, 'generator/async');
    if (ts.isIdentifier(node) && FORBIDDEN_NAMES.has(node.text) && !ts.isPropertyAccessExpression(node.parent))
      report(node, `'${node.text}' is not available on every engine`);
    if (
      ts.isPropertyAccessExpression(node) &&
      node.expression.getText(sf) === 'Math' &&
      FORBIDDEN_MATH.has(node.name.text)
    )
      report(node, `Math.${node.name.text} is missing on Espruino`);
    if (inLoop && (ts.isFunctionExpression(node) || ts.isFunctionDeclaration(node)))
      report(node, 'function created inside a loop');
    const loop =
      inLoop ||
      ts.isForStatement(node) ||
      ts.isWhileStatement(node) ||
      ts.isDoStatement(node) ||
      ts.isForInStatement(node);
    ts.forEachChild(node, (c) => visit(c, loop));
  };
  visit(sf, false);
  return problems;
}

const BUFFER_TYPES = new Set([
  'Buf',
  'ArrayBuffer',
  'ArrayBufferLike',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
]);

/**
 * `===`, `!==`, `==` and `!=` with a typed array or buffer on either side, which Espruino evaluates by comparing
 * contents (on an arena, until it runs out of memory: ../shared/notes/esp32-memory.md). Needs types, so it takes
 * whole sources: `sources` maps file names to texts (a .d.ts among them declares what they share).
 */
export function bufferComparisons(sources: Map<string, string>): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES5,
    lib: ['lib.es5.d.ts'],
    types: [],
    noEmit: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile,
    getSourceFile = host.getSourceFile;
  host.fileExists = (f) => sources.has(f) || ts.sys.fileExists(f);
  host.directoryExists = (d) => [...sources.keys()].some((f) => f.startsWith(`${d}/`)) || ts.sys.directoryExists(d);
  host.readFile = (f) => sources.get(f) ?? read(f);
  host.getSourceFile = (f, lang, onError) =>
    sources.has(f) ? ts.createSourceFile(f, sources.get(f)!, lang, true) : getSourceFile(f, lang, onError);
  const program = ts.createProgram([...sources.keys()], options, host);
  const checker = program.getTypeChecker();
  const isBuffer = (e: ts.Expression) => {
    const t = checker.getTypeAtLocation(e);
    const name = (t.aliasSymbol ?? t.getSymbol())?.getName();
    return name !== undefined && BUFFER_TYPES.has(name);
  };
  const problems: string[] = [];
  for (const sf of program.getSourceFiles().filter((f) => sources.has(f.fileName))) {
    const visit = (node: ts.Node) => {
      if (
        ts.isBinaryExpression(node) &&
        [
          ts.SyntaxKind.EqualsEqualsEqualsToken,
          ts.SyntaxKind.ExclamationEqualsEqualsToken,
          ts.SyntaxKind.EqualsEqualsToken,
          ts.SyntaxKind.ExclamationEqualsToken,
        ].includes(node.operatorToken.kind) &&
        (isBuffer(node.left) || isBuffer(node.right))
      ) {
        const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
        problems.push(
          `${sf.fileName}:${line + 1}:${character + 1}: typed array or buffer compared with '${node.operatorToken.getText(sf)}' (Espruino compares contents)`,
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return problems;
}

export function deviceSources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  walk(path.join(root, 'device'));
  return out.sort();
}

if (require.main === module) {
  const root = path.join(__dirname, '..', '..');
  const files = deviceSources(root);
  const runtime = files.filter(sharedWithLuaBuild);
  const problems = [
    ...files.flatMap((f) => checkSource(path.relative(root, f), fs.readFileSync(f, 'utf8'))),
    ...bufferComparisons(new Map(runtime.map((f) => [f, fs.readFileSync(f, 'utf8')]))),
  ];
  if (problems.length) {
    console.error(`device subset violations:\n${problems.join('\n')}`);
    process.exit(1);
  }
}
