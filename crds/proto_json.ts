/**
 * Proto3 JSON (as written in Envoy bootstraps, Aeraki's data-plane configs and xDS dumps) → the
 * canonical object form described in docs/ARCHITECTURE.md, checked field by field against the real
 * message types. Either casing is accepted (`statPrefix` and `stat_prefix`), as Envoy's JSON parser does.
 *
 * @module
 */
import type protobuf from "protobufjs";
import { parse as parseYaml } from "yaml";
import { findType, mustFindType, TYPE_URL_PREFIX } from "./protos.ts";

/** A config problem at a known place: `origin` (file, or xDS resource) and `path` (`static_resources.listeners[0]…`). */
export class ConfigError extends TypeError {
  readonly origin: string;
  readonly path: string;
  constructor(origin: string, path: string, reason: string) {
    super(`Cannot load ${origin}: ${path || "(root)"}: ${reason}`);
    this.name = "ConfigError";
    this.origin = origin;
    this.path = path;
  }
}

/** The result of a conversion: the canonical value and the paths of fields that were not recognised. */
export interface Canonical {
  value: Record<string, unknown>;
  unknown: string[];
}

type Json = unknown;

const WRAPPERS = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);
const PLAIN_JSON = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);
const INT_TYPES = new Set([
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
]);
const FLOAT_TYPES = new Set(["double", "float"]);

/** Converts proto3 JSON for message `typeName` into canonical form; throws {@linkcode ConfigError}. */
export function toCanonical(typeName: string, json: Json, origin: string): Canonical {
  const unknown: string[] = [];
  const value = convertMessage(mustFindType(typeName), json, { origin, unknown }, "");
  return { value: value as Record<string, unknown>, unknown };
}

/** Reads a bootstrap file (YAML or JSON) into a canonical `envoy.config.bootstrap.v3.Bootstrap`. */
export function loadBootstrapFile(path: string): { bootstrap: Record<string, unknown>; warnings: string[] } {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(path, "", `cannot read the file (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = parseYaml(text); // YAML is a superset of JSON
  } catch (error) {
    throw new ConfigError(path, "", `invalid YAML/JSON: ${(error as Error).message}`);
  }
  const { value, unknown } = toCanonical("envoy.config.bootstrap.v3.Bootstrap", json ?? {}, path);
  return { bootstrap: value, warnings: unknown.map((p) => `unknown field ${p}`) };
}

interface Ctx {
  origin: string;
  unknown: string[];
}

function fail(ctx: Ctx, path: string, reason: string): never {
  throw new ConfigError(ctx.origin, path, reason);
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const fieldIndex = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Field lookup by proto name, lowerCamel JSON name and explicit json_name. */
function fieldByJsonKey(type: protobuf.Type, key: string): protobuf.Field | undefined {
  let index = fieldIndex.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set(field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), field);
      const jsonName = field.options?.["json_name"];
      if (typeof jsonName === "string") index.set(jsonName, field);
    }
    fieldIndex.set(type, index);
  }
  return index.get(key);
}

function convertMessage(type: protobuf.Type, json: Json, ctx: Ctx, path: string): unknown {
  const full = type.fullName.slice(1);
  if (full === "google.protobuf.Any") return convertAny(json, ctx, path);
  if (full === "google.protobuf.Duration") return convertDuration(json, ctx, path);
  if (full === "google.protobuf.Timestamp") return convertTimestamp(json, ctx, path);
  if (WRAPPERS.has(full)) {
    const inner = isObject(json) && "value" in json ? json.value : json;
    return { value: convertScalar(type.fields.value, inner, ctx, path) };
  }
  if (PLAIN_JSON.has(full)) return json;
  if (full === "google.protobuf.Empty") return {};
  if (!isObject(json)) fail(ctx, path, `expected an object for ${full}, got ${describe(json)}`);
  const out: Record<string, unknown> = {};
  const oneofSeen = new Map<string, string>();
  for (const [key, raw] of Object.entries(json)) {
    const fieldPath = path ? `${path}.${key}` : key;
    const field = fieldByJsonKey(type, key);
    if (!field) {
      ctx.unknown.push(`${fieldPath} (not a field of ${full})`);
      continue;
    }
    if (raw === null || raw === undefined) continue;
    if (field.partOf) {
      const other = oneofSeen.get(field.partOf.name);
      if (other && other !== field.name) {
        fail(
          ctx,
          fieldPath,
          `only one of '${other}' and '${field.name}' may be set (oneof ${field.partOf.name})`,
        );
      }
      oneofSeen.set(field.partOf.name, field.name);
    }
    out[field.name] = convertField(field, raw, ctx, fieldPath);
  }
  return out;
}

function convertField(field: protobuf.Field, raw: Json, ctx: Ctx, path: string): unknown {
  if (field.map) {
    if (!isObject(raw)) fail(ctx, path, `expected a map object, got ${describe(raw)}`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = convertSingle(field, v, ctx, `${path}.${k}`);
    return out;
  }
  if (field.repeated) {
    // Envoy's JSON parser accepts a single value for a repeated field; Aeraki's test bootstraps rely on it.
    const list = Array.isArray(raw) ? raw : [raw];
    return list.map((item, i) => convertSingle(field, item, ctx, `${path}[${i}]`));
  }
  return convertSingle(field, raw, ctx, path);
}

function convertSingle(field: protobuf.Field, raw: Json, ctx: Ctx, path: string): unknown {
  field.resolve();
  const resolved = field.resolvedType;
  if (resolved && "fieldsArray" in resolved) return convertMessage(resolved as protobuf.Type, raw, ctx, path);
  if (resolved) return convertEnum(resolved as protobuf.Enum, raw, ctx, path);
  return convertScalar(field, raw, ctx, path);
}

function convertEnum(enumType: protobuf.Enum, raw: Json, ctx: Ctx, path: string): string {
  if (typeof raw === "string" && raw in enumType.values) return raw;
  if (typeof raw === "number" && enumType.valuesById[raw] !== undefined) return enumType.valuesById[raw];
  return fail(
    ctx,
    path,
    `${describe(raw)} is not a value of ${enumType.name} (${Object.keys(enumType.values).join(", ")})`,
  );
}

function convertScalar(field: protobuf.Field, raw: Json, ctx: Ctx, path: string): unknown {
  const t = field.type;
  if (t === "string") {
    if (typeof raw !== "string") fail(ctx, path, `expected a string, got ${describe(raw)}`);
    return raw;
  }
  if (t === "bool") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "false") return raw === "true";
    return fail(ctx, path, `expected true or false, got ${describe(raw)}`);
  }
  if (INT_TYPES.has(t)) {
    const n = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      fail(ctx, path, `expected an integer, got ${describe(raw)}`);
    }
    if (t.startsWith("u") && n < 0) fail(ctx, path, `expected a non-negative integer, got ${n}`);
    return n;
  }
  if (FLOAT_TYPES.has(t)) {
    const n = typeof raw === "string" ? Number(raw) : raw;
    if (typeof n !== "number" || Number.isNaN(n) && raw !== "NaN") {
      fail(ctx, path, `expected a number, got ${describe(raw)}`);
    }
    return n;
  }
  if (t === "bytes") {
    if (typeof raw !== "string") fail(ctx, path, `expected base64 bytes, got ${describe(raw)}`);
    return raw;
  }
  return fail(ctx, path, `unsupported scalar type ${t}`);
}

function convertAny(json: Json, ctx: Ctx, path: string): unknown {
  if (!isObject(json) || typeof json["@type"] !== "string") {
    fail(ctx, path, "expected an Any object with '@type'");
  }
  const url = json["@type"] as string;
  const inner = findType(url);
  if (!inner) {
    ctx.unknown.push(`${path} (type ${url} is not known to metamesh)`);
    return { ...json };
  }
  const { "@type": _, ...rest } = json;
  const full = inner.fullName.slice(1);
  // Well-known types inside Any use the {"@type", "value"} JSON form.
  const body = WRAPPERS.has(full) || PLAIN_JSON.has(full) || full.startsWith("google.protobuf.Duration") ||
      full === "google.protobuf.Timestamp"
    ? { value: convertMessage(inner, rest.value, ctx, `${path}.value`) }
    : convertMessage(inner, rest, ctx, path) as Record<string, unknown>;
  return { "@type": url.startsWith(TYPE_URL_PREFIX) ? url : TYPE_URL_PREFIX + full, ...body };
}

/** "5s", "0.25s", "-1.5s" or {seconds, nanos} → {seconds, nanos}. */
function convertDuration(json: Json, ctx: Ctx, path: string): { seconds: number; nanos: number } {
  if (isObject(json)) {
    const seconds = Number(json.seconds ?? 0);
    const nanos = Number(json.nanos ?? 0);
    if (!Number.isInteger(seconds) || !Number.isInteger(nanos)) fail(ctx, path, "invalid Duration object");
    return { seconds, nanos };
  }
  const match = typeof json === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json.trim()) : null;
  if (!match) return fail(ctx, path, `expected a duration like "5s" or "0.25s", got ${describe(json)}`);
  const sign = match[1] ? -1 : 1;
  const nanos = match[3] ? Number(match[3].padEnd(9, "0")) : 0;
  return { seconds: sign * Number(match[2]), nanos: sign * nanos };
}

function convertTimestamp(json: Json, ctx: Ctx, path: string): { seconds: number; nanos: number } {
  if (isObject(json)) return { seconds: Number(json.seconds ?? 0), nanos: Number(json.nanos ?? 0) };
  const ms = typeof json === "string" ? Date.parse(json) : NaN;
  if (Number.isNaN(ms)) fail(ctx, path, `expected an RFC 3339 timestamp, got ${describe(json)}`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function describe(value: Json): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return typeof value === "string" ? `'${value}'` : `${typeof value} ${String(value)}`;
}

/** Milliseconds of a canonical Duration (`undefined` → `fallback`). */
export function durationMs(duration: unknown, fallback: number): number {
  if (!isObject(duration)) return fallback;
  return Number(duration.seconds ?? 0) * 1000 + Math.round(Number(duration.nanos ?? 0) / 1e6);
}
