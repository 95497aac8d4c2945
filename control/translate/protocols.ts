/**
 * Protocol detection from port names, as Aeraki (spec aeraki-control-plane §4): split on `-`, segment 1 selects
 * the protocol, segment 2 names the application protocol of `tcp-metaprotocol-<name>-…` ports.
 *
 * @module
 */

import {
  type ApplicationProtocol,
  CODEC_DESCRIPTION_ANNOTATION,
  CODEC_DESCRIPTION_FILE_ANNOTATION,
} from "../../crds/resources/application_protocol.ts";

const DECLARATIVE_CODEC_CONFIG_TYPE = "type.googleapis.com/metamesh.codec.DeclarativeCodec";

/** The built-in application protocols (Aeraki's default ApplicationProtocols). */
export const BUILTIN_CODECS: Readonly<Record<string, string>> = {
  dubbo: "aeraki.meta_protocol.codec.dubbo",
  thrift: "aeraki.meta_protocol.codec.thrift",
};

/** What a port speaks, as far as translation cares. */
export type PortProtocol =
  /** MetaProtocol: the application protocol name and the codec factory name. */
  | {
    readonly kind: "meta";
    readonly name: string;
    readonly codec: string;
    /** The codec's config (an Any in canonical form), e.g. a declarative codec's description. */
    readonly codecConfig?: Readonly<Record<string, unknown>>;
  }
  | { readonly kind: "redis" }
  /** Proxyless gRPC (port name starting with `grpc`). */
  | { readonly kind: "grpc" }
  /** Anything else: no listener is generated (Istio would use tcp_proxy). */
  | { readonly kind: "tcp"; readonly reason?: string };

/**
 * Detects the protocol of a port name. `codecs` maps ApplicationProtocol names to codecs (built-ins included by
 * the caller). Differences from Aeraki 1.3.0, on purpose: `tcp-dubbo`/`tcp-thrift` (legacy Envoy dubbo/thrift
 * proxies in Aeraki) are served by the MetaProtocol codecs; a port named exactly `tcp-metaprotocol` (crashes
 * Aeraki) and an unknown application protocol fall back to plain TCP with a reason.
 */
export function detectProtocol(
  portName: string | undefined,
  codecs: ReadonlyMap<string, string>,
  codecConfigs: ReadonlyMap<string, Readonly<Record<string, unknown>>> = new Map(),
): PortProtocol {
  const name = (portName ?? "").toLowerCase();
  if (name.startsWith("grpc")) return { kind: "grpc" };
  const segments = name.split("-");
  switch (segments[1]) {
    case "redis":
      // Aeraki's Redis generator requires the `tcp-redis` prefix.
      return segments[0] === "tcp"
        ? { kind: "redis" }
        : { kind: "tcp", reason: "redis ports start with tcp-redis" };
    case "dubbo":
    case "thrift":
      return meta(segments[1], codecs, codecConfigs);
    case "metaprotocol": {
      const app = segments[2];
      if (!app) return { kind: "tcp", reason: `port '${portName}' names no application protocol` };
      return meta(app, codecs, codecConfigs);
    }
    default:
      return { kind: "tcp" };
  }
}

function meta(
  name: string,
  codecs: ReadonlyMap<string, string>,
  codecConfigs: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): PortProtocol {
  const codec = codecs.get(name) ?? BUILTIN_CODECS[name];
  if (!codec) return { kind: "tcp", reason: `no ApplicationProtocol named '${name}'` };
  const codecConfig = codecConfigs.get(name);
  return codecConfig ? { kind: "meta", name, codec, codecConfig } : { kind: "meta", name, codec };
}

/**
 * The codec config an ApplicationProtocol carries: metamesh's declarative codec takes its description from
 * the `metamesh.io/codec-description` (YAML text) or `metamesh.io/codec-description-file` annotation.
 */
export function codecConfigOf(ap: ApplicationProtocol): Readonly<Record<string, unknown>> | undefined {
  const annotations = ap.metadata?.annotations ?? {};
  const text = annotations[CODEC_DESCRIPTION_ANNOTATION];
  const file = annotations[CODEC_DESCRIPTION_FILE_ANNOTATION];
  if (text === undefined && file === undefined) return undefined;
  return {
    "@type": DECLARATIVE_CODEC_CONFIG_TYPE,
    ...(text !== undefined ? { description: text } : { description_file: file }),
  };
}
