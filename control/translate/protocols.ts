/**
 * Protocol detection from port names, as Aeraki (spec aeraki-control-plane §4): split on `-`, segment 1 selects
 * the protocol, segment 2 names the application protocol of `tcp-metaprotocol-<name>-…` ports.
 *
 * @module
 */

/** The built-in application protocols (Aeraki's default ApplicationProtocols). */
export const BUILTIN_CODECS: Readonly<Record<string, string>> = {
  dubbo: "aeraki.meta_protocol.codec.dubbo",
  thrift: "aeraki.meta_protocol.codec.thrift",
};

/** What a port speaks, as far as translation cares. */
export type PortProtocol =
  /** MetaProtocol: the application protocol name and the codec factory name. */
  | { readonly kind: "meta"; readonly name: string; readonly codec: string }
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
      return meta(segments[1], codecs);
    case "metaprotocol": {
      const app = segments[2];
      if (!app) return { kind: "tcp", reason: `port '${portName}' names no application protocol` };
      return meta(app, codecs);
    }
    default:
      return { kind: "tcp" };
  }
}

function meta(name: string, codecs: ReadonlyMap<string, string>): PortProtocol {
  const codec = codecs.get(name) ?? BUILTIN_CODECS[name];
  if (!codec) return { kind: "tcp", reason: `no ApplicationProtocol named '${name}'` };
  return { kind: "meta", name, codec };
}
