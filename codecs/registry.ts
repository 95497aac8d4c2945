/**
 * Codec registry: codec names (as they appear in MetaProtocolProxy `protocol.codec.name`, Aeraki's
 * ApplicationProtocol `codec`) to factories. Built-in codecs register themselves in `builtin.ts`.
 *
 * @module
 */
import type { CodecFactory } from "./codec.ts";

/**
 * Builds a factory from the codec's config: the `codec.config` Any of the filter config in canonical proto
 * form (`{"@type": url, ...fields}`), or `undefined` when absent. Throws `TypeError` on a bad config.
 */
export type CodecProvider = (config: Record<string, unknown> | undefined) => CodecFactory;

const providers = new Map<string, CodecProvider>();

/** Registers `provider` under `name` (and any aliases). A second registration of a name replaces the first. */
export function registerCodec(names: string | readonly string[], provider: CodecProvider): void {
  for (const name of typeof names === "string" ? [names] : names) providers.set(name, provider);
}

/** The registered codec names, sorted. */
export function codecNames(): string[] {
  return [...providers.keys()].sort();
}

/** Resolves a codec by name; throws a `TypeError` naming the known codecs when the name is unknown. */
export function resolveCodec(name: string, config?: Record<string, unknown>): CodecFactory {
  const provider = providers.get(name);
  if (!provider) {
    throw new TypeError(
      `Cannot find codec '${name}': known codecs are ${codecNames().join(", ") || "(none)"}`,
    );
  }
  return provider(config);
}

/**
 * A provider for a codec whose config message has no fields (Aeraki's `DubboCodec`, `BrpcCodec`…): it accepts
 * an absent config or that empty message and always returns `factory`.
 */
export function emptyConfigProvider(label: string, configType: string, factory: CodecFactory): CodecProvider {
  const message = configType.slice(configType.lastIndexOf(".") + 1);
  return (config) => {
    if (config === undefined) return factory;
    const type = config["@type"];
    if (type !== undefined && type !== configType) {
      throw new TypeError(`Cannot configure ${label} codec: config type '${type}' is not ${configType}`);
    }
    const unknown = Object.keys(config).find((key) => key !== "@type");
    if (unknown !== undefined) {
      throw new TypeError(
        `Cannot configure ${label} codec: unknown field '${unknown}' (${message} has no fields)`,
      );
    }
    return factory;
  };
}
