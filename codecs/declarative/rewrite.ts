/**
 * Edits of a whole frame that may change a section's length: the request id inside a protobuf section and
 * key/value mutations. The new frame is built once (size computed, then one allocation) and its section
 * size field or prefix, later section offsets and the length field are rewritten to match.
 *
 * @module
 */
import { KV_LIST, type Program, SIZE_FIELD, SIZE_PREFIX } from "./compile.ts";
import type { FrameReader } from "./frame_reader.ts";
import { maxUint, readVarint, utf8, utf8Bytes, varint, varintSize, writeUint, writeVarint } from "./wire.ts";
import { concatBytes } from "../../crds/bytes.ts";

/**
 * Returns a copy of frame `b` (already read by `reader`) whose section `index` content has bytes
 * [from, to) replaced by `insert`. Throws `RangeError` when a size no longer fits its field.
 */
export function spliceSection(
  reader: FrameReader,
  b: Uint8Array,
  index: number,
  range: { from: number; to: number },
  insert: Uint8Array,
): Uint8Array {
  const p = reader.program;
  const s = p.sections[index];
  const outer = reader.bounds[index * 3],
    cStart = reader.bounds[index * 3 + 1],
    cEnd = reader.bounds[index * 3 + 2];
  const newSize = cEnd - cStart + insert.length - (range.to - range.from);
  const prefixLen = s.sizeMode !== SIZE_PREFIX
    ? cStart - outer
    : s.prefixWidth === 0
    ? varintSize(newSize)
    : s.prefixWidth;
  const delta = prefixLen - (cStart - outer) + newSize - (cEnd - cStart);
  const out = new Uint8Array(b.length + delta);
  out.set(b.subarray(0, outer));
  let at = outer + prefixLen;
  out.set(b.subarray(cStart, range.from), at);
  at += range.from - cStart;
  out.set(insert, at);
  at += insert.length;
  out.set(b.subarray(range.to), at);
  if (s.sizeMode === SIZE_PREFIX) {
    if (s.prefixWidth === 0) writeVarint(out, outer, newSize);
    else writeChecked(out, outer, s.prefixWidth, s.little, newSize, `section '${s.name}' size`);
  } else if (s.sizeMode === SIZE_FIELD) {
    const f = s.sizeField!;
    writeChecked(out, f.offset, f.width, f.little, newSize - s.sizeAdjust, `section '${s.name}' size`);
  }
  for (let j = index + 1; j < p.sections.length; j++) {
    const later = p.sections[j].atField;
    if (later) {
      writeChecked(
        out,
        later.offset,
        later.width,
        later.little,
        reader.bounds[j * 3] + delta - p.sections[j].atAdjust,
        "section offset",
      );
    }
  }
  writeLength(p, out);
  return out;
}

/** Rewrites the length field of the whole frame `out` from its size. */
export function writeLength(p: Program, out: Uint8Array): void {
  const f = p.lengthField;
  const base = p.lengthCounts === 0 ? 0 : p.lengthCounts === 1 ? p.headerSize : f.offset + f.width;
  writeChecked(out, f.offset, f.width, f.little, out.length - base - p.lengthAdjust, "frame length");
}

function writeChecked(
  b: Uint8Array,
  at: number,
  width: number,
  little: boolean,
  value: number,
  what: string,
): void {
  if (value < 0 || value > maxUint(width)) {
    throw new RangeError(`Cannot rewrite frame: ${what} ${value} does not fit in ${width} bytes`);
  }
  writeUint(b, at, width, little, value);
}

/** Protobuf bytes of a field: tag + varint, or tag + length + bytes. */
export function pbField(number: number, value: number | Uint8Array): Uint8Array {
  const tag = number * 8 + (typeof value === "number" ? 0 : 2);
  const size = varintSize(tag) +
    (typeof value === "number" ? varintSize(value) : varintSize(value.length) + value.length);
  const out = new Uint8Array(size);
  const at = writeVarint(out, 0, tag);
  if (typeof value === "number") writeVarint(out, at, value);
  else out.set(value, writeVarint(out, at, value.length));
  return out;
}

/** A protobuf map<string, bytes|string> entry of field `number`. */
function pbMapEntry(number: number, key: string, value: string): Uint8Array {
  return pbField(number, concatBytes([pbField(1, utf8Bytes(key)), pbField(2, utf8Bytes(value))]));
}

/**
 * New content of protobuf section [start, end): every field kept except entries of map field `number`
 * whose key is in `mutation`, then the mutation's entries appended. `null` when the section is malformed.
 */
export function mutateProtobuf(
  b: Uint8Array,
  start: number,
  end: number,
  number: number,
  mutation: ReadonlyMap<string, string>,
): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let keepFrom = start, pos = start;
  while (pos < end) {
    const fieldStart = pos;
    pos = readVarint(b, pos, end);
    if (pos < 0) return null;
    const tag = varint.value;
    const wire = tag & 7;
    if (wire === 0) pos = readVarint(b, pos, end);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      pos = readVarint(b, pos, end);
      if (pos < 0 || varint.value > end - pos) return null;
      const next = pos + varint.value;
      if (tag === number * 8 + 2 && mutation.has(entryKey(b, pos, next))) {
        parts.push(b.subarray(keepFrom, fieldStart));
        keepFrom = next;
      }
      pos = next;
    } else return null;
    if (pos < 0 || pos > end) return null;
  }
  parts.push(b.subarray(keepFrom, end));
  for (const [key, value] of mutation) parts.push(pbMapEntry(number, key, value));
  return concatBytes(parts);
}

function entryKey(b: Uint8Array, start: number, end: number): string {
  let pos = start;
  while (pos < end) {
    pos = readVarint(b, pos, end);
    if (pos < 0) return "";
    const tag = varint.value;
    if ((tag & 7) !== 2) {
      pos = (tag & 7) === 0 ? readVarint(b, pos, end) : pos + ((tag & 7) === 1 ? 8 : 4);
      if (pos < 0) return "";
      continue;
    }
    pos = readVarint(b, pos, end);
    if (pos < 0 || varint.value > end - pos) return "";
    if (tag === 0x0a) return utf8(b, pos, pos + varint.value);
    pos += varint.value;
  }
  return "";
}

/** New content of a kv_list section: the read entries minus mutated keys, plus the mutation. */
export function mutateKv(
  reader: FrameReader,
  index: number,
  mutation: ReadonlyMap<string, string>,
): Uint8Array {
  const s = reader.program.sections[index];
  const keys: string[] = [], values: string[] = [];
  const oldKeys = reader.mapKeys[s.slot], oldValues = reader.mapVals[s.slot];
  for (let i = 0; i < oldKeys.length; i++) {
    if (!mutation.has(oldKeys[i])) {
      keys.push(oldKeys[i]);
      values.push(oldValues[i]);
    }
  }
  for (const [key, value] of mutation) {
    keys.push(key);
    values.push(value);
  }
  return encodeKv(reader.program, index, keys, values);
}

/** Encodes a kv_list section content. Throws `RangeError` when a length does not fit its prefix. */
export function encodeKv(
  p: Program,
  index: number,
  keys: readonly string[],
  values: readonly string[],
): Uint8Array {
  const s = p.sections[index];
  if (s.format !== KV_LIST) {
    throw new TypeError(`Cannot encode entries: section '${s.name}' is not a kv_list`);
  }
  const parts: Uint8Array[] = [lengthBytes(keys.length, s.kvWidths[0], s.little)];
  for (let i = 0; i < keys.length; i++) {
    const k = utf8Bytes(keys[i]), v = utf8Bytes(values[i]);
    parts.push(
      lengthBytes(k.length, s.kvWidths[1], s.little),
      k,
      lengthBytes(v.length, s.kvWidths[2], s.little),
      v,
    );
  }
  return concatBytes(parts);
}

/** A length as `width` bytes (0 = varint). */
export function lengthBytes(value: number, width: number, little: boolean): Uint8Array {
  if (width === 0) {
    const out = new Uint8Array(varintSize(value));
    writeVarint(out, 0, value);
    return out;
  }
  if (value > maxUint(width)) throw new RangeError(`Cannot encode length ${value} in ${width} bytes`);
  const out = new Uint8Array(width);
  writeUint(out, 0, width, little, value);
  return out;
}
