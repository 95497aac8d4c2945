/**
 * A Redis Cluster behind one Envoy cluster of type `envoy.clusters.redis`: slots discovered with
 * `CLUSTER SLOTS` from the seed endpoints, commands routed by CRC16 slot, `MOVED` (slot map updated,
 * topology refreshed) and `ASK` (`ASKING` + retry) followed so clients never see them, reads sent to
 * replicas per `read_policy`, periodic refresh and refresh after connection failures.
 *
 * @module
 */
import type { Cluster } from "../../proxy/extension.ts";
import type { Backend, BackendOptions } from "./backend.ts";
import type { UpstreamOptions } from "./config.ts";
import { SLOT_COUNT, slotOf } from "./crc16.ts";
import { encodeCommand, errorValue } from "./encode.ts";
import { NodePool } from "./node_pool.ts";
import { integerOf, latin1, RespType, type RespValue, textOf } from "./resp.ts";
import type { ReplySink, UpstreamConn, UpstreamRequest } from "./upstream_conn.ts";

/** Redirections followed for one command before its last error is returned as is. */
const MAX_REDIRECTS = 5;
/** Delay before retrying a command answered TRYAGAIN (multi-key command during slot migration). */
const TRYAGAIN_DELAY_MS = 20;
/** Minimum spacing of topology refreshes triggered by redirects or failures. */
const MIN_REFRESH_SPACING_MS = 200;

const CLUSTER_SLOTS = encodeCommand(["CLUSTER", "SLOTS"]);

interface Shard {
  readonly master: string;
  readonly replicas: readonly string[];
}

/** Discards the reply (ASKING's `+OK`). */
const ASKING: UpstreamRequest = { payload: encodeCommand(["ASKING"]), redirects: 0, onReply() {} };

/** A CLUSTER SLOTS request; settles once. */
class SlotsRequest implements UpstreamRequest {
  readonly payload = CLUSTER_SLOTS;
  redirects = MAX_REDIRECTS;
  constructor(readonly resolve: (reply: RespValue) => void) {}
  onReply(reply: RespValue): void {
    this.resolve(reply);
  }
}

/** Parses a CLUSTER SLOTS reply into shards and a slot → shard map; `undefined` when malformed. */
export function parseClusterSlots(
  reply: RespValue,
  defaultHost: string,
): { shards: Shard[]; slots: Int16Array<ArrayBuffer> } | undefined {
  if (reply.type !== RespType.ARRAY || !reply.items) return undefined;
  const shards: Shard[] = [];
  const byMaster = new Map<string, number>();
  const slots = new Int16Array(SLOT_COUNT).fill(-1);
  const node = (v: RespValue | undefined): string | undefined => {
    const [host, port] = v?.items ?? [];
    if (!host || !port) return undefined;
    const h = textOf(host);
    return `${h === "" || h === "?" ? defaultHost : h}:${integerOf(port)}`;
  };
  for (const range of reply.items) {
    const items = range.items;
    if (!items || items.length < 3) return undefined;
    const from = integerOf(items[0]);
    const to = integerOf(items[1]);
    const master = node(items[2]);
    if (!(from >= 0 && to < SLOT_COUNT && from <= to) || !master) return undefined;
    let index = byMaster.get(master);
    if (index === undefined) {
      const replicas = items.slice(3).map(node).filter((a): a is string => a !== undefined);
      index = shards.push({ master, replicas }) - 1;
      byMaster.set(master, index);
    }
    slots.fill(index, from, to + 1);
  }
  return { shards, slots };
}

/** See the module doc. */
export class ClusterBackend implements Backend, ReplySink {
  #cluster: Cluster;
  #options: BackendOptions;
  #upstream: UpstreamOptions;
  #pool: NodePool;
  #shards: Shard[] = [];
  #slots = new Int16Array(SLOT_COUNT).fill(-1);
  #known = new Set<string>();
  #ready = false;
  #waiting: [UpstreamRequest, Uint8Array | null, boolean][] = [];
  #readyWaiters: (() => void)[] = [];
  #refreshing = false;
  #lastRefresh = -Infinity;
  #redirectsSinceRefresh = 0;
  #rr = 0;
  #closed = false;

  constructor(cluster: Cluster, options: BackendOptions, upstream: UpstreamOptions) {
    this.#cluster = cluster;
    this.#options = options;
    this.#upstream = upstream;
    this.#pool = new NodePool(this, {
      connectTimeoutMs: cluster.connectTimeoutMs,
      authUsername: options.authUsername,
      authPassword: options.authPassword,
      readOnly: options.readPolicy !== "MASTER",
      holdBytes: options.holdBytes,
      holdMs: options.holdMs,
      connectionsPerNode: options.connectionsPerNode,
      isKnown: (a) => this.#known.has(a) || cluster.endpoints().some((e) => e.address === a),
      maxUnknownConnections: options.maxUnknownConnections,
    });
    void this.refresh();
  }

  /** Re-reads the topology (at most one refresh in flight). Resolves when it is done. */
  async refresh(): Promise<void> {
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    this.#lastRefresh = performance.now();
    this.#redirectsSinceRefresh = 0;
    try {
      const candidates = [
        ...new Set([
          ...this.#shards.map((s) => s.master),
          ...this.#cluster.endpoints().map((e) => e.address),
        ]),
      ];
      for (const address of candidates) {
        const conn = this.#pool.get(address);
        if (typeof conn === "string") continue;
        const reply = await this.#ask(conn);
        if (this.#closed) return;
        const parsed = reply && parseClusterSlots(reply, conn.host);
        if (!parsed || parsed.shards.length === 0) continue;
        this.#shards = parsed.shards;
        this.#slots = parsed.slots;
        this.#known = new Set(parsed.shards.flatMap((s) => [s.master, ...s.replicas]));
        this.#becomeReady();
        return;
      }
      if (!this.#ready) this.#failWaiting();
    } finally {
      this.#refreshing = false;
    }
  }

  #ask(conn: UpstreamConn): Promise<RespValue | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.#upstream.refreshTimeoutMs);
      conn.send(
        new SlotsRequest((reply) => {
          clearTimeout(timer);
          resolve(reply.type === RespType.ARRAY ? reply : undefined);
        }),
      );
    });
  }

  #becomeReady(): void {
    this.#ready = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [request, key, read] of waiting) this.send(request, key, read);
    for (const w of this.#readyWaiters.splice(0)) w();
  }

  #failWaiting(): void {
    const error = errorValue(
      `ERR no upstream host: cannot discover the slots of cluster '${this.#cluster.name}'`,
    );
    for (const [request] of this.#waiting.splice(0)) request.onReply(error);
    for (const w of this.#readyWaiters.splice(0)) w();
  }

  #refreshSoon(): void {
    if (performance.now() - this.#lastRefresh >= MIN_REFRESH_SPACING_MS) void this.refresh();
  }

  send(request: UpstreamRequest, key: Uint8Array | null, read: boolean): void {
    if (!this.#ready) {
      this.#waiting.push([request, key, read]);
      this.#refreshSoon();
      return;
    }
    const index = this.#slots[key === null ? (this.#rr++ & (SLOT_COUNT - 1)) : slotOf(key)];
    const shard = this.#shards[index];
    if (shard === undefined) {
      request.onReply(errorValue("CLUSTERDOWN Hash slot not served"));
      return;
    }
    this.sendTo(read ? this.#pickForRead(shard) : shard.master, request);
  }

  #pickForRead(shard: Shard): string {
    const replicas = shard.replicas;
    switch (this.#options.readPolicy) {
      case "PREFER_MASTER":
        return this.#pool.isDown(shard.master) && replicas.length > 0
          ? replicas[this.#rr++ % replicas.length]
          : shard.master;
      case "REPLICA":
      case "PREFER_REPLICA": {
        const up = replicas.filter((r) => !this.#pool.isDown(r));
        if (up.length > 0) return up[this.#rr++ % up.length];
        return this.#options.readPolicy === "REPLICA" && replicas.length > 0 ? replicas[0] : shard.master;
      }
      case "ANY": {
        const i = this.#rr++ % (replicas.length + 1);
        return i === 0 ? shard.master : replicas[i - 1];
      }
      default:
        return shard.master;
    }
  }

  groupOf(key: Uint8Array): number {
    return slotOf(key);
  }

  async masters(): Promise<string[]> {
    if (!this.#ready) {
      await new Promise<void>((resolve) => {
        this.#readyWaiters.push(resolve);
        this.#refreshSoon();
      });
    }
    return this.#shards.map((s) => s.master);
  }

  sendTo(address: string, request: UpstreamRequest): void {
    const conn = this.#pool.get(address);
    if (typeof conn === "string") request.onReply(errorValue(conn));
    else conn.send(request);
  }

  deliver(_conn: UpstreamConn, request: UpstreamRequest, reply: RespValue): void {
    if (
      reply.type !== RespType.ERROR || !this.#options.enableRedirection || request.redirects >= MAX_REDIRECTS
    ) {
      request.onReply(reply);
      return;
    }
    const data = reply.data!;
    const b0 = data[0];
    if (b0 === 0x4d /* M */ && startsWith(data, "MOVED ")) {
      const [, slotText, address] = latin1(data).split(" ");
      const slot = Number(slotText);
      if (!address || !(slot >= 0 && slot < SLOT_COUNT)) return request.onReply(reply);
      request.redirects++;
      this.#options.stats.redirections++;
      this.#moved(slot, address);
      this.sendTo(address, request);
    } else if (b0 === 0x41 /* A */ && startsWith(data, "ASK ")) {
      const address = latin1(data).split(" ")[2];
      if (!address) return request.onReply(reply);
      request.redirects++;
      this.#options.stats.redirections++;
      const conn = this.#pool.get(address);
      if (typeof conn === "string") return request.onReply(errorValue(conn));
      conn.send(ASKING);
      conn.send(request);
    } else if (
      (b0 === 0x54 && startsWith(data, "TRYAGAIN")) || (b0 === 0x43 && startsWith(data, "CLUSTERDOWN"))
    ) {
      request.redirects++;
      setTimeout(() => this.#closed ? request.onReply(reply) : this.#resend(request), TRYAGAIN_DELAY_MS);
    } else {
      request.onReply(reply);
    }
  }

  /** Re-routes a command after TRYAGAIN by re-reading its key (argument 1 of the payload). */
  #resend(request: UpstreamRequest): void {
    const key = firstKeyOf(request.payload);
    this.send(request, key, false);
  }

  #moved(slot: number, address: string): void {
    let index = this.#shards.findIndex((s) => s.master === address);
    if (index < 0) index = this.#shards.push({ master: address, replicas: [] }) - 1;
    this.#slots[slot] = index;
    if (++this.#redirectsSinceRefresh >= Math.max(1, this.#upstream.redirectRefreshThreshold)) {
      this.#refreshSoon();
    }
  }

  connectionClosed(conn: UpstreamConn, connectFailed: boolean): void {
    this.#pool.remove(conn, connectFailed);
    if (!this.#closed) this.#refreshSoon();
  }

  tick(): void {
    if (this.#options.opTimeoutMs > 0) this.#pool.sweepTimeouts(this.#options.opTimeoutMs);
    if (performance.now() - this.#lastRefresh >= this.#upstream.refreshRateMs) void this.refresh();
  }

  connectionCounts(): Map<string, number> {
    return this.#pool.connectionCounts();
  }

  close(): void {
    this.#closed = true;
    this.#failWaiting();
    this.#pool.close();
  }
}

function startsWith(data: Uint8Array, prefix: string): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** The second bulk string of an encoded command (its first key), or `null`. */
function firstKeyOf(payload: Uint8Array): Uint8Array | null {
  // *N\r\n$len\r\nname\r\n$len\r\nkey\r\n: skip the array header and the name.
  let pos = payload.indexOf(0x0a) + 1;
  for (let arg = 0; arg < 2; arg++) {
    if (payload[pos] !== 0x24) return null;
    const lf = payload.indexOf(0x0a, pos);
    const len = Number(latin1(payload.subarray(pos + 1, lf - 1)));
    if (arg === 1) return payload.subarray(lf + 1, lf + 1 + len);
    pos = lf + 1 + len + 2;
  }
  return null;
}
