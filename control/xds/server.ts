/**
 * The ADS server: `@grpc/grpc-js` serving `envoy.service.discovery.v3.AggregatedDiscoveryService`
 * (SotW `StreamAggregatedResources` and incremental `DeltaAggregatedResources`), and Aeraki's MetaRDS
 * `envoy.service.route.v3.RouteDiscoveryService` (`StreamRoutes`, `DeltaRoutes`) from a
 * {@linkcode SnapshotCache}. Requests are decoded straight into canonical form (so `node.metadata` is
 * plain JSON); responses carry resources packed once by the snapshot, and SotW responses are framed by hand
 * around bytes the snapshot encodes once for every stream (`wire.ts`).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { adsService } from "../../crds/grpc_services.ts";
import { decodeMessage } from "../../crds/proto_wire.ts";
import type { SnapshotCache } from "./cache.ts";
import { DeltaStream } from "./delta_stream.ts";
import { type Log, silentLog } from "./log.ts";
import { XdsMetrics } from "./metrics.ts";
import type { Obj } from "./resource.ts";
import { SotwStream } from "./sotw_stream.ts";
import { encodeDiscoveryResponse, framedDiscoveryResponse } from "./wire.ts";
import { type SendChannel, SendQueue } from "./send_queue.ts";
import { chunkedWriter } from "./chunked_writer.ts";
import { fullCollection } from "./collect.ts";
import type { StreamContext, StreamState, StreamStatus } from "./stream_state.ts";

/** Options of {@linkcode startAdsServer}. */
export interface AdsServerOptions {
  cache: SnapshotCache;
  /** Port to bind; 0 picks a free one. Default 15010. */
  port?: number;
  /** Address to bind. Default `0.0.0.0`. */
  hostname?: string;
  log?: Log;
  /** Shared metrics (the admin server renders them). */
  metrics?: XdsMetrics;
  /** Coalescing window for snapshot pushes. Default 10 ms (a rebuild notifies each stream once). */
  debounceMs?: number;
  /** Bytes of SotW responses in flight across all streams (`send_queue.ts`). Default 8 MiB. */
  sendBudget?: number;
}

/** A running ADS server. */
export interface AdsServer {
  /** The bound port. */
  readonly port: number;
  readonly metrics: XdsMetrics;
  /** Open streams, for `/debug/connections`. */
  streams(): StreamStatus[];
  /** The node of every open stream (for looking up a node by id). */
  nodes(): Readonly<Obj>[];
  /** Ends every stream and stops the server. Safe to call twice. */
  close(): Promise<void>;
}

/** Default xDS port (Istio's and Aeraki's plain-text xDS port). */
export const DEFAULT_XDS_PORT = 15010;

const DISCOVERY_REQUEST = "envoy.service.discovery.v3.DiscoveryRequest";
const DELTA_REQUEST = "envoy.service.discovery.v3.DeltaDiscoveryRequest";
/** Aeraki's MetaRDS service name. */
export const RDS_SERVICE = "envoy.service.route.v3.RouteDiscoveryService";

/** Binds and starts the ADS server. Rejects when the port cannot be bound. */
export async function startAdsServer(options: AdsServerOptions): Promise<AdsServer> {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? new XdsMetrics();
  const ctx: StreamContext = { cache: options.cache, log, metrics, debounceMs: options.debounceMs ?? 10 };
  const open = new Map<StreamState, grpc.ServerDuplexStream<Obj, unknown>>();
  // After every 8 MiB of responses written, a full GC + malloc_trim (`collect.ts`) frees what writing them
  // left (request decodes, piece views, the fallback path's copies). At 10k services / 10 clients, every 64 MiB
  // instead: initial sync 15.5 s instead of 19.6 s but peak RSS 292 MiB instead of 265 MiB.
  const gc = fullCollection();
  const sends = new SendQueue(options.sendBudget, gc && { every: 8 * 1024 * 1024, run: gc });
  const server = new grpc.Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024 });

  function serve<S extends SotwStream | DeltaStream>(
    call: grpc.ServerDuplexStream<Obj, unknown>,
    stream: S,
    handle: (req: Obj) => void,
    channel?: SendChannel,
  ): void {
    open.set(stream, call);
    metrics.connectedStreams++;
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      stream.close();
      channel?.close();
      open.delete(stream);
      metrics.connectedStreams--;
      log("debug", `ADS stream ${stream.id} closed`);
    };
    call.on("data", (req: Obj) => {
      try {
        handle(req);
      } catch (error) {
        log("error", `Cannot handle a request on ADS stream ${stream.id}: ${(error as Error).message}`);
      }
    });
    call.on("end", () => {
      finish();
      call.end();
    });
    call.on("cancelled", finish);
    call.on("error", finish);
    call.on("close", finish);
  }

  const sotw = (call: grpc.ServerDuplexStream<Obj, unknown>) => {
    // Framed only when the send budget lets it out, and written in pieces of the snapshot's shared bytes
    // (`chunked_writer.ts`); `call.write` of a copy where grpc-js internals are not reachable.
    const channel = sends.channel();
    const writePieces = chunkedWriter(call);
    const stream = new SotwStream(
      ctx,
      call.getPeer(),
      (r) =>
        channel.send(
          r.payload.length,
          (done) =>
            writePieces
              ? writePieces(framedDiscoveryResponse(r.version_info, r.payload, r.type_url, r.nonce), done)
              : call.write(encodeDiscoveryResponse(r.version_info, r.payload, r.type_url, r.nonce), done),
        ),
    );
    serve(call, stream, (req) => stream.onRequest(req), channel);
  };
  const delta = (call: grpc.ServerDuplexStream<Obj, unknown>) => {
    const stream = new DeltaStream(ctx, call.getPeer(), (response) => call.write(response));
    serve(call, stream, (req) => stream.onRequest(req));
  };
  const [ads, rds] = serviceDefinitions();
  server.addService(ads, { StreamAggregatedResources: sotw, DeltaAggregatedResources: delta });
  // Aeraki's MetaRDS: MetaProtocolProxy filters with a non-ADS GRPC config source call these.
  server.addService(rds, { StreamRoutes: sotw, DeltaRoutes: delta });

  const address = `${options.hostname ?? "0.0.0.0"}:${options.port ?? DEFAULT_XDS_PORT}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(new Error(`Cannot bind the xDS server on ${address}: ${error.message}`));
      else resolve(bound);
    });
  });
  log("info", `xDS server (ADS SotW + Delta) listening on ${options.hostname ?? "0.0.0.0"}:${port}`);

  let closed: Promise<void> | undefined;
  return {
    port,
    metrics,
    streams: () => [...open.keys()].map((s) => s.describe()),
    nodes: () =>
      [...open.keys()].flatMap((s): Readonly<Obj>[] => {
        const n = s.boundNode();
        return n ? [n] : [];
      }),
    close() {
      closed ??= (async () => {
        for (const [stream, call] of open) {
          stream.close();
          call.end();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => server.forceShutdown(), 1_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closed;
    },
  };
}

/**
 * `adsService()` with request deserialisers that yield canonical objects, and the same two methods
 * re-pathed as `envoy.service.route.v3.RouteDiscoveryService` (`StreamRoutes`/`DeltaRoutes` exchange the
 * same DiscoveryRequest/Response messages as ADS; the descriptor does not carry that service).
 */
function serviceDefinitions(): [grpc.ServiceDefinition, grpc.ServiceDefinition] {
  const base = adsService();
  const sotw = {
    ...base.StreamAggregatedResources,
    requestDeserialize: (bytes: Uint8Array) => decodeMessage(DISCOVERY_REQUEST, bytes),
    // SotW responses arrive already encoded (`wire.ts`): the resources' bytes are shared, not re-serialised.
    responseSerialize: (bytes: Buffer) => bytes,
  };
  const delta = {
    ...base.DeltaAggregatedResources,
    requestDeserialize: (bytes: Uint8Array) => decodeMessage(DELTA_REQUEST, bytes),
  };
  const ads = { StreamAggregatedResources: sotw, DeltaAggregatedResources: delta };
  const rds = {
    StreamRoutes: { ...sotw, path: `/${RDS_SERVICE}/StreamRoutes`, originalName: "streamRoutes" },
    DeltaRoutes: { ...delta, path: `/${RDS_SERVICE}/DeltaRoutes`, originalName: "deltaRoutes" },
  };
  return [ads as grpc.ServiceDefinition, rds as grpc.ServiceDefinition];
}
