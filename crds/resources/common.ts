/**
 * Building blocks shared by the resource schemas: object metadata, Go-style durations, proto integer ranges.
 *
 * Objects are "loose": fields we do not know pass through untouched, because Kubernetes prunes them anyway and
 * rejecting valid Aeraki YAML over a field we do not read would be worse than ignoring it.
 *
 * @module
 */
import { z } from "zod";

/** Largest value of a proto `uint32`. */
const UINT32_MAX = 4294967295;
/** Range of a proto `int32`. */
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A proto `uint32` (the CRD says `integer`; Aeraki's decoder rejects negatives and overflow). */
export const uint32 = z.int().min(0).max(UINT32_MAX);

/** A proto `int32`. */
export const int32 = z.int().min(INT32_MIN).max(INT32_MAX);

/** A TCP/UDP port number. */
export const portNumber = z.int().min(0).max(65535);

/** A string list that Kubernetes may serialize as `null` (absent). */
export const stringList = z.array(z.string());

/** A string → string map (labels, selectors, annotations). */
export const stringMap = z.record(z.string(), z.string());

// Go's time.ParseDuration grammar: one or more <decimal><unit> terms, optional sign, or a bare "0".
const DURATION_RE = /^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const DURATION_TERM_RE = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go-style duration string such as `"60s"`, `"100ms"`, `"1h30m"` (what Aeraki and Istio accept). */
export const duration = z.string().regex(DURATION_RE, {
  error: "expected a duration such as 10s, 100ms or 1h",
});

/**
 * Converts a duration string accepted by {@link duration} to milliseconds (fractions kept).
 * Throws a `RangeError` for a string the schema would have rejected.
 */
export function durationToMs(text: string): number {
  if (!DURATION_RE.test(text)) {
    throw new RangeError(`Cannot parse duration: "${text}" is not like 10s or 100ms`);
  }
  const sign = text.startsWith("-") ? -1 : 1;
  let total = 0;
  for (const match of text.matchAll(DURATION_TERM_RE)) total += Number(match[1]) * UNIT_MS[match[2]];
  return sign * total;
}

/** Kubernetes `ObjectMeta`, the fields metamesh reads; others pass through. */
export const objectMeta = z.looseObject({
  name: z.string().min(1, { error: "metadata.name must not be empty" }),
  namespace: z.string().optional(),
  labels: stringMap.nullish(),
  annotations: stringMap.nullish(),
  resourceVersion: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
});

/** Inferred type of {@link objectMeta}. */
export type ObjectMeta = z.infer<typeof objectMeta>;

/**
 * Schema of a whole custom/Istio resource: `apiVersion` from `apiVersions`, the given `kind`, metadata, and
 * `spec` checked by `spec` (absent spec = `{}`, like an empty proto message).
 */
export function specResource<K extends string, S extends z.ZodType>(
  kind: K,
  apiVersions: readonly [string, ...string[]],
  spec: S,
) {
  return z.looseObject({
    apiVersion: z.enum(apiVersions),
    kind: z.literal(kind),
    metadata: objectMeta,
    spec: z.preprocess((v) => v ?? {}, spec),
    status: z.unknown().optional(),
  });
}
