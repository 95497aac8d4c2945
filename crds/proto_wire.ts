/**
 * Canonical objects ↔ protobuf wire bytes, for the xDS wire. `Any` values are packed and unpacked by
 * their type URL; `Struct` travels as plain JSON in canonical form.
 *
 * @module
 */
import protobuf from "protobufjs";
import { findType, mustFindType, TYPE_URL_PREFIX } from "./protos.ts";

type Obj = Record<string, unknown>;

const WRAPPED_ANY_BODY = /^google\.protobuf\.(Duration|Timestamp|Struct|Value|ListValue|\w+Value)$/;

/** Encodes a canonical message to protobuf bytes. Throws `TypeError` when it does not fit the type. */
export function encodeMessage(typeNameOrUrl: string, canonical: Obj): Uint8Array {
  const type = mustFindType(typeNameOrUrl);
  const proto = toProto(type, canonical) as Obj;
  const message = type.fromObject(proto);
  const problem = type.verify(message);
  if (problem) throw new TypeError(`Cannot encode ${type.fullName.slice(1)}: ${problem}`);
  return type.encode(message).finish();
}

/** Packs a canonical message (`{"@type": url, ...}`) into a wire Any `{type_url, value}`. */
export function packAny(canonical: Obj): { type_url: string; value: Uint8Array } {
  const url = String(canonical["@type"]);
  const { "@type": _, ...body } = canonical;
  const name = url.slice(url.lastIndexOf("/") + 1);
  const inner = WRAPPED_ANY_BODY.test(name) ? body.value as Obj : body;
  return { type_url: url, value: encodeMessage(name, inner) };
}

/** Decodes protobuf bytes of `typeNameOrUrl` to canonical form. Throws on malformed bytes. */
export function decodeMessage(typeNameOrUrl: string, bytes: Uint8Array): Obj {
  const type = mustFindType(typeNameOrUrl);
  const object = type.toObject(type.decode(bytes), {
    enums: String,
    longs: Number,
    bytes: String,
    defaults: false,
  });
  return fromProto(type, object) as Obj;
}

/** Unpacks a wire Any (`{type_url, value}`) into canonical `{"@type": url, ...}`. */
export function unpackAny(any: { type_url: string; value: Uint8Array | string }): Obj {
  const bytes = typeof any.value === "string" ? base64ToBytes(any.value) : any.value;
  const name = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
  const body = decodeMessage(name, bytes);
  return { "@type": any.type_url, ...(WRAPPED_ANY_BODY.test(name) ? { value: body } : body) };
}

function toProto(type: protobuf.Type, value: unknown): unknown {
  const full = type.fullName.slice(1);
  if (full === "google.protobuf.Any") return packAny(value as Obj);
  if (full === "google.protobuf.Struct") return structToProto(value as Obj);
  if (full === "google.protobuf.Value") return valueToProto(value);
  if (full === "google.protobuf.ListValue") return { values: (value as unknown[]).map(valueToProto) };
  const out: Obj = {};
  for (const [key, raw] of Object.entries(value as Obj)) {
    const field = type.fields[key];
    if (!field) throw new TypeError(`Cannot encode ${full}: '${key}' is not a field`);
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (!sub) {
      out[key] = raw;
    } else if (field.map) {
      out[key] = Object.fromEntries(Object.entries(raw as Obj).map(([k, v]) => [k, toProto(sub, v)]));
    } else if (field.repeated) {
      out[key] = (raw as unknown[]).map((v) => toProto(sub, v));
    } else {
      out[key] = toProto(sub, raw);
    }
  }
  return out;
}

function fromProto(type: protobuf.Type, value: unknown): unknown {
  const full = type.fullName.slice(1);
  if (full === "google.protobuf.Any") return unpackOrKeep(value as { type_url: string; value: string });
  if (full === "google.protobuf.Struct") return structFromProto(value as Obj);
  if (full === "google.protobuf.Value") return valueFromProto(value as Obj);
  if (full === "google.protobuf.ListValue") return ((value as Obj).values as Obj[] ?? []).map(valueFromProto);
  const out: Obj = {};
  for (const [key, raw] of Object.entries(value as Obj)) {
    const field = type.fields[key];
    if (!field) continue;
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (!sub) {
      out[key] = raw;
    } else if (field.map) {
      out[key] = Object.fromEntries(Object.entries(raw as Obj).map(([k, v]) => [k, fromProto(sub, v)]));
    } else if (field.repeated) {
      out[key] = (raw as unknown[]).map((v) => fromProto(sub, v));
    } else {
      out[key] = fromProto(sub, raw);
    }
  }
  return out;
}

/** An Any whose type metamesh does not know stays packed (`{"@type", "@bytes"}`) instead of failing. */
function unpackOrKeep(any: { type_url: string; value: string }): Obj {
  const name = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
  if (!findType(name)) return { "@type": any.type_url, "@bytes": any.value ?? "" };
  return unpackAny({ type_url: any.type_url || TYPE_URL_PREFIX + name, value: any.value ?? "" });
}

// protobufjs's built-in google.protobuf.Value uses lowerCamel field names.
function structToProto(json: Obj): Obj {
  return { fields: Object.fromEntries(Object.entries(json ?? {}).map(([k, v]) => [k, valueToProto(v)])) };
}

function valueToProto(v: unknown): Obj {
  if (v === null || v === undefined) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueToProto) } };
  return { structValue: structToProto(v as Obj) };
}

function structFromProto(struct: Obj): Obj {
  const fields = (struct?.fields ?? {}) as Record<string, Obj>;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueFromProto(v)]));
}

function valueFromProto(v: Obj): unknown {
  if ("numberValue" in v) return v.numberValue;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("structValue" in v) return structFromProto(v.structValue as Obj);
  if ("listValue" in v) return (((v.listValue as Obj).values ?? []) as Obj[]).map(valueFromProto);
  return null;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
