/**
 * The table of Thrift codec cases: every transport × protocol with a call, a reply, a declared-exception
 * reply, a TApplicationException, a oneway and a multiplexed call (THeader cases carry info headers).
 *
 * @module
 */
import { binaryMessage, compactMessage, framed, header, type TField, type TMessage } from "./thrift_wire.ts";

/** A transport × protocol combination. */
export interface Shape {
  name: string;
  transport: "framed" | "unframed" | "header";
  protocol: "binary" | "compact";
  lax?: boolean;
  kitex?: boolean;
}

/** All shapes the codec supports. */
export const SHAPES: Shape[] = [
  { name: "framed binary", transport: "framed", protocol: "binary" },
  { name: "framed lax binary", transport: "framed", protocol: "binary", lax: true },
  { name: "framed compact", transport: "framed", protocol: "compact" },
  { name: "unframed binary", transport: "unframed", protocol: "binary" },
  { name: "unframed lax binary", transport: "unframed", protocol: "binary", lax: true },
  { name: "unframed compact", transport: "unframed", protocol: "compact" },
  { name: "THeader binary", transport: "header", protocol: "binary" },
  { name: "THeader compact", transport: "header", protocol: "compact" },
  { name: "TTHeader binary", transport: "header", protocol: "binary", kitex: true },
  { name: "TTHeader compact", transport: "header", protocol: "compact", kitex: true },
];

/** One case: wire bytes and what decoding them must yield. */
export interface Case {
  name: string;
  shape: Shape;
  message: TMessage;
  bytes: Uint8Array;
  expected: {
    method: string;
    service?: string;
    type: string;
    ok: boolean;
    requestId: number;
    headers: Record<string, string>;
  };
}

const ARGS: TField[] = [
  { id: 1, value: { type: "string", value: "hello" } },
  { id: 2, value: { type: "i32", value: -7 } },
  {
    id: 3,
    value: {
      type: "list",
      elem: "struct",
      values: [{ type: "struct", fields: [{ id: 1, value: { type: "bool", value: true } }] }],
    },
  },
  {
    id: 20,
    value: {
      type: "map",
      key: "string",
      value: "i64",
      entries: [[{ type: "string", value: "k" }, { type: "i64", value: -5n }]],
    },
  },
  { id: 21, value: { type: "double", value: 1.5 } },
];

const MESSAGES: { name: string; m: TMessage; type: string; ok: boolean; service?: string }[] = [
  { name: "call", m: { name: "echo", type: 1, seqid: 1, body: ARGS }, type: "request", ok: true },
  {
    name: "reply",
    m: { name: "echo", type: 2, seqid: -2, body: [{ id: 0, value: { type: "string", value: "hi" } }] },
    type: "response",
    ok: true,
  },
  {
    name: "declared exception reply",
    m: {
      name: "fail",
      type: 2,
      seqid: 300,
      body: [{
        id: 1,
        value: { type: "struct", fields: [{ id: 1, value: { type: "string", value: "no" } }] },
      }],
    },
    type: "error",
    ok: false,
  },
  {
    name: "TApplicationException",
    m: {
      name: "echo",
      type: 3,
      seqid: 2 ** 31 - 1,
      body: [{ id: 1, value: { type: "string", value: "boom" } }, {
        id: 2,
        value: { type: "i32", value: 6 },
      }],
    },
    type: "error",
    ok: false,
  },
  {
    name: "oneway",
    m: { name: "ping", type: 4, seqid: 9, body: [{ id: 1, value: { type: "string", value: "me" } }] },
    type: "oneway",
    ok: true,
  },
  {
    name: "multiplexed call",
    m: { name: "Calc:add", type: 1, seqid: -(2 ** 31), body: ARGS.slice(0, 2) },
    type: "request",
    ok: true,
    service: "Calc",
  },
];

const HEADERS = { user: "aeraki", "x-trace": "t1" };
const INT_HEADERS = { 6: "to-svc", 99: "other" };

/** Wire bytes of `message` in `shape`. */
export function encodeIn(shape: Shape, message: TMessage): Uint8Array {
  const inner = shape.protocol === "compact" ? compactMessage(message) : binaryMessage(message, shape.lax);
  if (shape.transport === "framed") return framed(inner);
  if (shape.transport === "unframed") return inner;
  return header(inner, {
    kitex: shape.kitex,
    protocolId: shape.protocol === "compact" ? 2 : 0,
    seqid: message.seqid,
    headers: HEADERS,
    intHeaders: shape.kitex ? INT_HEADERS : undefined,
  });
}

/** Every case of every shape. */
export function allCases(): Case[] {
  const cases: Case[] = [];
  for (const shape of SHAPES) {
    for (const { name, m, type, ok, service } of MESSAGES) {
      const headers: Record<string, string> = shape.transport === "header" ? { ...HEADERS } : {};
      if (shape.kitex) Object.assign(headers, { to_service: "to-svc", "99": "other" });
      cases.push({
        name: `${shape.name} ${name}`,
        shape,
        message: m,
        bytes: encodeIn(shape, m),
        expected: { method: m.name, service, type, ok, requestId: m.seqid, headers },
      });
    }
  }
  return cases;
}
