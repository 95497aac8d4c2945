/**
 * Small helpers for reading canonical config objects (see docs/ARCHITECTURE.md): typed field access,
 * durations, and config errors that carry the origin and field path.
 *
 * @module
 */

/** A canonical proto message as a plain object. */
export type Obj = Record<string, unknown>;

/** A config error: which file/resource, which field, and why. */
export class ProxyConfigError extends TypeError {
  /** File path or resource name the config came from. */
  readonly origin: string;
  /** Dotted field path inside that config. */
  readonly path: string;
  constructor(origin: string, path: string, why: string) {
    super(`Cannot load config ${origin} at ${path}: ${why}`);
    this.name = "ProxyConfigError";
    this.origin = origin;
    this.path = path;
  }
}

/** Where a config object came from, for error messages. */
export interface ConfigPath {
  readonly origin: string;
  readonly path: string;
}

/** Extends a path with a field name or index. */
export function at(p: ConfigPath, field: string | number): ConfigPath {
  const path = typeof field === "number" ? `${p.path}[${field}]` : p.path ? `${p.path}.${field}` : field;
  return { origin: p.origin, path };
}

/** Throws a {@linkcode ProxyConfigError} at `p`. */
export function fail(p: ConfigPath, why: string): never {
  throw new ProxyConfigError(p.origin, p.path, why);
}

/** The value as an object, `{}` when absent; throws when it is something else. */
export function obj(value: unknown, p: ConfigPath): Obj {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(p, `expected an object, got ${JSON.stringify(value)}`);
  }
  return value as Obj;
}

/** The value as an array (a single object becomes a one-element list, as Envoy's JSON parser allows). */
export function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The value as a string (`fallback` when absent). */
export function str(value: unknown, p: ConfigPath, fallback = ""): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string") fail(p, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** The value as a number, accepting numeric strings (64-bit ints may arrive as strings). */
export function num(value: unknown, p: ConfigPath, fallback = 0): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    fail(p, `expected a number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A wrapper (`{value}`) or bare number. */
export function wrapped(value: unknown, p: ConfigPath, fallback: number): number {
  if (value !== null && typeof value === "object") return num((value as Obj).value, at(p, "value"), fallback);
  return num(value, p, fallback);
}

/**
 * A Duration in milliseconds: canonical `{seconds, nanos}`, also proto3 JSON `"1.5s"` for robustness.
 * `undefined` when absent.
 */
export function durationMs(value: unknown, p: ConfigPath): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") {
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(value);
    if (!m) fail(p, `expected a duration like "5s", got ${JSON.stringify(value)}`);
    return Number(m[1]) * 1000;
  }
  const d = obj(value, p);
  return num(d.seconds, at(p, "seconds")) * 1000 + num(d.nanos, at(p, "nanos")) / 1e6;
}
