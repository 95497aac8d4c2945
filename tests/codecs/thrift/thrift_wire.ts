/**
 * A small, independent Thrift writer for tests: builds messages in binary (strict/lax) and compact, and
 * wraps them in framed, THeader and TTHeader transports. Deliberately written apart from the codec (which
 * never serialises) so the tests check one against the other.
 *
 * @module
 */

/** Element/field type names. */
export type TypeName =
  | "bool"
  | "byte"
  | "i16"
  | "i32"
  | "i64"
  | "double"
  | "string"
  | "struct"
  | "map"
  | "set"
  | "list"
  | "uuid";

/** A Thrift value tree. */
export type TValue =
  | { type: "bool"; value: boolean }
  | { type: "byte" | "i16" | "i32"; value: number }
  | { type: "i64"; value: bigint }
  | { type: "double"; value: number }
  | { type: "string"; value: string | Uint8Array }
  | { type: "uuid"; value: Uint8Array }
  | { type: "struct"; fields: TField[] }
  | { type: "list" | "set"; elem: TypeName; values: TValue[] }
  | { type: "map"; key: TypeName; value: TypeName; entries: [TValue, TValue][] };

/** One struct field. */
export interface TField {
  id: number;
  value: TValue;
}

/** A message to build. */
export interface TMessage {
  name: string;
  /** 1 call, 2 reply, 3 exception, 4 oneway. */
  type: number;
  seqid: number;
  body: TField[];
}

const BINARY_IDS: Record<TypeName, number> = {
  bool: 2,
  byte: 3,
  double: 4,
  i16: 6,
  i32: 8,
  i64: 10,
  string: 11,
  struct: 12,
  map: 13,
  set: 14,
  list: 15,
  uuid: 16,
};
const COMPACT_IDS: Record<TypeName, number> = {
  bool: 1,
  byte: 3,
  i16: 4,
  i32: 5,
  i64: 6,
  double: 7,
  string: 8,
  list: 9,
  set: 10,
  map: 11,
  struct: 12,
  uuid: 13,
};
const enc = new TextEncoder();

function i32(out: number[], v: number): void {
  out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === "string" ? enc.encode(v) : v;
}

function writeBinaryValue(out: number[], v: TValue): void {
  switch (v.type) {
    case "bool":
      out.push(v.value ? 1 : 0);
      break;
    case "byte":
      out.push(v.value & 0xff);
      break;
    case "i16":
      out.push((v.value >> 8) & 0xff, v.value & 0xff);
      break;
    case "i32":
      i32(out, v.value);
      break;
    case "i64":
      i32(out, Number(BigInt.asIntN(32, v.value >> 32n)));
      i32(out, Number(BigInt.asIntN(32, v.value)));
      break;
    case "double": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v.value);
      out.push(...b);
      break;
    }
    case "string": {
      const b = bytesOf(v.value);
      i32(out, b.length);
      for (const x of b) out.push(x);
      break;
    }
    case "uuid":
      out.push(...v.value);
      break;
    case "struct":
      for (const f of v.fields) {
        out.push(BINARY_IDS[f.value.type], (f.id >> 8) & 0xff, f.id & 0xff);
        writeBinaryValue(out, f.value);
      }
      out.push(0);
      break;
    case "map":
      out.push(BINARY_IDS[v.key], BINARY_IDS[v.value]);
      i32(out, v.entries.length);
      for (const [k, x] of v.entries) writeBinaryValue(out, k), writeBinaryValue(out, x);
      break;
    default:
      out.push(BINARY_IDS[v.elem]);
      i32(out, v.values.length);
      for (const x of v.values) writeBinaryValue(out, x);
  }
}

function varint(out: number[], v: number): void {
  let u = v >>> 0;
  while (u >= 0x80) {
    out.push((u & 0x7f) | 0x80);
    u >>>= 7;
  }
  out.push(u);
}

function varint64(out: number[], v: bigint): void {
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
}

function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

function writeCompactValue(out: number[], v: TValue): void {
  switch (v.type) {
    case "bool":
      out.push(v.value ? 1 : 2);
      break;
    case "byte":
      out.push(v.value & 0xff);
      break;
    case "i16":
    case "i32":
      varint(out, zigzag32(v.value));
      break;
    case "i64":
      varint64(out, (v.value << 1n) ^ (v.value >> 63n));
      break;
    case "double": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v.value, true);
      out.push(...b);
      break;
    }
    case "string": {
      const b = bytesOf(v.value);
      varint(out, b.length);
      for (const x of b) out.push(x);
      break;
    }
    case "uuid":
      out.push(...v.value);
      break;
    case "struct": {
      let last = 0;
      for (const f of v.fields) {
        const t = f.value.type === "bool" ? (f.value.value ? 1 : 2) : COMPACT_IDS[f.value.type];
        if (f.id > last && f.id - last <= 15) out.push(((f.id - last) << 4) | t);
        else out.push(t), varint(out, zigzag32(f.id));
        last = f.id;
        if (f.value.type !== "bool") writeCompactValue(out, f.value);
      }
      out.push(0);
      break;
    }
    case "map":
      varint(out, v.entries.length);
      if (v.entries.length > 0) out.push((COMPACT_IDS[v.key] << 4) | COMPACT_IDS[v.value]);
      for (const [k, x] of v.entries) writeCompactValue(out, k), writeCompactValue(out, x);
      break;
    default:
      if (v.values.length < 15) out.push((v.values.length << 4) | COMPACT_IDS[v.elem]);
      else out.push(0xf0 | COMPACT_IDS[v.elem]), varint(out, v.values.length);
      for (const x of v.values) writeCompactValue(out, x);
  }
}

/** A message in binary protocol (strict unless `lax`). */
export function binaryMessage(m: TMessage, lax = false): Uint8Array {
  const out: number[] = [];
  const name = enc.encode(m.name);
  if (lax) {
    i32(out, name.length);
    out.push(...name, m.type);
  } else {
    i32(out, (0x80010000 | m.type) >>> 0);
    i32(out, name.length);
    out.push(...name);
  }
  i32(out, m.seqid);
  writeBinaryValue(out, { type: "struct", fields: m.body });
  return Uint8Array.from(out);
}

/** A message in compact protocol. */
export function compactMessage(m: TMessage): Uint8Array {
  const out: number[] = [0x82, (m.type << 5) | 1];
  varint(out, m.seqid);
  const name = enc.encode(m.name);
  varint(out, name.length);
  out.push(...name);
  writeCompactValue(out, { type: "struct", fields: m.body });
  return Uint8Array.from(out);
}

/** Framed transport: 4-byte length prefix. */
export function framed(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + message.length);
  new DataView(out.buffer).setInt32(0, message.length);
  out.set(message, 4);
  return out;
}

/** Options of a THeader frame. */
export interface HeaderOptions {
  /** Kitex TTHeader (magic 0x1000, u8/u16 fields) instead of Apache THeader (0x0FFF, varints). */
  kitex?: boolean;
  protocolId: number;
  seqid: number;
  headers?: Record<string, string>;
  /** Kitex int-key headers. */
  intHeaders?: Record<number, string>;
}

/** THeader/TTHeader transport around `message`. */
export function header(message: Uint8Array, o: HeaderOptions): Uint8Array {
  const area: number[] = [];
  const count = (n: number) => o.kitex ? area.push((n >> 8) & 0xff, n & 0xff) : varint(area, n);
  const str = (s: string) => {
    const b = enc.encode(s);
    count(b.length);
    area.push(...b);
  };
  if (o.kitex) area.push(o.protocolId, 0);
  else varint(area, o.protocolId), varint(area, 0);
  const ints = Object.entries(o.intHeaders ?? {});
  if (ints.length > 0) {
    area.push(0x10);
    count(ints.length);
    for (const [k, v] of ints) area.push((Number(k) >> 8) & 0xff, Number(k) & 0xff), str(v);
  }
  const kv = Object.entries(o.headers ?? {});
  if (kv.length > 0) {
    area.push(1);
    count(kv.length);
    for (const [k, v] of kv) str(k), str(v);
  }
  while (area.length % 4 !== 0) area.push(0);
  const out = new Uint8Array(14 + area.length + message.length);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, out.length - 4);
  dv.setUint16(4, o.kitex ? 0x1000 : 0x0fff);
  dv.setInt32(8, o.seqid);
  dv.setUint16(12, area.length / 4);
  out.set(area, 14);
  out.set(message, 14 + area.length);
  return out;
}

/** Hex to bytes (whitespace ignored). */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Bytes to hex. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
