/**
 * The declarative codec: a YAML description of a length-prefixed request/response protocol, validated
 * and compiled once, registered as `metamesh.codec.declarative` (config `metamesh.codec.DeclarativeCodec`
 * with `description` or `description_file`). Every description shipped in `codecs/protocols/` is also
 * registered under its own `codec_name` (e.g. `metamesh.codec.trpc`).
 *
 * @module
 */
import type { CodecFactory, CodecRole } from "../codec.ts";
import { registerCodec } from "../registry.ts";
import { compileDescription, type Program } from "./compile.ts";
import { DeclarativeCodec } from "./declarative_codec.ts";
import { parseDescription } from "../../crds/declarative_codec.ts";
import { SHIPPED_DESCRIPTIONS } from "./shipped.ts";

export { type Description, DescriptionSchema, parseDescription } from "../../crds/declarative_codec.ts";
export type { Program } from "./compile.ts";

/** The registered name of the generic declarative codec. */
export const DECLARATIVE_CODEC_NAME = "metamesh.codec.declarative";
/** Type URL of its config message (crds/proto/metamesh/codec/declarative.proto). */
export const DECLARATIVE_CONFIG_TYPE = "type.googleapis.com/metamesh.codec.DeclarativeCodec";

/**
 * Validates and compiles a description (YAML text or a parsed object). Throws `TypeError`
 * `Cannot load declarative description…: <field path>: <reason>` when it is bad.
 */
export function loadProtocol(source: string | unknown, origin?: string): Program {
  return compileDescription(parseDescription(source, origin));
}

/**
 * Makes the factory of a compiled protocol, registered as `name` (default: the description's `codec_name`,
 * else `metamesh.codec.declarative`). Instances share only the immutable program.
 */
export function createDeclarativeCodecFactory(program: Program, name?: string): CodecFactory {
  return Object.freeze({
    name: name ?? program.codecName ?? DECLARATIVE_CODEC_NAME,
    multiplexable: program.requestIdSlot >= 0 && program.rewritable,
    create: (role: CodecRole) => new DeclarativeCodec(program, role),
  });
}

/** The compiled shipped descriptions, by description `name` (`trpc`, `videopacket`). */
export function shippedProtocols(): ReadonlyMap<string, Program> {
  return shipped;
}

const shipped: ReadonlyMap<string, Program> = new Map(
  Object.entries(SHIPPED_DESCRIPTIONS).map(([file, text]) => {
    const program = loadProtocol(text, `codecs/protocols/${file}`);
    return [program.name, program];
  }),
);

// Compiling is the expensive part; configs repeat (every listener, every xDS push), so keep the results.
const compiled = new Map<string, CodecFactory>();
const COMPILED_CACHE_LIMIT = 64;

/** Registry provider of `metamesh.codec.declarative`. */
function provide(config: Record<string, unknown> | undefined): CodecFactory {
  const fail = (reason: string): never => {
    throw new TypeError(`Cannot configure ${DECLARATIVE_CODEC_NAME}: ${reason}`);
  };
  if (config === undefined) {
    return fail("a DeclarativeCodec config with description or description_file is required");
  }
  const type = config["@type"];
  if (type !== undefined && type !== DECLARATIVE_CONFIG_TYPE) {
    fail(`config type '${type}' is not ${DECLARATIVE_CONFIG_TYPE}`);
  }
  const unknown = Object.keys(config).find((k) => !["@type", "description", "description_file"].includes(k));
  if (unknown) fail(`unknown field '${unknown}'`);
  const { description, description_file: file } = config;
  if ((description === undefined) === (file === undefined)) {
    fail("exactly one of description and description_file is required");
  }
  let text: string, origin: string | undefined;
  if (typeof description === "string") text = description;
  else if (typeof file === "string") {
    origin = file;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      return fail(
        `description_file '${file}' cannot be read: ${error instanceof Error ? error.message : error}`,
      );
    }
  } else return fail("description and description_file must be strings");
  const cached = compiled.get(text);
  if (cached) return cached;
  const factory = createDeclarativeCodecFactory(loadProtocol(text, origin), DECLARATIVE_CODEC_NAME);
  if (compiled.size >= COMPILED_CACHE_LIMIT) compiled.delete(compiled.keys().next().value!);
  compiled.set(text, factory);
  return factory;
}

registerCodec(DECLARATIVE_CODEC_NAME, provide);

/** Names other meshes use for a shipped protocol (Aeraki 1.4.2+ ships a tRPC codec under this name). */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  "metamesh.codec.trpc": ["aeraki.meta_protocol.codec.trpc"],
};

for (const program of shipped.values()) {
  if (!program.codecName) continue;
  const factory = createDeclarativeCodecFactory(program);
  registerCodec([program.codecName, ...(ALIASES[program.codecName] ?? [])], (config) => {
    const extra = config && Object.keys(config).find((k) => k !== "@type");
    if (extra) {
      throw new TypeError(
        `Cannot configure ${program.codecName}: unknown field '${extra}' (use ${DECLARATIVE_CODEC_NAME} for a custom description)`,
      );
    }
    return factory;
  });
}
