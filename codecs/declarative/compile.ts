/**
 * Compiles a validated {@linkcode Description} once into a {@linkcode Program}: every named value gets a
 * numbered slot, every header read an {@linkcode IntSpec}, every protobuf field a table entry, so decoding
 * a frame never looks at the description again. Cross-references are checked here and reported with
 * the path of the field at fault.
 *
 * @module
 */
import type { Description, MatchSpec } from "../../crds/declarative_codec.ts";
import { hexBytes, type IntSpec, WIDTHS } from "./wire.ts";

/** A header field: where it is and which slot receives it. */
export interface FieldProgram extends IntSpec {
  readonly name: string;
  readonly slot: number;
}

/** Value slot kinds. */
export const NUMBER = 0, STRING = 1, MAP = 2;
/** Section formats. */
export const OPAQUE = 0, TEXT = 1, KV_LIST = 2, PROTOBUF = 3;
/** Section size modes. */
export const SIZE_REST = 0, SIZE_FIELD = 1, SIZE_FIXED = 2, SIZE_PREFIX = 3;

/** Protobuf fields of one direction: field number → slot + 1 (0 = skip) and slot kind. */
export interface PbTable {
  readonly slotOf: Int32Array;
  readonly kindOf: Uint8Array;
  /** Field number of each slot (0 = not in this table), for replies and rewrites. */
  readonly numberOfSlot: Int32Array;
}

/** One section of the body. Width 0 in a length spec means varint. */
export interface SectionProgram {
  readonly name: string;
  readonly format: number;
  readonly slot: number;
  readonly at: number; // -1: right after the previous section (or the header)
  readonly atField: FieldProgram | null;
  readonly atAdjust: number;
  readonly sizeMode: number;
  readonly sizeField: FieldProgram | null;
  readonly sizeAdjust: number;
  readonly fixed: number;
  readonly prefixWidth: number;
  readonly little: boolean;
  readonly kvWidths: Int32Array; // count, key length, value length
  readonly pb: readonly [PbTable, PbTable]; // [request, response]
}

/** One value test. `equals` empty = no equality test; `notEquals` NaN = none; `mask` -1 = none. */
export interface Cond {
  readonly slot: number;
  readonly mask: number;
  readonly equals: readonly number[];
  readonly notEquals: number;
}

/** A message-kind rule. direction 0 = any, 1 = request side, 2 = response side. */
export interface RuleProgram {
  readonly direction: number;
  readonly conds: readonly Cond[];
  readonly kind: string;
  readonly reason: string;
}

/** One metadata export: key ← slot (numbers as decimal strings; maps as their entries). */
export interface MetaProgram {
  readonly key: string;
  readonly slot: number;
  readonly kind: number;
}

/** A value written into a reply. `from`: `$code`, `$message`, `$request_id` or a header field name. */
export interface TemplateItem {
  readonly number: number;
  readonly string: boolean;
  readonly value: number | string | undefined;
  readonly from: string | undefined;
  readonly fromField: FieldProgram | null;
}

/** A reply template: header values, fields copied from the request, section contents by section index. */
export interface TemplateProgram {
  readonly header: readonly (readonly [FieldProgram, number])[];
  readonly copy: readonly FieldProgram[];
  readonly sections: ReadonlyMap<number, readonly TemplateItem[]>;
  readonly codes: Readonly<Record<string, number>>;
}

/** The compiled protocol; immutable and shared by all codec instances. */
export interface Program {
  readonly name: string;
  readonly codecName: string | undefined;
  readonly headerSize: number;
  readonly magicAt: Int32Array;
  readonly magicBytes: Uint8Array;
  readonly trailer: Uint8Array;
  readonly fields: readonly FieldProgram[];
  readonly lengthField: FieldProgram;
  /** 0 frame, 1 after header, 2 after the length field. */
  readonly lengthCounts: number;
  readonly lengthAdjust: number;
  readonly maxFrameSize: number;
  readonly maxEntries: number;
  readonly directionField: FieldProgram | null;
  readonly directionMask: number;
  readonly directionRequest: number;
  readonly sections: readonly SectionProgram[];
  readonly slotCount: number;
  readonly slotKinds: Uint8Array;
  readonly rules: readonly RuleProgram[];
  readonly okConds: readonly Cond[];
  readonly metadata: readonly MetaProgram[];
  readonly operation: readonly number[];
  /** Slot of the request id, or -1. */
  readonly requestIdSlot: number;
  readonly requestIdField: FieldProgram | null;
  /** Index of the protobuf section holding the request id, or -1. */
  readonly requestIdSection: number;
  readonly rewritable: boolean;
  /** Slot of the mutable key/value entries (a protobuf map or a kv_list section), or -1. */
  readonly mutationSlot: number;
  readonly mutationSection: number;
  readonly errorReply: TemplateProgram | null;
  readonly heartbeatReply: TemplateProgram | null;
}

/** Compiles `d`; throws a `TypeError` naming the field at fault on a broken cross-reference. */
export function compileDescription(d: Description): Program {
  const fail = (path: string, reason: string): never => {
    throw new TypeError(`Cannot load declarative description '${d.name}': ${path}: ${reason}`);
  };
  const slots = new Map<string, { slot: number; kind: number }>();
  const kinds: number[] = [];
  const declare = (name: string, kind: number, path: string, shared = false): number => {
    const seen = slots.get(name);
    if (seen) {
      if (shared && seen.kind === kind) return seen.slot;
      return fail(path, `name '${name}' is already used`);
    }
    slots.set(name, { slot: kinds.length, kind });
    kinds.push(kind);
    return kinds.length - 1;
  };
  const fields: FieldProgram[] = d.fields.map((f, i) => {
    const width = WIDTHS[f.type];
    if (f.offset + width > d.header_size) {
      fail(`fields[${i}].offset`, `${f.type} at ${f.offset} ends past header_size ${d.header_size}`);
    }
    const slot = declare(f.name, NUMBER, `fields[${i}].name`);
    return {
      name: f.name,
      slot,
      offset: f.offset,
      width,
      signed: f.type.startsWith("i"),
      little: (f.endian ?? d.endian) === "little",
    };
  });
  const field = (name: string, path: string): FieldProgram =>
    fields.find((f) => f.name === name) ?? fail(path, `unknown header field '${name}'`);

  const magicAt: number[] = [];
  const magicBytes: number[] = [];
  d.magic.forEach((m, i) => {
    const bytes = hexBytes(m.hex);
    if (m.offset + bytes.length > d.header_size) fail(`magic[${i}]`, "ends past header_size");
    bytes.forEach((b, j) => {
      magicAt.push(m.offset + j);
      magicBytes.push(b);
    });
  });

  const sections = d.sections.map((s, i) => compileSection(d, s, i, field, declare, fail));
  const slotOf = (name: string, path: string, kind?: number): number => {
    const s = slots.get(name) ?? fail(path, `unknown value '${name}'`);
    if (kind !== undefined && s.kind !== kind) {
      fail(path, `'${name}' is not a ${["number", "string", "map"][kind]}`);
    }
    return s.slot;
  };
  const conds = (when: Record<string, MatchSpec>, path: string): Cond[] =>
    Object.entries(when).map(([name, m]) => compileCond(slotOf(name, `${path}.${name}`, NUMBER), m));

  const rules = d.message_kind.map((r, i) => ({
    direction: r.direction === "request" ? 1 : r.direction === "response" ? 2 : 0,
    conds: conds(r.when, `message_kind[${i}].when`),
    kind: r.kind,
    reason: r.reason ?? `${r.kind} rule ${i} matched`,
  }));
  const metadata = d.metadata.map((m, i): MetaProgram => {
    if ("entries" in m) {
      return { key: m.prefix, slot: slotOf(m.entries, `metadata[${i}].entries`, MAP), kind: MAP };
    }
    const slot = slotOf(m.from, `metadata[${i}].from`);
    if (kinds[slot] === MAP) fail(`metadata[${i}].from`, `'${m.from}' is a map: use entries`);
    return { key: m.key, slot, kind: kinds[slot] };
  });

  let requestIdSlot = -1, requestIdField: FieldProgram | null = null, requestIdSection = -1;
  if (d.request_id) {
    requestIdSlot = slotOf(d.request_id.from, "request_id.from", NUMBER);
    requestIdField = fields.find((f) => f.name === d.request_id!.from) ?? null;
    if (!requestIdField) {
      requestIdSection = sections.findIndex((s) =>
        s.format === PROTOBUF && s.pb.some((t) => t.numberOfSlot[requestIdSlot] > 0)
      );
      if (requestIdSection < 0) fail("request_id.from", "must be a header field or a protobuf varint");
      if (sections[requestIdSection].sizeMode === SIZE_FIXED && d.request_id.rewritable) {
        fail(
          "request_id.rewritable",
          "the protobuf section has a fixed size, so a new id cannot change length",
        );
      }
    }
  }
  let mutationSlot = -1, mutationSection = -1;
  if (d.mutation) {
    mutationSlot = slotOf(d.mutation.entries, "mutation.entries", MAP);
    mutationSection = sections.findIndex((s) =>
      s.slot === mutationSlot || (s.format === PROTOBUF && s.pb.some((t) => t.numberOfSlot[mutationSlot] > 0))
    );
    if (sections[mutationSection].sizeMode === SIZE_FIXED) {
      fail("mutation.entries", "section has a fixed size");
    }
  }
  const template = (
    t: NonNullable<Description["heartbeat_reply"]>,
    path: string,
    codes = {},
  ): TemplateProgram => ({
    header: Object.entries(t.header).map(([name, v]) => [field(name, `${path}.header.${name}`), v] as const),
    copy: t.copy.map((name, i) => field(name, `${path}.copy[${i}]`)),
    codes,
    sections: new Map(
      Object.entries(t.sections).map(([name, items]) => {
        const index = sections.findIndex((s) => s.name === name);
        if (index < 0) fail(`${path}.sections.${name}`, `unknown section '${name}'`);
        return [
          index,
          items.map((it, j): TemplateItem => {
            const at = `${path}.sections.${name}[${j}]`;
            if (sections[index].format === PROTOBUF && it.number === undefined) {
              fail(at, "protobuf items need a number");
            }
            const fromField = it.from && !it.from.startsWith("$") ? field(it.from, `${at}.from`) : null;
            return {
              number: it.number ?? 0,
              string: it.type === "string",
              value: it.value,
              from: it.from,
              fromField,
            };
          }),
        ];
      }),
    ),
  });
  const direction = d.direction;
  return Object.freeze({
    name: d.name,
    codecName: d.codec_name,
    headerSize: d.header_size,
    magicAt: Int32Array.from(magicAt),
    magicBytes: Uint8Array.from(magicBytes),
    trailer: d.trailer ? hexBytes(d.trailer.hex) : new Uint8Array(0),
    fields,
    lengthField: field(d.length.field, "length.field"),
    lengthCounts: ["frame", "after_header", "after_field"].indexOf(d.length.counts),
    lengthAdjust: d.length.adjust,
    maxFrameSize: d.limits.max_frame_size,
    maxEntries: d.limits.max_entries,
    directionField: direction ? field(direction.field, "direction.field") : null,
    directionMask: direction?.mask ?? -1,
    directionRequest: direction?.request ?? 0,
    sections,
    slotCount: kinds.length,
    slotKinds: Uint8Array.from(kinds),
    rules,
    okConds: conds(d.response_ok, "response_ok"),
    metadata,
    operation: d.operation.map((name, i) => slotOf(name, `operation[${i}]`)),
    requestIdSlot,
    requestIdField,
    requestIdSection,
    rewritable: d.request_id?.rewritable ?? false,
    mutationSlot,
    mutationSection,
    errorReply: d.error_reply ? template(d.error_reply, "error_reply", d.error_reply.codes) : null,
    heartbeatReply: d.heartbeat_reply ? template(d.heartbeat_reply, "heartbeat_reply") : null,
  });
}

function compileCond(slot: number, m: MatchSpec): Cond {
  if (typeof m === "number") return { slot, mask: -1, equals: [m], notEquals: NaN };
  if (Array.isArray(m)) return { slot, mask: -1, equals: m, notEquals: NaN };
  const equals = m.equals === undefined ? [] : Array.isArray(m.equals) ? m.equals : [m.equals];
  return { slot, mask: m.mask ?? -1, equals, notEquals: m.not_equals ?? NaN };
}

type Declare = (name: string, kind: number, path: string, shared?: boolean) => number;
type Fail = (path: string, reason: string) => never;
type FieldOf = (name: string, path: string) => FieldProgram;

function compileSection(
  d: Description,
  s: Description["sections"][number],
  i: number,
  field: FieldOf,
  declare: Declare,
  fail: Fail,
): SectionProgram {
  const path = `sections[${i}]`;
  const format = ["opaque", "string", "kv_list", "protobuf"].indexOf(s.format);
  const little = ((typeof s.size === "object" && "endian" in s.size ? s.size.endian : undefined) ??
    s.kv?.endian ?? d.endian) === "little";
  const lenWidth = (t: string) => t === "varint" ? 0 : WIDTHS[t];
  if (format === KV_LIST && !s.kv) {
    fail(`${path}.kv`, "a kv_list section needs kv (count, key_length, value_length)");
  }
  if (format === PROTOBUF && !s.request && !s.response) {
    fail(path, "a protobuf section needs request or response fields");
  }
  const slot = format === TEXT
    ? declare(s.name, STRING, `${path}.name`)
    : format === KV_LIST
    ? declare(s.name, MAP, `${path}.name`)
    : -1;
  const pbTable = (list: typeof s.request, dir: string): PbTable => {
    const max = Math.max(0, ...(list ?? []).map((f) => f.number));
    const slotOf = new Int32Array(Math.min(max, 4096) + 1);
    const kindOf = new Uint8Array(slotOf.length);
    const numberOfSlot = new Int32Array(256);
    (list ?? []).forEach((f, j) => {
      const at = `${path}.${dir}[${j}]`;
      if (f.number > 4096) fail(`${at}.number`, "field numbers above 4096 are not supported");
      const kind = f.type === "varint" ? NUMBER : f.type === "string" ? STRING : MAP;
      const sl = declare(f.name, kind, `${at}.name`, true);
      if (sl >= numberOfSlot.length) fail(at, "too many named values (max 256)");
      slotOf[f.number] = sl + 1;
      kindOf[f.number] = kind;
      numberOfSlot[sl] = f.number;
    });
    return { slotOf, kindOf, numberOfSlot };
  };
  const size = s.size;
  const sizeField = typeof size === "object" && "field" in size
    ? field(size.field, `${path}.size.field`)
    : null;
  return {
    name: s.name,
    format,
    slot,
    at: typeof s.at === "number" ? s.at : -1,
    atField: typeof s.at === "object" ? field(s.at.field, `${path}.at.field`) : null,
    atAdjust: typeof s.at === "object" ? s.at.adjust : 0,
    sizeMode: size === "rest"
      ? SIZE_REST
      : "field" in size
      ? SIZE_FIELD
      : "fixed" in size
      ? SIZE_FIXED
      : SIZE_PREFIX,
    sizeField,
    sizeAdjust: typeof size === "object" && "adjust" in size ? size.adjust : 0,
    fixed: typeof size === "object" && "fixed" in size ? size.fixed : 0,
    prefixWidth: typeof size === "object" && "prefix" in size ? lenWidth(size.prefix) : 0,
    little,
    kvWidths: Int32Array.from(
      s.kv ? [s.kv.count, s.kv.key_length, s.kv.value_length].map(lenWidth) : [0, 0, 0],
    ),
    pb: [pbTable(s.request, "request"), pbTable(s.response, "response")],
  };
}
