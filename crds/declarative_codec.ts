/**
 * The zod schema of a declarative protocol description (docs/declarative-codec.md) and its loader:
 * YAML text → validated, defaulted {@linkcode Description}. A bad description is rejected with the
 * field at fault (`fields[2].offset: expected a number`). Cross-references (names, offsets within the
 * header) are checked by `compile.ts`, which reports in the same path form.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const Name = z.string().regex(NAME, "expected a name (letters, digits, '_', '.', '-')");
const Offset = z.int().min(0).max(65535);
const Hex = z.string().regex(/^([0-9a-fA-F]{2})+$/, 'expected hex bytes such as "0930"');

/** Integer types of header fields and length prefixes. */
export const IntType = z.enum(["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"]);
/** Length prefixes: a fixed-width unsigned integer or a protobuf-style varint. */
export const LenType = z.enum(["u8", "u16", "u32", "varint"]);
const Endian = z.enum(["big", "little"]);

/** A value test: a number (equals), a list (one of), or `{equals|not_equals, mask}`. */
export const Match = z.union([
  z.number(),
  z.array(z.number()).min(1),
  z.strictObject({
    equals: z.union([z.number(), z.array(z.number()).min(1)]).optional(),
    not_equals: z.number().optional(),
    mask: z.int().min(0).max(0xffffffff).optional(),
  }),
]);

const Field = z.strictObject({ name: Name, offset: Offset, type: IntType, endian: Endian.optional() });

const Size = z.union([
  z.literal("rest"),
  z.strictObject({ field: Name, adjust: z.int().default(0) }),
  z.strictObject({ fixed: z.int().min(0).max(0xffffff) }),
  z.strictObject({ prefix: LenType, endian: Endian.optional() }),
]);

const PbField = z.strictObject({
  number: z.int().min(1).max(536870911),
  name: Name,
  type: z.enum(["varint", "string", "map"]),
});

const Section = z.strictObject({
  name: Name,
  at: z.union([Offset, z.strictObject({ field: Name, adjust: z.int().default(0) })]).optional(),
  size: Size,
  format: z.enum(["opaque", "string", "kv_list", "protobuf"]),
  kv: z.strictObject({
    count: LenType,
    key_length: LenType,
    value_length: LenType,
    endian: Endian.optional(),
  }).optional(),
  request: z.array(PbField).optional(),
  response: z.array(PbField).optional(),
});

const Kind = z.enum(["request", "response", "oneway", "heartbeat", "error", "reject"]);
const Direction = z.enum(["request", "response"]);

const Rule = z.strictObject({
  direction: Direction.optional(),
  when: z.record(Name, Match).default({}),
  kind: Kind,
  reason: z.string().optional(),
});

const Metadata = z.union([
  z.strictObject({ key: z.string().min(1), from: Name }),
  z.strictObject({ entries: Name, prefix: z.string().default("") }),
]);

const TemplateValue = z.strictObject({
  number: z.int().min(1).max(536870911).optional(),
  type: z.enum(["varint", "string"]).default("varint"),
  value: z.union([z.number(), z.string()]).optional(),
  from: z.string().optional(),
});

/** A reply built by the proxy: header values, fields copied from the request, section contents. */
const Template = z.strictObject({
  header: z.record(Name, z.number()).default({}),
  copy: z.array(Name).default([]),
  sections: z.record(Name, z.array(TemplateValue)).default({}),
});

const LOCAL_ERROR_KINDS = [
  "route_not_found",
  "cluster_not_found",
  "no_healthy_upstream",
  "upstream_connect_failure",
  "upstream_reset",
  "timeout",
  "overloaded",
  "rate_limited",
  "bad_response",
  "fault_injected",
  "default",
] as const;

/** The whole description. Unknown keys are rejected everywhere (typos must not pass silently). */
export const DescriptionSchema = z.strictObject({
  name: Name,
  /** Extra registry name, e.g. `metamesh.codec.trpc`. */
  codec_name: z.string().min(1).optional(),
  endian: Endian.default("big"),
  header_size: z.int().min(1).max(65535),
  magic: z.array(z.strictObject({ offset: Offset.default(0), hex: Hex })).default([]),
  trailer: z.strictObject({ hex: Hex }).optional(),
  fields: z.array(Field).min(1),
  length: z.strictObject({
    field: Name,
    counts: z.enum(["frame", "after_header", "after_field"]),
    adjust: z.int().default(0),
  }),
  limits: z.strictObject({
    max_frame_size: z.int().min(1).max(0x7fffffff).default(16 * 1024 * 1024),
    max_entries: z.int().min(0).max(1_000_000).default(1024),
  }).default({ max_frame_size: 16 * 1024 * 1024, max_entries: 1024 }),
  direction: z.strictObject({ field: Name, mask: z.int().min(0).optional(), request: z.number() })
    .optional(),
  sections: z.array(Section).default([]),
  request_id: z.strictObject({ from: Name, rewritable: z.boolean().default(true) }).optional(),
  message_kind: z.array(Rule).default([]),
  response_ok: z.record(Name, Match).default({}),
  metadata: z.array(Metadata).default([]),
  operation: z.array(Name).default([]),
  mutation: z.strictObject({ entries: Name }).optional(),
  error_reply: Template.extend({
    codes: z.partialRecord(z.enum(LOCAL_ERROR_KINDS), z.int()).default({}),
  }).optional(),
  heartbeat_reply: Template.optional(),
});

/** A validated description with defaults applied. */
export type Description = z.infer<typeof DescriptionSchema>;
/** One value test of a rule. */
export type MatchSpec = z.infer<typeof Match>;

/** Formats a path like `fields[2].offset`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out || "(root)";
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") return `expected ${article(issue.expected)}`;
  if (issue.code === "unrecognized_keys") return `unknown field '${issue.keys[0]}'`;
  return issue.message;
}

/**
 * Parses and validates a description from YAML text (or an already-parsed object). Throws a `TypeError`
 * `Cannot load declarative description[ from <origin>]: <path>: <reason>` on the first problem.
 */
export function parseDescription(source: string | unknown, origin?: string): Description {
  const where = origin ? ` from ${origin}` : "";
  let raw: unknown = source;
  if (typeof source === "string") {
    try {
      raw = parseYaml(source);
    } catch (error) {
      throw new TypeError(`Cannot load declarative description${where}: bad YAML: ${error}`);
    }
  }
  const result = DescriptionSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TypeError(
      `Cannot load declarative description${where}: ${formatPath(issue.path)}: ${describeIssue(issue)}`,
    );
  }
  return result.data;
}
