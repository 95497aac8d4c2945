/**
 * Sends a parsed client command where it belongs: one key → its route's cluster (prefix rewritten,
 * mirrored); multi-key commands split by (cluster, slot or node) and merged; fan-outs to every master;
 * keyless commands to any node.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import { type CommandInfo, Kind } from "./commands.ts";
import type { Route } from "./config.ts";
import { encodeCommand, encodeError } from "./encode.ts";
import type { RespValue } from "./resp.ts";
import { type PrefixRouter, upstreamKey } from "./router.ts";
import { Discard, Merge, Part, type Slot, Split } from "./slot.ts";

/** Finds the backend of a cluster by name. */
export type BackendLookup = (cluster: string) => Backend | undefined;

interface Group {
  readonly backend: Backend;
  readonly route: Route;
  readonly args: Uint8Array[];
  readonly positions: number[];
}

/** See the module doc. */
export class Dispatcher {
  readonly #router: PrefixRouter;
  readonly #backends: BackendLookup;

  constructor(router: PrefixRouter, backends: BackendLookup) {
    this.#router = router;
    this.#backends = backends;
  }

  /** Routes `items` (the command's bulk strings, `raw` their encoding); fills `slot` eventually. */
  dispatch(slot: Slot, info: CommandInfo, name: string, items: RespValue[], raw: Uint8Array): void {
    switch (info.kind) {
      case Kind.SIMPLE:
        if (items.length < 2) return wrongArity(slot, name);
        return this.#single(slot, info, items, raw, 1);
      case Kind.EVAL: {
        const numKeys = items.length > 2 ? Number(new TextDecoder().decode(items[2].data!)) : 0;
        if (!(numKeys >= 1) || items.length < 3 + numKeys) {
          return slot.complete(encodeError(`ERR '${name}' through the proxy needs at least one key`));
        }
        return this.#single(slot, info, items, raw, 3);
      }
      case Kind.MGET:
      case Kind.SUM:
        if (items.length < 2) return wrongArity(slot, name);
        return this.#multi(slot, info, items, raw, 1);
      case Kind.MSET:
        if (items.length < 3 || items.length % 2 === 0) return wrongArity(slot, name);
        return this.#multi(slot, info, items, raw, 2);
      case Kind.FANOUT_OK:
      case Kind.FANOUT_SUM:
      case Kind.FANOUT_CONCAT:
        return void this.#fanout(slot, info, raw);
      case Kind.ANY_NODE: {
        const backend = this.#backendOf(slot, this.#router.defaultRoute, false);
        if (backend) {
          slot.payload = raw;
          backend.send(slot, null, info.read);
        }
        return;
      }
    }
    slot.complete(encodeError(`ERR unsupported command '${name}'`));
  }

  /** The route of `key` when the key goes upstream unchanged (the fast path), else `undefined`. */
  plainRoute(key: Uint8Array): Route | undefined {
    const route = this.#router.match(key);
    if (route === undefined || route.keyFormatter || (route.removePrefix && route.prefix.length > 0)) {
      return undefined;
    }
    return route;
  }

  /** Sends a SIMPLE command whose route came from {@linkcode plainRoute}: `raw` goes as is. */
  sendPlain(slot: Slot, info: CommandInfo, route: Route, key: Uint8Array, raw: Uint8Array): void {
    const backend = this.#backendOf(slot, route, info.read);
    if (!backend) return;
    slot.payload = raw;
    backend.send(slot, key, info.read);
    if (route.mirrors.length > 0) this.#mirror(route, info, raw, key);
  }

  #backendOf(slot: Slot, route: Route | undefined, read: boolean): Backend | undefined {
    if (route === undefined) {
      slot.complete(
        encodeError("ERR no route: the key matches no prefix route and there is no catch_all_route"),
      );
      return undefined;
    }
    const cluster = read && route.readCluster ? route.readCluster : route.cluster;
    const backend = this.#backends(cluster);
    if (backend === undefined) {
      slot.complete(encodeError(`ERR no upstream host: unknown cluster '${cluster}'`));
    }
    return backend;
  }

  #single(slot: Slot, info: CommandInfo, items: RespValue[], raw: Uint8Array, keyIndex: number): void {
    const key = items[keyIndex].data!;
    const route = this.#router.match(key);
    const backend = this.#backendOf(slot, route, info.read);
    if (!backend) return;
    const newKey = upstreamKey(route!, key);
    if (newKey === key) {
      slot.payload = raw;
    } else {
      const args = items.map((i) => i.data!);
      args[keyIndex] = newKey;
      if (keyIndex === 3) {
        for (let k = 4; k < 3 + Number(new TextDecoder().decode(args[2])); k++) {
          args[k] = upstreamKey(route!, args[k]);
        }
      }
      slot.payload = encodeCommand(args);
    }
    backend.send(slot, newKey, info.read);
    if (route!.mirrors.length > 0) this.#mirror(route!, info, slot.payload, newKey);
  }

  #mirror(route: Route, info: CommandInfo, payload: Uint8Array, key: Uint8Array): void {
    for (const m of route.mirrors) {
      if (m.excludeReadCommands && info.read) continue;
      if (m.fraction < 1 && Math.random() >= m.fraction) continue;
      this.#backends(m.cluster)?.send(new Discard(payload), key, false);
    }
  }

  #multi(slot: Slot, info: CommandInfo, items: RespValue[], raw: Uint8Array, step: number): void {
    const name = items[0].data!;
    const groups = new Map<string, Group>();
    let rewritten = false;
    for (let i = 1, position = 0; i < items.length; i += step, position++) {
      const key = items[i].data!;
      const route = this.#router.match(key);
      const backend = this.#backendOf(slot, route, info.read);
      if (!backend) return;
      const newKey = upstreamKey(route!, key);
      if (newKey !== key) rewritten = true;
      const id = `${route!.cluster}\u0000${backend.groupOf(newKey)}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = { backend, route: route!, args: [name], positions: [] };
        groups.set(id, group);
      }
      group.args.push(newKey);
      if (step === 2) group.args.push(items[i + 1].data!);
      group.positions.push(position);
    }
    if (groups.size === 1 && !rewritten) {
      const group = groups.values().next().value!;
      slot.payload = raw;
      group.backend.send(slot, group.args[1], info.read);
      if (group.route.mirrors.length > 0) this.#mirror(group.route, info, raw, group.args[1]);
      return;
    }
    const merge = info.kind === Kind.MGET
      ? Merge.POSITIONS
      : info.kind === Kind.MSET
      ? Merge.ALL_OK
      : Merge.SUM;
    const list = [...groups.values()];
    const split = new Split(
      slot,
      merge,
      list.length,
      list.map((g) => g.positions),
      (items.length - 1) / step,
    );
    for (let i = 0; i < list.length; i++) {
      const payload = encodeCommand(list[i].args);
      list[i].backend.send(new Part(payload, split, i), list[i].args[1], info.read);
      if (list[i].route.mirrors.length > 0) this.#mirror(list[i].route, info, payload, list[i].args[1]);
    }
  }

  async #fanout(slot: Slot, info: CommandInfo, raw: Uint8Array): Promise<void> {
    const backends = new Set<Backend>();
    for (const route of this.#router.routes()) {
      const backend = this.#backends(route.cluster);
      if (backend) backends.add(backend);
    }
    const targets: [Backend, string][] = [];
    for (const backend of backends) {
      for (const address of await backend.masters()) targets.push([backend, address]);
    }
    const merge = info.kind === Kind.FANOUT_OK
      ? Merge.ALL_OK
      : info.kind === Kind.FANOUT_SUM
      ? Merge.SUM
      : Merge.CONCAT;
    const split = new Split(slot, merge, targets.length);
    targets.forEach(([backend, address], i) => backend.sendTo(address, new Part(raw, split, i)));
  }
}

function wrongArity(slot: Slot, name: string): void {
  slot.complete(encodeError(`ERR wrong number of arguments for '${name}' command`));
}
