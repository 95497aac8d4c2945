/**
 * Counters of the ADS server, rendered as Prometheus text on the admin port's `/metrics`.
 *
 * @module
 */
import type { CacheStats } from "./cache.ts";
import { XDS_SHORT_NAMES } from "../../crds/protos.ts";

/** Counter names by type URL. */
export type XdsCounter = "pushes" | "acks" | "nacks" | "stale";

/** Per-type counters plus the connected-stream gauge. Cheap to bump; rendered on demand. */
export class XdsMetrics {
  #counters = new Map<string, number>();
  /** Open ADS streams (SotW + Delta). */
  connectedStreams = 0;

  /** Adds 1 to `counter` for `typeUrl`. */
  inc(counter: XdsCounter, typeUrl: string): void {
    const key = `${counter} ${typeUrl}`;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + 1);
  }

  /** Current value of `counter` for `typeUrl` (0 when never bumped). */
  get(counter: XdsCounter, typeUrl: string): number {
    return this.#counters.get(`${counter} ${typeUrl}`) ?? 0;
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(cache: CacheStats): string {
    const lines: string[] = [];
    const help: Record<XdsCounter, string> = {
      pushes: "DiscoveryResponses sent",
      acks: "DiscoveryRequests that ACKed a response",
      nacks: "DiscoveryRequests that rejected a response (error_detail set)",
      stale: "DiscoveryRequests ignored for a stale nonce",
    };
    for (const counter of Object.keys(help) as XdsCounter[]) {
      const name = `metamesh_xds_${counter}_total`;
      lines.push(`# HELP ${name} ${help[counter]}.`, `# TYPE ${name} counter`);
      for (const [typeUrl, short] of Object.entries(XDS_SHORT_NAMES)) {
        lines.push(`${name}{type="${short}",type_url="${typeUrl}"} ${this.get(counter, typeUrl)}`);
      }
    }
    lines.push(
      "# HELP metamesh_xds_connected_streams ADS streams currently open.",
      "# TYPE metamesh_xds_connected_streams gauge",
      `metamesh_xds_connected_streams ${this.connectedStreams}`,
      "# HELP metamesh_snapshot_builds_total Snapshots accepted into the cache.",
      "# TYPE metamesh_snapshot_builds_total counter",
      `metamesh_snapshot_builds_total ${cache.builds}`,
      "# HELP metamesh_snapshot_refused_total Snapshots refused (inconsistent or failed to build).",
      "# TYPE metamesh_snapshot_refused_total counter",
      `metamesh_snapshot_refused_total ${cache.refused}`,
      "# HELP metamesh_snapshot_build_seconds Time the last snapshot took to build.",
      "# TYPE metamesh_snapshot_build_seconds gauge",
      `metamesh_snapshot_build_seconds ${(cache.lastBuildMs / 1000).toFixed(6)}`,
    );
    const memory = Deno.memoryUsage();
    for (
      const [key, metric, help] of [
        ["heapUsed", "heap_used", "V8 heap in use"],
        ["heapTotal", "heap_total", "V8 heap reserved"],
        ["external", "external", "memory outside the V8 heap (buffers)"],
        ["rss", "rss", "resident set size"],
      ] as const
    ) {
      const name = `metamesh_process_${metric}_bytes`;
      lines.push(`# HELP ${name} ${help}.`, `# TYPE ${name} gauge`, `${name} ${memory[key]}`);
    }
    return lines.join("\n") + "\n";
  }
}
