// The device's refusal texts, moved to the host. In device/ a refusal reads as it should
// (`failOp('BUFFER', oi, 'tensor ' + ti + ' refers to a missing buffer')`), and so does every refusal the host's
// verifier (which runs those sources) reports. The device bundles carry each such text as its number in
// host/ir/device-messages.ts (written by `npm run gen:contracts`, append-only, so a board's numbers keep their
// meaning) followed by the values it names: the board says `MRSL_E_BUFFER: #12 5` and the host reads that back as
// `MRSL_E_BUFFER: tensor 5 refers to a missing buffer` (host/blob/verify.ts, explainDeviceError). The code, the
// op index and the values stay on the board; only the words move.

import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** The refusal functions of device/format/reader.ts and which argument is the text (the rest is code and op index). */
const TEXT_ARGUMENT: Record<string, number> = { fail: 1, failOp: 2, badOptions: 1, badShape: 1, badWeights: 0 };
/** Those that take the error code, as their first argument. */
const CODE_ARGUMENT = new Set(['fail', 'failOp']);

/** Where a value goes in a template. */
export const PLACEHOLDER = '%';
/** Most values one refusal names (the refusal functions' optional arguments a, b, c). */
const MAX_VALUES = 3;

interface Site {
  /** What to replace (source positions) and with what: a code, or a text and the values it names. */
  start: number;
  end: number;
  code?: string;
  template?: string;
  values?: string[];
}

/**
 * The refusals of one device source. Each error code a refusal function is called with, and each text: a string
 * literal, or a `+` chain of string literals and at most MAX_VALUES values that starts with a literal or with a value
 * then a literal (a chain that starts with two values would add them). The text is its call's last argument. In the
 * refusal functions' own bodies only the codes count (their text is their caller's).
 */
function sites(file: string, text: string): Site[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES5, true);
  const out: Site[] = [];
  const literal = (e: ts.Expression): e is ts.StringLiteral => ts.isStringLiteral(e);
  const visit = (node: ts.Node, inRefusal: boolean) => {
    if (ts.isFunctionDeclaration(node) && node.name && node.name.text in TEXT_ARGUMENT) inRefusal = true;
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text in TEXT_ARGUMENT) {
      const name = node.expression.text;
      const code = node.arguments[0];
      if (CODE_ARGUMENT.has(name) && code && literal(code))
        out.push({ start: code.getStart(sf), end: code.getEnd(), code: code.text });
      const arg = node.arguments[TEXT_ARGUMENT[name]];
      const parts = arg && !inRefusal && node.arguments.length === TEXT_ARGUMENT[name] + 1 ? chain(arg) : [];
      const values = parts.filter((p) => !literal(p));
      if (
        parts.some(literal) &&
        (parts.length < 2 || literal(parts[0]) || literal(parts[1])) &&
        values.length <= MAX_VALUES &&
        !parts.some((p) => literal(p) && p.text.includes(PLACEHOLDER))
      )
        out.push({
          start: arg.getStart(sf),
          end: arg.getEnd(),
          template: parts.map((p) => (literal(p) ? p.text : PLACEHOLDER)).join(''),
          values: values.map((p) => p.getText(sf)),
        });
    }
    ts.forEachChild(node, (child) => visit(child, inRefusal));
  };
  visit(sf, false);
  return out;
}

/** The operands of a left-nested `a + b + c` (one operand when it is not a sum; `(k + 1)` is one value). */
function chain(e: ts.Expression): ts.Expression[] {
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken)
    return [...chain(e.left), ...chain(e.right)];
  return [e];
}

/** The device sources whose refusals the table covers: device/ but the serial agent, sorted. */
export function deviceSources(deviceDir: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) {
        if (name !== 'agent') walk(p);
      } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(deviceDir);
  return files;
}

/** Every refusal template of the device sources, in file and source order, each once. */
export function deviceTemplates(files: string[]): string[] {
  const seen = new Set<string>();
  for (const f of files)
    for (const s of sites(f, fs.readFileSync(f, 'utf8'))) if (s.template !== undefined) seen.add(s.template);
  return [...seen];
}

/**
 * `source` with each refusal numbered: its error code by `codes` (the schema's ErrorCode values), its text, when
 * `table` holds it, by its 1-based place there followed by the values it names as arguments
 * (`failOp('SHAPE', oi, 'tensor ' + t + ' is 5-D')` becomes `failOp(15, oi, 12, t)`). A text the table lacks stays
 * (a stale table costs bytes, never meaning).
 */
export function numberMessages(
  file: string,
  source: string,
  table: readonly string[],
  codes: ReadonlyMap<string, number>,
): string {
  let out = source;
  for (const s of sites(file, source).sort((a, b) => b.start - a.start)) {
    let expr: string;
    if (s.code !== undefined) {
      if (!codes.has(s.code)) throw new Error(`${file}: '${s.code}' is not an ErrorCode of schema/morsel.fbs`);
      expr = String(codes.get(s.code));
    } else {
      const id = table.indexOf(s.template!) + 1;
      if (id === 0) continue;
      expr = [String(id), ...s.values!.map((v) => `(${v})`)].join(', ');
    }
    const lines = out.slice(s.start, s.end).replace(/[^\n]/g, ''); // each line where it was (diagnostics)
    out = out.slice(0, s.start) + expr + lines + out.slice(s.end);
  }
  return out;
}
