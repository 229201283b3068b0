// A parser for the subset of the FlatBuffers schema language that schema/morsel.fbs uses
// (namespace, file_identifier, enums, unions, tables with scalar/string/table/union/vector fields,
// defaults and attributes, `attribute` declarations, `///` doc comments and attributes on enum values). The host's
// encoder/decoder, the device's generated layout and the generated host contract (tools/gen-contracts.ts) come from it.

import * as fs from 'fs';
import * as path from 'path';

export type ScalarName =
  | 'bool'
  | 'byte'
  | 'ubyte'
  | 'short'
  | 'ushort'
  | 'int'
  | 'uint'
  | 'float'
  | 'long'
  | 'ulong'
  | 'double';

export type FbsType =
  | { kind: 'scalar'; scalar: ScalarName }
  | { kind: 'enum'; name: string; scalar: ScalarName }
  | { kind: 'string' }
  | { kind: 'table'; name: string }
  | { kind: 'union'; name: string }
  | { kind: 'vector'; elem: FbsType };

interface FbsField {
  name: string;
  type: FbsType;
  /** vtable slot; a union field `x` occupies slot−1 for `x_type` and slot for the value. */
  slot: number;
  defaultValue: number;
  attributes: Record<string, string>;
}
export interface FbsTable {
  name: string;
  fields: FbsField[];
}
export interface FbsEnum {
  name: string;
  scalar: ScalarName;
  values: Map<string, number>;
  /** The enum's `///` doc comment ('' when none). */
  doc: string;
  /** Each value's `///` doc comment and attributes, in declaration order. */
  valueInfo: Map<string, { doc: string; attributes: Record<string, string> }>;
}
interface FbsUnion {
  name: string;
  members: string[];
}

export interface FbsSchema {
  namespace: string;
  fileIdentifier: string;
  rootType: string;
  tables: Map<string, FbsTable>;
  enums: Map<string, FbsEnum>;
  unions: Map<string, FbsUnion>;
  /** User attributes declared with `attribute "name";`. */
  attributes: Set<string>;
}

export const SCALAR_BYTES: Record<ScalarName, number> = {
  bool: 1,
  byte: 1,
  ubyte: 1,
  short: 2,
  ushort: 2,
  int: 4,
  uint: 4,
  float: 4,
  long: 8,
  ulong: 8,
  double: 8,
};
const SCALARS = new Set(Object.keys(SCALAR_BYTES));
/** flatc's own attributes that this schema may use without declaring them. */
const BUILTIN_ATTRIBUTES = new Set(['id', 'deprecated', 'required', 'force_align', 'key', 'bit_flags']);

/** Splits on `separator` outside parentheses. */
function splitOutsideParens(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** `a, b: 1, c: "x"` (the inside of a metadata list) as {a: '', b: '1', c: 'x'}. */
function parseAttributes(list: string | undefined): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const a of (list ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [k, v] = a.split(':').map((x) => x.trim());
    attributes[k] = (v ?? '').replace(/^"|"$/g, '');
  }
  return attributes;
}

export function parseFbs(text: string): FbsSchema {
  // `///` doc comments become markers (@doc<n>@) the enum parser reads; then other comments go.
  const docs: string[] = [];
  const src = text
    .replace(/\/\/\/ ?([^\n]*)/g, (_, doc: string) => ` @doc${docs.push(doc.trim()) - 1}@ `)
    .replace(/\/\/[^\n]*/g, '');
  const DOC = /@doc(\d+)@/g;
  const takeDocs = (chunk: string): { doc: string; rest: string } => ({
    doc: [...chunk.matchAll(DOC)].map((m) => docs[Number(m[1])]).join(' '),
    rest: chunk.replace(DOC, '').trim(),
  });
  const schema: FbsSchema = {
    namespace: '',
    fileIdentifier: '',
    rootType: '',
    tables: new Map(),
    enums: new Map(),
    unions: new Map(),
    attributes: new Set(),
  };
  const declared = new Map<string, 'table' | 'enum' | 'union'>();
  const blocks: { kind: string; name: string; base?: string; body: string; doc: string }[] = [];
  const re =
    /((?:\s*@doc\d+@)*)\s*\b(table|struct|enum|union)\s+(\w+)\s*(?::\s*(\w+))?\s*\{([^}]*)\}|\b(namespace|file_identifier|file_extension|root_type|attribute)\s+([^;]+);/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (m[2]) {
      if (m[2] === 'struct') throw new Error(`fbs: structs are not supported (${m[3]})`);
      const body = m[2] === 'enum' ? m[5] : m[5].replace(DOC, '');
      blocks.push({ kind: m[2], name: m[3], base: m[4], body, doc: takeDocs(m[1]).doc });
      declared.set(m[3], m[2] as 'table' | 'enum' | 'union');
    } else {
      const value = m[7].trim().replace(/^"|"$/g, '');
      if (m[6] === 'namespace') schema.namespace = value;
      if (m[6] === 'file_identifier') schema.fileIdentifier = value;
      if (m[6] === 'root_type') schema.rootType = value;
      if (m[6] === 'attribute') schema.attributes.add(value);
    }
  }
  const checkAttributes = (attributes: Record<string, string>, where: string) => {
    for (const k of Object.keys(attributes))
      if (!BUILTIN_ATTRIBUTES.has(k) && !schema.attributes.has(k))
        throw new Error(`fbs: attribute '${k}' of ${where} is not declared`);
  };
  for (const b of blocks) {
    if (b.kind === 'enum') {
      const values = new Map<string, number>();
      const valueInfo: FbsEnum['valueInfo'] = new Map();
      let next = 0;
      for (const item of splitOutsideParens(b.body, ',')) {
        const { doc, rest } = takeDocs(item);
        if (!rest) continue;
        const vm = /^(\w+)\s*(?:=\s*(-?\w+))?\s*(?:\((.*)\))?$/.exec(rest);
        if (!vm) throw new Error(`fbs: cannot parse enum value '${rest}' in ${b.name}`);
        next = vm[2] !== undefined ? Number(vm[2]) : next;
        const attributes = parseAttributes(vm[3]);
        checkAttributes(attributes, `${b.name}.${vm[1]}`);
        values.set(vm[1], next++);
        valueInfo.set(vm[1], { doc, attributes });
      }
      schema.enums.set(b.name, {
        name: b.name,
        scalar: (b.base ?? 'int') as ScalarName,
        values,
        doc: b.doc,
        valueInfo,
      });
    } else if (b.kind === 'union') {
      schema.unions.set(b.name, {
        name: b.name,
        members: b.body
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      });
    }
  }
  const resolve = (t: string): FbsType => {
    const vec = /^\[(.+)\]$/.exec(t);
    if (vec) return { kind: 'vector', elem: resolve(vec[1].trim()) };
    if (SCALARS.has(t)) return { kind: 'scalar', scalar: t as ScalarName };
    if (t === 'string') return { kind: 'string' };
    const kind = declared.get(t);
    if (kind === 'enum') return { kind: 'enum', name: t, scalar: schema.enums.get(t)!.scalar };
    if (kind === 'union') return { kind: 'union', name: t };
    if (kind === 'table') return { kind: 'table', name: t };
    throw new Error(`fbs: unknown type '${t}'`);
  };
  for (const b of blocks.filter((x) => x.kind === 'table')) {
    const fields: FbsField[] = [];
    let slot = 0;
    for (const decl of b.body
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const fm = /^(\w+)\s*:\s*(\[?\s*\w+\s*\]?)\s*(?:=\s*([^()\s]+))?\s*(?:\((.*)\))?$/.exec(decl);
      if (!fm) throw new Error(`fbs: cannot parse field '${decl}' in table ${b.name}`);
      const type = resolve(fm[2].replace(/\s+/g, ''));
      if (type.kind === 'union') slot++;
      let defaultValue = 0;
      if (fm[3] !== undefined) {
        defaultValue =
          type.kind === 'enum' ? (schema.enums.get(type.name)!.values.get(fm[3]) ?? Number(fm[3])) : Number(fm[3]);
        if (!Number.isFinite(defaultValue)) throw new Error(`fbs: bad default '${fm[3]}' for ${b.name}.${fm[1]}`);
      }
      const attributes = parseAttributes(fm[4]);
      checkAttributes(attributes, `${b.name}.${fm[1]}`);
      fields.push({ name: fm[1], type, slot: slot++, defaultValue, attributes });
    }
    schema.tables.set(b.name, { name: b.name, fields });
  }
  if (!schema.tables.has(schema.rootType)) throw new Error(`fbs: root_type '${schema.rootType}' is not a table`);
  return schema;
}

/** The newest value of enum FormatVersion: the version readers accept up to. */
export const newestFormatVersion = (s: FbsSchema): number =>
  Math.max(...(s.enums.get('FormatVersion')?.values.values() ?? []));

/** The values of an enum that carry an attribute, in declaration order. */
export const valuesWithAttribute = (e: FbsEnum, attribute: string): string[] =>
  [...e.valueInfo].filter(([, info]) => attribute in info.attributes).map(([name]) => name);

/** vtable byte offset of a slot. */
export const vtableOffset = (slot: number): number => 4 + 2 * slot;

let cached: FbsSchema | undefined;

/** schema/morsel.fbs, found from the compiled or the source tree. */
export function morselSchemaPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'schema', 'morsel.fbs');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('schema/morsel.fbs not found');
  }
}

export function morselSchema(): FbsSchema {
  return (cached ??= parseFbs(fs.readFileSync(morselSchemaPath(), 'utf8')));
}
