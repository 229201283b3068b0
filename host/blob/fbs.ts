// A parser for the subset of the FlatBuffers schema language that schema/morsel.fbs uses
// (namespace, file_identifier, enums, unions, tables with scalar/string/table/union/vector fields,
// defaults and attributes). The host's encoder/decoder and the device's generated layout both come from it.

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

export interface FbsField {
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
}
export interface FbsUnion {
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

export function parseFbs(text: string): FbsSchema {
  const src = text.replace(/\/\/[^\n]*/g, '');
  const schema: FbsSchema = {
    namespace: '',
    fileIdentifier: '',
    rootType: '',
    tables: new Map(),
    enums: new Map(),
    unions: new Map(),
  };
  const declared = new Map<string, 'table' | 'enum' | 'union'>();
  const blocks: { kind: string; name: string; base?: string; body: string }[] = [];
  const re =
    /\b(table|struct|enum|union)\s+(\w+)\s*(?::\s*(\w+))?\s*\{([^}]*)\}|\b(namespace|file_identifier|file_extension|root_type)\s+([^;]+);/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (m[1]) {
      if (m[1] === 'struct') throw new Error(`fbs: structs are not supported (${m[2]})`);
      blocks.push({ kind: m[1], name: m[2], base: m[3], body: m[4] });
      declared.set(m[2], m[1] as 'table' | 'enum' | 'union');
    } else {
      const value = m[6].trim().replace(/^"|"$/g, '');
      if (m[5] === 'namespace') schema.namespace = value;
      if (m[5] === 'file_identifier') schema.fileIdentifier = value;
      if (m[5] === 'root_type') schema.rootType = value;
    }
  }
  for (const b of blocks) {
    if (b.kind === 'enum') {
      const values = new Map<string, number>();
      let next = 0;
      for (const item of b.body
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [name, value] = item.split('=').map((s) => s.trim());
        next = value !== undefined ? Number(value) : next;
        values.set(name, next++);
      }
      schema.enums.set(b.name, { name: b.name, scalar: (b.base ?? 'int') as ScalarName, values });
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
      const attributes: Record<string, string> = {};
      for (const a of (fm[4] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [k, v] = a.split(':').map((s) => s.trim());
        attributes[k] = v ?? '';
      }
      fields.push({ name: fm[1], type, slot: slot++, defaultValue, attributes });
    }
    schema.tables.set(b.name, { name: b.name, fields });
  }
  if (!schema.tables.has(schema.rootType)) throw new Error(`fbs: root_type '${schema.rootType}' is not a table`);
  return schema;
}

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
