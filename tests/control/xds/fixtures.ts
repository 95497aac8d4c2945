/**
 * Test fixtures for the xDS server: canonical resources (the minimal set grpc-js-xds accepts, see
 * shared/specs/feasibility.md §2) and a raw ADS client over grpc-js with a response queue.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { adsService } from "../../../crds/grpc_services.ts";
import { encodeMessage, unpackAny } from "../../../crds/proto_wire.ts";
import { TypeUrls } from "../../../crds/protos.ts";
import { Snapshot, type SnapshotResources } from "../../../control/xds/snapshot.ts";

type Obj = Record<string, unknown>;

const ADS = { ads: {}, resource_api_version: "V3" };

/** api_listener HCM with the router filter, RDS `route`. */
export function apiListener(name: string, route: string): Obj {
  return {
    name,
    api_listener: {
      api_listener: {
        "@type": TypeUrls.httpConnectionManager,
        rds: { config_source: ADS, route_config_name: route },
        http_filters: [{ name: "router", typed_config: { "@type": TypeUrls.httpRouter } }],
      },
    },
  };
}

/** One virtual host routing everything to `cluster`. */
export function routeConfig(name: string, cluster: string): Obj {
  return {
    name,
    virtual_hosts: [{ name: "vh", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster } }] }],
  };
}

/** An EDS cluster reading `service` (default: its own name). */
export function edsCluster(name: string, service = name, lbPolicy = "ROUND_ROBIN"): Obj {
  return {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: ADS, service_name: service },
    lb_policy: lbPolicy,
  };
}

/** One locality with weight 1 and the given loopback ports. */
export function loadAssignment(name: string, ...ports: number[]): Obj {
  return {
    cluster_name: name,
    endpoints: [{
      locality: { region: "r1", zone: "z1" },
      load_balancing_weight: { value: 1 },
      lb_endpoints: ports.map((port) => ({
        endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
        health_status: "HEALTHY",
      })),
    }],
  };
}

/** A consistent four-type set named after `base` (`<base>`, `<base>-route`, `<base>-cluster`, `<base>-eds`). */
export function serviceSet(base: string, port: number): Required<SnapshotResources> {
  return {
    listeners: [apiListener(base, `${base}-route`)],
    routes: [routeConfig(`${base}-route`, `${base}-cluster`)],
    clusters: [edsCluster(`${base}-cluster`, `${base}-eds`)],
    endpoints: [loadAssignment(`${base}-eds`, port)],
  };
}

/** Builds a snapshot of several service sets. */
export function snapshotOf(...sets: Required<SnapshotResources>[]): Snapshot {
  return Snapshot.build({
    listeners: sets.flatMap((s) => [...s.listeners]),
    routes: sets.flatMap((s) => [...s.routes]),
    clusters: sets.flatMap((s) => [...s.clusters]),
    endpoints: sets.flatMap((s) => [...s.endpoints]),
  });
}

/** A response as the raw client sees it, with resources unpacked. */
export interface Received {
  raw: Obj;
  resources: Obj[];
}

/** A raw ADS stream (SotW or Delta) with a queue of responses. */
export class RawAdsStream {
  #call: grpc.ClientDuplexStream<Obj, Obj>;
  #queue: Obj[] = [];
  #waiters: ((r: Obj) => void)[] = [];
  /** The status the stream ended with, once it ended. */
  ended: Promise<grpc.StatusObject>;

  /** `path` overrides the method path (e.g. RouteDiscoveryService's `StreamRoutes`). */
  constructor(client: grpc.Client, delta: boolean, path?: string) {
    const method = delta ? "DeltaAggregatedResources" : "StreamAggregatedResources";
    const def = adsService()[method];
    const requestType = delta
      ? "envoy.service.discovery.v3.DeltaDiscoveryRequest"
      : "envoy.service.discovery.v3.DiscoveryRequest";
    this.#call = client.makeBidiStreamRequest(
      path ?? def.path,
      (req: Obj) => Buffer.from(encodeMessage(requestType, req)),
      def.responseDeserialize as (b: Buffer) => Obj,
    );
    this.ended = new Promise((resolve) => this.#call.on("status", resolve));
    this.#call.on("error", () => {});
    this.#call.on("data", (r: Obj) => {
      const w = this.#waiters.shift();
      if (w) w(r);
      else this.#queue.push(r);
    });
  }

  /** Sends one request. */
  send(req: Obj): void {
    this.#call.write(req);
  }

  /** The next response (resources unpacked), or throws after `timeoutMs`. */
  async next(timeoutMs = 3_000): Promise<Received> {
    const raw = this.#queue.shift() ?? await new Promise<Obj>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(done), 1);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (r: Obj) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.#waiters.push(done);
    });
    const resources = ((raw.resources ?? []) as Obj[]).map((r) =>
      unpackAny((r.resource ?? r) as { type_url: string; value: Uint8Array })
    );
    return { raw, resources };
  }

  /** Asserts that nothing arrives within `ms`. */
  async none(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.#queue.length) throw new Error(`unexpected response: ${JSON.stringify(this.#queue[0])}`);
  }

  /** Half-closes and waits for the status. */
  async close(): Promise<void> {
    this.#call.end();
    await this.ended;
  }
}

/** A grpc-js client to `port` able to open raw ADS streams. */
export function adsClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}
