/**
 * Reads the header fields and body sections of one whole frame into numbered slots, following a compiled
 * {@linkcode Program}. One reader per codec instance; its arrays are reused for every frame, so a decode
 * allocates only the strings it exports. Every length is checked against the section and the frame end
 * before it is used.
 *
 * @module
 */
import {
  KV_LIST,
  MAP,
  NUMBER,
  type Program,
  PROTOBUF,
  type SectionProgram,
  SIZE_FIELD,
  SIZE_FIXED,
  SIZE_PREFIX,
  STRING,
  TEXT,
} from "./compile.ts";
import { readInt, readUint, readVarint, utf8, varint } from "./wire.ts";

/** Slot values and section bounds of the frame read last. Valid until the next `read`. */
export class FrameReader {
  readonly program: Program;
  readonly nums: Float64Array;
  readonly strs: string[];
  readonly present: Uint8Array;
  readonly mapKeys: string[][];
  readonly mapVals: string[][];
  /** Per section: outer start (prefix included), content start, content end. */
  readonly bounds: Int32Array;
  /** Offset and byte length of the request id varint inside a protobuf section (-1 when absent). */
  ridAt = -1;
  ridLen = 0;
  #entries = 0;
  #mapSlots: Int32Array;

  constructor(program: Program) {
    this.program = program;
    this.nums = new Float64Array(program.slotCount);
    this.strs = new Array<string>(program.slotCount).fill("");
    this.present = new Uint8Array(program.slotCount);
    this.mapKeys = Array.from({ length: program.slotCount }, () => []);
    this.mapVals = Array.from({ length: program.slotCount }, () => []);
    this.bounds = new Int32Array(program.sections.length * 3);
    this.#mapSlots = Int32Array.from(
      [...program.slotKinds.keys()].filter((i) => program.slotKinds[i] === MAP),
    );
  }

  /** Reads the header fields of the frame at the start of `b` (at least `headerSize` bytes). */
  readHeader(b: Uint8Array): void {
    const { fields } = this.program;
    this.present.fill(0);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      this.nums[f.slot] = readInt(b, 0, f);
      this.present[f.slot] = 1;
    }
  }

  /**
   * Reads every section of the frame `b[0, frameEnd)`; `side` 0 = request, 1 = response picks the
   * protobuf schema. Returns `null`, or the reason the frame is malformed.
   */
  readSections(b: Uint8Array, frameEnd: number, side: number): string | null {
    const p = this.program;
    const bodyEnd = frameEnd - p.trailer.length;
    this.ridAt = -1;
    this.#entries = 0;
    for (let i = 0; i < this.#mapSlots.length; i++) {
      const slot = this.#mapSlots[i];
      this.mapKeys[slot].length = this.mapVals[slot].length = 0;
    }
    let cursor = p.headerSize;
    for (let i = 0; i < p.sections.length; i++) {
      const s = p.sections[i];
      const start = s.atField ? this.nums[s.atField.slot] + s.atAdjust : s.at >= 0 ? s.at : cursor;
      if (!(start >= 0 && start <= bodyEnd)) return this.#bad(s, `starts at ${start}, outside the frame`);
      let cStart = start, cEnd = bodyEnd;
      if (s.sizeMode === SIZE_FIELD) cEnd = start + this.nums[s.sizeField!.slot] + s.sizeAdjust;
      else if (s.sizeMode === SIZE_FIXED) cEnd = start + s.fixed;
      else if (s.sizeMode === SIZE_PREFIX) {
        const size = this.#readLength(b, start, bodyEnd, s.prefixWidth, s.little);
        if (size < 0) return this.#bad(s, "has a cut length prefix");
        cStart = this.#pos;
        cEnd = cStart + size;
      }
      if (!(cEnd >= cStart && cEnd <= bodyEnd)) {
        return this.#bad(s, `of ${cEnd - cStart} bytes at ${cStart} exceeds the frame (${frameEnd} bytes)`);
      }
      this.bounds[i * 3] = start;
      this.bounds[i * 3 + 1] = cStart;
      this.bounds[i * 3 + 2] = cEnd;
      cursor = cEnd;
      let error: string | null = null;
      if (s.format === TEXT) {
        this.strs[s.slot] = utf8(b, cStart, cEnd);
        this.present[s.slot] = 1;
      } else if (s.format === KV_LIST) error = this.#readKv(b, s, cStart, cEnd);
      else if (s.format === PROTOBUF) error = this.#readProtobuf(b, s, side, cStart, cEnd);
      if (error !== null) return this.#bad(s, error);
    }
    return null;
  }

  #pos = 0;

  /** Reads a length of `width` bytes (0 = varint) at `at`; -1 when cut. Leaves the next position in #pos. */
  #readLength(b: Uint8Array, at: number, end: number, width: number, little: boolean): number {
    if (width === 0) {
      const next = readVarint(b, at, end);
      if (next < 0) return -1;
      this.#pos = next;
      return varint.value;
    }
    if (at + width > end) return -1;
    this.#pos = at + width;
    return readUint(b, at, width, little);
  }

  #bad(s: SectionProgram, what: string): string {
    return `Cannot decode ${this.program.name} frame: section '${s.name}' ${what}`;
  }

  #addEntry(slot: number, key: string, value: string): boolean {
    if (++this.#entries > this.program.maxEntries) return false;
    this.mapKeys[slot].push(key);
    this.mapVals[slot].push(value);
    this.present[slot] = 1;
    return true;
  }

  #readKv(b: Uint8Array, s: SectionProgram, start: number, end: number): string | null {
    const w = s.kvWidths;
    const count = this.#readLength(b, start, end, w[0], s.little);
    if (count < 0) return "has a cut entry count";
    if (count > this.program.maxEntries) {
      return `has ${count} entries, over the limit ${this.program.maxEntries}`;
    }
    let pos = this.#pos;
    for (let i = 0; i < count; i++) {
      const kLen = this.#readLength(b, pos, end, w[1], s.little);
      if (kLen < 0 || kLen > end - this.#pos) return `entry ${i} has a key past the section end`;
      const kStart = this.#pos;
      const vLen = this.#readLength(b, kStart + kLen, end, w[2], s.little);
      if (vLen < 0 || vLen > end - this.#pos) return `entry ${i} has a value past the section end`;
      const vStart = this.#pos;
      pos = vStart + vLen;
      if (!this.#addEntry(s.slot, utf8(b, kStart, kStart + kLen), utf8(b, vStart, pos))) {
        return "has too many entries";
      }
    }
    return pos === end ? null : `has ${end - pos} bytes after its last entry`;
  }

  #readProtobuf(b: Uint8Array, s: SectionProgram, side: number, start: number, end: number): string | null {
    const table = s.pb[side];
    const ridSlot = this.program.requestIdSlot;
    let pos = start;
    while (pos < end) {
      pos = readVarint(b, pos, end);
      if (pos < 0) return "has a cut protobuf tag";
      const tag = varint.value;
      const num = Math.floor(tag / 8);
      const entry = num < table.slotOf.length ? table.slotOf[num] - 1 : -1;
      switch (tag & 7) {
        case 0: {
          const at = pos;
          pos = readVarint(b, pos, end);
          if (pos < 0) return `has a cut varint in field ${num}`;
          if (entry >= 0 && table.kindOf[num] === NUMBER) {
            this.nums[entry] = varint.value;
            this.present[entry] = 1;
            if (entry === ridSlot) {
              this.ridAt = at;
              this.ridLen = pos - at;
            }
          }
          break;
        }
        case 1:
          pos += 8;
          break;
        case 2: {
          pos = readVarint(b, pos, end);
          if (pos < 0) return `has a cut length in field ${num}`;
          const len = varint.value;
          if (len > end - pos) return `has field ${num} of ${len} bytes past its end`;
          if (entry >= 0) {
            if (table.kindOf[num] === STRING) {
              this.strs[entry] = utf8(b, pos, pos + len);
              this.present[entry] = 1;
            } else if (table.kindOf[num] === MAP && !this.#readMapEntry(b, entry, pos, pos + len)) {
              return `has a bad map entry in field ${num}`;
            }
          }
          pos += len;
          break;
        }
        case 5:
          pos += 4;
          break;
        default:
          return `has unsupported wire type ${tag & 7} in field ${num}`;
      }
      if (pos > end) return `has field ${num} past its end`;
    }
    return null;
  }

  /** A map entry message: key = field 1, value = field 2 (both length-delimited); others are skipped. */
  #readMapEntry(b: Uint8Array, slot: number, start: number, end: number): boolean {
    let key = "", value = "", pos = start;
    while (pos < end) {
      pos = readVarint(b, pos, end);
      if (pos < 0) return false;
      const tag = varint.value;
      const wire = tag & 7;
      if (wire === 0) pos = readVarint(b, pos, end);
      else if (wire === 2) {
        pos = readVarint(b, pos, end);
        if (pos < 0 || varint.value > end - pos) return false;
        const next = pos + varint.value;
        if (tag === 0x0a) key = utf8(b, pos, next);
        else if (tag === 0x12) value = utf8(b, pos, next);
        pos = next;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else return false;
      if (pos < 0 || pos > end) return false;
    }
    return this.#addEntry(slot, key, value);
  }
}
