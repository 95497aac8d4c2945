/**
 * The codec instance of a compiled declarative protocol: peek the fixed header, bound the frame size,
 * wait for the whole frame, then read fields and sections into slots and classify the frame by the
 * description's rules. Nothing of the YAML is looked at per frame.
 *
 * @module
 */
import type {
  Codec,
  CodecRole,
  DecodeResult,
  EncodeResult,
  Frame,
  LocalError,
  MessageType,
  RequestId,
} from "../codec.ts";
import { type Cond, KV_LIST, MAP, NUMBER, type Program, PROTOBUF } from "./compile.ts";
import { FrameReader } from "./frame_reader.ts";
import { buildReply } from "./reply.ts";
import { mutateKv, mutateProtobuf, pbField, spliceSection } from "./rewrite.ts";
import { readBigUint, readInt, varintSize, writeUint, writeVarint } from "./wire.ts";
import { concatBytes } from "../../crds/bytes.ts";

const REQUEST = 0, RESPONSE = 1;

/** One codec instance (one connection, one role) of a compiled protocol. */
export class DeclarativeCodec implements Codec {
  #p: Program;
  #reader: FrameReader;
  #side: number;
  #needHeader: DecodeResult;

  /** `role` decides the direction of frames when the description has no `direction` rule. */
  constructor(program: Program, role: CodecRole) {
    this.#p = program;
    this.#reader = new FrameReader(program);
    this.#side = role === "server" ? REQUEST : RESPONSE;
    this.#needHeader = Object.freeze({ kind: "need-more", atLeast: program.headerSize });
  }

  /** See {@linkcode Codec.decode}. The frame's `private` is its side: 0 request, 1 response. */
  decode(input: Uint8Array): DecodeResult {
    const p = this.#p;
    const n = input.length;
    for (let i = 0; i < p.magicAt.length; i++) {
      const at = p.magicAt[i];
      if (at < n && input[at] !== p.magicBytes[i]) {
        return this.#error(`byte 0x${input[at].toString(16)} at offset ${at} is not the magic`);
      }
    }
    if (n < p.headerSize) return this.#needHeader;
    const lf = p.lengthField;
    const len = readInt(input, 0, lf);
    const base = p.lengthCounts === 0 ? 0 : p.lengthCounts === 1 ? p.headerSize : lf.offset + lf.width;
    const size = base + len + p.lengthAdjust;
    // Checked before waiting for (or allocating) anything: the peer cannot make us buffer past the limit.
    if (size > p.maxFrameSize) return this.#error(`frame size ${size} exceeds limit ${p.maxFrameSize}`);
    if (size < p.headerSize + p.trailer.length) {
      return this.#error(`frame size ${size} is below the header size`);
    }
    if (n < size) return { kind: "need-more", atLeast: size };
    const trailer = p.trailer;
    for (let i = 0; i < trailer.length; i++) {
      if (input[size - trailer.length + i] !== trailer[i]) {
        return this.#error("the frame does not end with the trailer");
      }
    }
    const r = this.#reader;
    r.readHeader(input);
    let side = this.#side;
    if (p.directionField) {
      const v = r.nums[p.directionField.slot];
      const masked = p.directionMask >= 0 ? ((v % 0x100000000) & p.directionMask) >>> 0 : v;
      side = masked === p.directionRequest ? REQUEST : RESPONSE;
    }
    const bad = r.readSections(input, size, side);
    if (bad !== null) return { kind: "error", reason: bad };
    let type: string = side === REQUEST ? "request" : "response";
    for (let i = 0; i < p.rules.length; i++) {
      const rule = p.rules[i];
      if (rule.direction !== 0 && rule.direction - 1 !== side) continue;
      if (!this.#all(rule.conds)) continue;
      if (rule.kind === "reject") return this.#error(rule.reason);
      type = rule.kind;
      break;
    }
    const frame: Frame = {
      type: type as MessageType,
      requestId: this.#requestId(input),
      bytes: input.subarray(0, size),
      metadata: this.#metadata(),
      ok: side === REQUEST || this.#all(p.okConds),
      operation: this.#operation(),
      private: side,
    };
    return { kind: "frame", frame, size };
  }

  #error(what: string): DecodeResult {
    return { kind: "error", reason: `Cannot decode ${this.#p.name} frame: ${what}` };
  }

  #all(conds: readonly Cond[]): boolean {
    const r = this.#reader;
    for (let i = 0; i < conds.length; i++) {
      const c = conds[i];
      let v = r.present[c.slot] ? r.nums[c.slot] : 0; // absent = protobuf default
      if (c.mask >= 0) v = ((v % 0x100000000) & c.mask) >>> 0;
      const eq = c.equals;
      if (eq.length === 1 ? eq[0] !== v : eq.length > 1 && !eq.includes(v)) return false;
      if (v === c.notEquals) return false;
    }
    return true;
  }

  #requestId(input: Uint8Array): RequestId {
    const p = this.#p;
    if (p.requestIdSlot < 0) return 0;
    const f = p.requestIdField;
    if (f && f.width === 8 && !f.signed) {
      const big = readBigUint(input, f.offset, f.little);
      return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    return this.#reader.present[p.requestIdSlot] ? this.#reader.nums[p.requestIdSlot] : 0;
  }

  #metadata(): Map<string, string> {
    const meta = new Map<string, string>();
    const r = this.#reader;
    const list = this.#p.metadata;
    for (let i = 0; i < list.length; i++) {
      const m = list[i];
      if (!r.present[m.slot]) continue;
      if (m.kind === NUMBER) meta.set(m.key, String(r.nums[m.slot]));
      else if (m.kind === MAP) {
        const keys = r.mapKeys[m.slot], values = r.mapVals[m.slot];
        for (let j = 0; j < keys.length; j++) meta.set(m.key + keys[j], values[j]);
      } else meta.set(m.key, r.strs[m.slot]);
    }
    return meta;
  }

  #operation(): string {
    const slots = this.#p.operation;
    const r = this.#reader;
    let op = "";
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      if (!r.present[slot]) continue;
      const part = this.#p.slotKinds[slot] === NUMBER ? String(r.nums[slot]) : r.strs[slot];
      op = op === "" ? part : `${op}/${part}`;
    }
    return op;
  }

  /** Re-reads `bytes` (a frame of this protocol, possibly already rewritten); false when it no longer parses. */
  #reread(bytes: Uint8Array, side: number): boolean {
    this.#reader.readHeader(bytes);
    return this.#reader.readSections(bytes, bytes.length, side) === null;
  }

  /** See {@linkcode Codec.encode}: sets/replaces entries of the description's `mutation` map. */
  encode(frame: Frame, mutation: ReadonlyMap<string, string>): EncodeResult {
    const p = this.#p;
    if (mutation.size === 0) return { kind: "bytes", bytes: frame.bytes };
    if (p.mutationSlot < 0) {
      return { kind: "not-applicable", reason: `${p.name} describes no mutable entries` };
    }
    const side = frame.private === RESPONSE ? RESPONSE : REQUEST;
    const index = p.mutationSection;
    const s = p.sections[index];
    const number = s.format === PROTOBUF ? s.pb[side].numberOfSlot[p.mutationSlot] : 0;
    if (s.format === PROTOBUF && number === 0) {
      return {
        kind: "not-applicable",
        reason: `${p.name} ${side ? "responses" : "requests"} have no entries`,
      };
    }
    if (!this.#reread(frame.bytes, side)) {
      return { kind: "not-applicable", reason: "the frame no longer parses" };
    }
    const r = this.#reader;
    const cStart = r.bounds[index * 3 + 1], cEnd = r.bounds[index * 3 + 2];
    try {
      const content = s.format === KV_LIST
        ? mutateKv(r, index, mutation)
        : mutateProtobuf(frame.bytes, cStart, cEnd, number, mutation);
      if (content === null) return { kind: "not-applicable", reason: "the section is malformed" };
      return {
        kind: "bytes",
        bytes: spliceSection(r, frame.bytes, index, { from: cStart, to: cEnd }, content),
      };
    } catch (error) {
      if (error instanceof RangeError) return { kind: "not-applicable", reason: error.message };
      throw error;
    }
  }

  /** See {@linkcode Codec.setRequestId}. A protobuf id may change length: the frame is then rebuilt. */
  setRequestId(frame: Frame, bytes: Uint8Array, id: RequestId): Uint8Array {
    const p = this.#p;
    if (p.requestIdSlot < 0 || !p.rewritable) {
      throw new TypeError(`Cannot rewrite request id: ${p.name} has no rewritable request id`);
    }
    const f = p.requestIdField;
    if (f) {
      writeUint(bytes, f.offset, f.width, f.little, id);
      return bytes;
    }
    const side = frame.private === RESPONSE ? RESPONSE : REQUEST;
    if (!this.#reread(bytes, side)) {
      throw new RangeError(`Cannot rewrite request id: the ${p.name} frame no longer parses`);
    }
    const value = Number(id);
    const r = this.#reader;
    const index = p.requestIdSection;
    if (r.ridAt >= 0 && varintSize(value) === r.ridLen) {
      writeVarint(bytes, r.ridAt, value);
      return bytes;
    }
    if (r.ridAt >= 0) {
      const insert = new Uint8Array(varintSize(value));
      writeVarint(insert, 0, value);
      return spliceSection(r, bytes, index, { from: r.ridAt, to: r.ridAt + r.ridLen }, insert);
    }
    // The id was absent (proto3 default 0): prepend the field to the section.
    const number = p.sections[index].pb[side].numberOfSlot[p.requestIdSlot];
    const at = r.bounds[index * 3 + 1];
    return spliceSection(r, bytes, index, { from: at, to: at }, concatBytes([pbField(number, value)]));
  }

  /** See {@linkcode Codec.localReply}: the description's `error_reply`, or `null` without one. */
  localReply(request: Frame, error: LocalError): Uint8Array | null {
    const t = this.#p.errorReply;
    if (t === null || request.type === "oneway") return null;
    const code = t.codes[error.kind] ?? t.codes.default ?? 1;
    return buildReply(this.#p, t, request, { code, message: error.message });
  }

  /** See {@linkcode Codec.heartbeatReply}: the description's `heartbeat_reply`, or `null`. */
  heartbeatReply(heartbeat: Frame): Uint8Array | null {
    const t = this.#p.heartbeatReply;
    return t === null ? null : buildReply(this.#p, t, heartbeat, { code: 0, message: "" });
  }
}
