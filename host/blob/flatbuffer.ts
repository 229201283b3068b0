// Schema-driven FlatBuffers encoding and decoding of plain objects, so the blob layout lives only in the
// .fbs file. Objects use the schema's field names; a union field `x` is written from `x_type` (the member
// table's name) and `x` (its object). Unknown fields are an error, so a typo cannot silently drop data.

import { Builder } from 'flatbuffers';
import { type FbsSchema, type FbsTable, type FbsType, SCALAR_BYTES, type ScalarName, vtableOffset } from './fbs';

type Obj = Record<string, unknown>;

export class BlobFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobFormatError';
  }
}

function scalarOf(t: FbsType): ScalarName | undefined {
  return t.kind === 'scalar' ? t.scalar : t.kind === 'enum' ? t.scalar : undefined;
}

function addScalar(b: Builder, s: ScalarName, v: number): void {
  switch (s) {
    case 'bool':
    case 'byte':
    case 'ubyte':
      b.addInt8(v);
      break;
    case 'short':
    case 'ushort':
      b.addInt16(v);
      break;
    case 'int':
    case 'uint':
      b.addInt32(v);
      break;
    case 'float':
      b.addFloat32(v);
      break;
    case 'double':
      b.addFloat64(v);
      break;
    default:
      throw new BlobFormatError(`64-bit integers are not supported (${s})`);
  }
}

function addFieldScalar(b: Builder, slot: number, s: ScalarName, v: number, dflt: number): void {
  switch (s) {
    case 'bool':
    case 'byte':
    case 'ubyte':
      b.addFieldInt8(slot, v, dflt);
      break;
    case 'short':
    case 'ushort':
      b.addFieldInt16(slot, v, dflt);
      break;
    case 'int':
    case 'uint':
      b.addFieldInt32(slot, v, dflt);
      break;
    case 'float':
      b.addFieldFloat32(slot, v, dflt);
      break;
    case 'double':
      b.addFieldFloat64(slot, v, dflt);
      break;
    default:
      throw new BlobFormatError(`64-bit integers are not supported (${s})`);
  }
}

/** Writes raw bytes as a vector whose first element is aligned to `align` from the buffer's start. */
function createAlignedBytes(b: Builder, data: Uint8Array, align: number): number {
  const raw = b as unknown as { space: number; bb: { setPosition(p: number): void; bytes(): Uint8Array } };
  b.startVector(1, data.length, align);
  raw.bb.setPosition((raw.space -= data.length));
  raw.bb.bytes().set(data, raw.space);
  return b.endVector();
}

function encodeVector(
  b: Builder,
  schema: FbsSchema,
  elem: FbsType,
  value: unknown,
  align: number,
  where: string,
): number {
  if (elem.kind === 'string' || elem.kind === 'table') {
    const items = value as unknown[];
    const offsets = items.map((x, i) =>
      elem.kind === 'string'
        ? b.createString(String(x))
        : encodeTable(b, schema, elem.name, x as Obj, `${where}[${i}]`),
    );
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
    return b.endVector();
  }
  const s = scalarOf(elem);
  if (!s) throw new BlobFormatError(`${where}: vectors of ${elem.kind} are not supported`);
  const size = SCALAR_BYTES[s];
  if (value instanceof Uint8Array || value instanceof Int8Array) {
    if (size !== 1) throw new BlobFormatError(`${where}: byte data given for a vector of ${s}`);
    return createAlignedBytes(b, new Uint8Array(value.buffer, value.byteOffset, value.length), Math.max(align, 1));
  }
  const items = Array.from(value as ArrayLike<number>);
  b.startVector(size, items.length, Math.max(align, size));
  for (let i = items.length - 1; i >= 0; i--) addScalar(b, s, items[i]);
  return b.endVector();
}

export function encodeTable(b: Builder, schema: FbsSchema, tableName: string, obj: Obj, where = tableName): number {
  const table = schema.tables.get(tableName);
  if (!table) throw new BlobFormatError(`unknown table ${tableName}`);
  const known = new Set(table.fields.flatMap((f) => (f.type.kind === 'union' ? [f.name, `${f.name}_type`] : [f.name])));
  for (const k of Object.keys(obj))
    if (!known.has(k)) throw new BlobFormatError(`${where}: table ${tableName} has no field '${k}'`);
  // Children first: FlatBuffers cannot nest object construction.
  const offsets = new Map<string, number>();
  for (const f of table.fields) {
    const v = obj[f.name];
    if (v === undefined || v === null || scalarOf(f.type)) continue;
    const at = `${where}.${f.name}`;
    if (f.type.kind === 'string') offsets.set(f.name, b.createString(String(v)));
    else if (f.type.kind === 'table') offsets.set(f.name, encodeTable(b, schema, f.type.name, v as Obj, at));
    else if (f.type.kind === 'vector')
      offsets.set(f.name, encodeVector(b, schema, f.type.elem, v, Number(f.attributes.force_align ?? 0), at));
    else if (f.type.kind === 'union') {
      const member = String(obj[`${f.name}_type`]);
      if (!schema.unions.get(f.type.name)!.members.includes(member))
        throw new BlobFormatError(`${at}: '${member}' is not a member of union ${f.type.name}`);
      offsets.set(f.name, encodeTable(b, schema, member, v as Obj, at));
    }
  }
  const slots = table.fields.reduce((n, f) => Math.max(n, f.slot + 1), 0);
  b.startObject(slots);
  for (const f of table.fields) {
    const s = scalarOf(f.type);
    if (s) {
      const v = obj[f.name];
      if (v !== undefined) addFieldScalar(b, f.slot, s, Number(v), f.defaultValue);
    } else if (offsets.has(f.name)) {
      if (f.type.kind === 'union') {
        const tag = schema.unions.get(f.type.name)!.members.indexOf(String(obj[`${f.name}_type`])) + 1;
        b.addFieldInt8(f.slot - 1, tag, 0);
      }
      b.addFieldOffset(f.slot, offsets.get(f.name)!, 0);
    }
  }
  return b.endObject();
}

export function encodeRoot(schema: FbsSchema, obj: Obj): Uint8Array {
  const b = new Builder(1024);
  const root = encodeTable(b, schema, schema.rootType, obj);
  b.finish(root, schema.fileIdentifier || undefined);
  return b.asUint8Array().slice();
}

// ---- decoding ----

export interface FieldLocation {
  /** byte position of the field's value, or −1 when absent (default) */ pos: number;
}

class Reader {
  private view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(pos: number, size: number, what: string): void {
    if (!(pos >= 0 && pos + size <= this.bytes.length))
      throw new BlobFormatError(`${what} is out of bounds (${pos}+${size} > ${this.bytes.length})`);
  }
  u8(p: number) {
    this.check(p, 1, 'byte');
    return this.view.getUint8(p);
  }
  u16(p: number) {
    this.check(p, 2, 'u16');
    return this.view.getUint16(p, true);
  }
  u32(p: number) {
    this.check(p, 4, 'u32');
    return this.view.getUint32(p, true);
  }
  i32(p: number) {
    this.check(p, 4, 'i32');
    return this.view.getInt32(p, true);
  }
  scalar(p: number, s: ScalarName): number {
    this.check(p, SCALAR_BYTES[s], s);
    switch (s) {
      case 'bool':
      case 'ubyte':
        return this.view.getUint8(p);
      case 'byte':
        return this.view.getInt8(p);
      case 'short':
        return this.view.getInt16(p, true);
      case 'ushort':
        return this.view.getUint16(p, true);
      case 'int':
        return this.view.getInt32(p, true);
      case 'uint':
        return this.view.getUint32(p, true);
      case 'float':
        return this.view.getFloat32(p, true);
      case 'double':
        return this.view.getFloat64(p, true);
      default:
        throw new BlobFormatError(`64-bit integers are not supported (${s})`);
    }
  }
  /** Position of a field's value inside the table at `table`, or −1 if absent. */
  field(table: number, slot: number): number {
    const vtable = table - this.i32(table);
    const vtSize = this.u16(vtable);
    const off = vtableOffset(slot);
    if (off >= vtSize) return -1;
    const rel = this.u16(vtable + off);
    return rel === 0 ? -1 : table + rel;
  }
  indirect(p: number): number {
    return p + this.u32(p);
  }
}

function decodeValue(r: Reader, schema: FbsSchema, t: FbsType, pos: number, where: string): unknown {
  const s = scalarOf(t);
  if (s) return r.scalar(pos, s);
  if (t.kind === 'string') {
    const at = r.indirect(pos);
    const n = r.u32(at);
    r.check(at + 4, n, `${where} string`);
    return Buffer.from(r.bytes.subarray(at + 4, at + 4 + n)).toString('utf8');
  }
  if (t.kind === 'table') return decodeTable(r, schema, t.name, r.indirect(pos), where);
  if (t.kind === 'vector') {
    const at = r.indirect(pos);
    const n = r.u32(at);
    const es = scalarOf(t.elem);
    const size = es ? SCALAR_BYTES[es] : 4;
    r.check(at + 4, n * size, `${where} vector`);
    if (es === 'ubyte') return r.bytes.subarray(at + 4, at + 4 + n);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = decodeValue(r, schema, t.elem, at + 4 + i * size, `${where}[${i}]`);
    return out;
  }
  throw new BlobFormatError(`${where}: cannot decode ${t.kind} here`);
}

function decodeTable(r: Reader, schema: FbsSchema, tableName: string, pos: number, where: string): Obj {
  const table = schema.tables.get(tableName) as FbsTable;
  const out: Obj = {};
  for (const f of table.fields) {
    const at = `${where}.${f.name}`;
    if (f.type.kind === 'union') {
      const tp = r.field(pos, f.slot - 1);
      const tag = tp < 0 ? 0 : r.u8(tp);
      const vp = r.field(pos, f.slot);
      if (tag === 0 || vp < 0) {
        out[`${f.name}_type`] = null;
        out[f.name] = null;
        continue;
      }
      const member = schema.unions.get(f.type.name)!.members[tag - 1];
      if (!member) throw new BlobFormatError(`${at}: unknown union tag ${tag}`);
      out[`${f.name}_type`] = member;
      out[f.name] = decodeTable(r, schema, member, r.indirect(vp), at);
      continue;
    }
    const p = r.field(pos, f.slot);
    out[f.name] = p < 0 ? (scalarOf(f.type) ? f.defaultValue : null) : decodeValue(r, schema, f.type, p, at);
  }
  return out;
}

export function decodeRoot(schema: FbsSchema, bytes: Uint8Array): Obj {
  const r = new Reader(bytes);
  if (bytes.length < 8) throw new BlobFormatError(`file is too short (${bytes.length} bytes) to be a FlatBuffer`);
  const ident = Buffer.from(bytes.subarray(4, 8)).toString('latin1');
  if (schema.fileIdentifier && ident !== schema.fileIdentifier) {
    throw new BlobFormatError(
      `file identifier is '${ident.replace(/[^\x20-\x7e]/g, '?')}', expected '${schema.fileIdentifier}'`,
    );
  }
  return decodeTable(r, schema, schema.rootType, r.indirect(0), schema.rootType);
}

/** Byte position of a root-table scalar field (e.g. the CRC), or −1 if absent. */
export function rootFieldPosition(schema: FbsSchema, bytes: Uint8Array, fieldName: string): number {
  const r = new Reader(bytes);
  const f = schema.tables.get(schema.rootType)!.fields.find((x) => x.name === fieldName);
  if (!f) throw new BlobFormatError(`root table has no field ${fieldName}`);
  return r.field(r.indirect(0), f.slot);
}
