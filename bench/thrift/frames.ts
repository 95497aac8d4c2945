/**
 * The bench's wire bytes: `HelloService.sayHello("world")` and its reply `"Hello world"` (seqid 1), as
 * framed + binary and as THeader + compact, built by hand (a few bytes each, see shared/specs/frames.md
 * T-F1..T-F5 for the layouts) and checked against the Thrift codec when loaded.
 *
 * @module
 */
import { thriftCodecFactory } from "../../codecs/thrift/mod.ts";

/** One transport+protocol pair of the bench. */
export interface Pair {
  /** Short id for file names. */
  readonly id: string;
  /** Human label for the table. */
  readonly label: string;
  readonly request: Uint8Array;
  readonly response: Uint8Array;
  /** loadgen server arguments after the framing ones: how the seqid is carried into the reply. */
  readonly serverIdArgs: readonly string[];
}

const METHOD = "sayHello";
const CALL = 1, REPLY = 2;
const utf8 = new TextEncoder();

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

/** Strict binary message: version|type, name, seqid, then a struct with one string field `id`. */
function binaryMessage(type: number, fieldId: number, value: string): Uint8Array {
  const name = utf8.encode(METHOD), text = utf8.encode(value);
  return concat(
    [0x80, 0x01, 0x00, type],
    be32(name.length),
    name,
    be32(1),
    [0x0b, 0x00, fieldId],
    be32(text.length),
    text,
    [0x00],
  );
}

/** Compact message: 0x82, type|version, seqid varint, name, then a struct with one string field `id`. */
function compactMessage(type: number, fieldId: number, value: string): Uint8Array {
  const name = utf8.encode(METHOD), text = utf8.encode(value);
  // Field id 1 fits the short form (delta 1 << 4 | type 8); id 0 needs the long form (type, zigzag i16 id).
  const field = fieldId === 1 ? [0x18] : [0x08, 0x00];
  return concat(
    [0x82, (type << 5) | 1],
    varint(1),
    varint(name.length),
    name,
    field,
    varint(text.length),
    text,
    [
      0x00,
    ],
  );
}

/** Framed transport: a 4-byte big-endian length before the message. */
function framed(message: Uint8Array): Uint8Array {
  return concat(be32(message.length), message);
}

/**
 * THeader: length, magic 0x0FFF, flags 0, seqid, header words, then the header (protocol id 2 = compact,
 * 0 transforms, padded to 4 bytes) and the message.
 */
function theaderCompact(message: Uint8Array): Uint8Array {
  const header = [...varint(2), ...varint(0)];
  while (header.length % 4) header.push(0);
  const rest = concat([0x0f, 0xff, 0x00, 0x00], be32(1), [0x00, header.length / 4], header, message);
  return concat(be32(rest.length), rest);
}

/** Binary seqid offset in a framed message: length 4 + version 4 + name length 4 + name. */
const BINARY_SEQID_OFFSET = 4 + 4 + 4 + METHOD.length;

/** The two pairs the bench runs. */
export const PAIRS: readonly Pair[] = [
  {
    id: "framed-binary",
    label: "framed+binary",
    request: framed(binaryMessage(CALL, 1, "world")),
    response: framed(binaryMessage(REPLY, 0, "Hello world")),
    serverIdArgs: [String(BINARY_SEQID_OFFSET), "4"],
  },
  {
    id: "theader-compact",
    label: "THeader+compact",
    request: theaderCompact(compactMessage(CALL, 1, "world")),
    response: theaderCompact(compactMessage(REPLY, 0, "Hello world")),
    serverIdArgs: ["theader-compact"],
  },
];

// The bytes must be what the codec (and so a real peer) reads: fail fast, before any process starts.
for (const pair of PAIRS) {
  for (
    const [role, bytes, type] of [["server", pair.request, "request"], [
      "client",
      pair.response,
      "response",
    ]] as const
  ) {
    const r = thriftCodecFactory().create(role).decode(bytes);
    if (r.kind !== "frame" || r.size !== bytes.length || r.frame.type !== type || r.frame.requestId !== 1) {
      throw new Error(
        `Cannot use the ${pair.label} bench ${type}: the Thrift codec reads ${JSON.stringify(r)}`,
      );
    }
  }
}
