/**
 * Prefix routing (RedisProxy.PrefixRoutes): the longest matching key prefix wins, optionally
 * case-insensitive; keys matching no prefix use the catch-all route.
 *
 * @module
 */
import type { Route } from "./config.ts";

interface Entry {
  readonly prefix: Uint8Array;
  readonly route: Route;
}

/** See the module doc. */
export class PrefixRouter {
  readonly #entries: Entry[];
  readonly #caseInsensitive: boolean;
  readonly #catchAll: Route | undefined;

  constructor(routes: readonly Route[], caseInsensitive: boolean, catchAll: Route | undefined) {
    const enc = new TextEncoder();
    this.#caseInsensitive = caseInsensitive;
    this.#catchAll = catchAll;
    this.#entries = routes
      .map((route) => ({
        prefix: enc.encode(caseInsensitive ? route.prefix.toLowerCase() : route.prefix),
        route,
      }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Any route at all (keyless commands use the catch-all, else the first route). */
  get defaultRoute(): Route | undefined {
    return this.#catchAll ?? this.#entries[this.#entries.length - 1]?.route;
  }

  /** Every distinct route (fan-outs go to each route's cluster). */
  routes(): Route[] {
    return [...this.#entries.map((e) => e.route), ...(this.#catchAll ? [this.#catchAll] : [])];
  }

  /** The route of `key`, or `undefined` when nothing matches. */
  match(key: Uint8Array): Route | undefined {
    for (const { prefix, route } of this.#entries) {
      if (prefix.length > key.length) continue;
      let i = 0;
      if (this.#caseInsensitive) {
        for (; i < prefix.length; i++) {
          const b = key[i];
          if ((b >= 0x41 && b <= 0x5a ? b + 32 : b) !== prefix[i]) break;
        }
      } else {
        for (; i < prefix.length; i++) if (key[i] !== prefix[i]) break;
      }
      if (i === prefix.length) return route;
    }
    return this.#catchAll;
  }
}

/** The key as sent upstream: prefix removed and/or `%KEY%` formatted per the route. */
export function upstreamKey(route: Route, key: Uint8Array): Uint8Array {
  let out = route.removePrefix && route.prefix.length > 0 ? key.subarray(route.prefix.length) : key;
  if (route.keyFormatter) {
    const enc = new TextEncoder();
    const [before, ...rest] = route.keyFormatter.split("%KEY%");
    const parts: Uint8Array[] = [enc.encode(before)];
    for (const r of rest) parts.push(out, enc.encode(r));
    const size = parts.reduce((n, p) => n + p.length, 0);
    const joined = new Uint8Array(size);
    let off = 0;
    for (const p of parts) {
      joined.set(p, off);
      off += p.length;
    }
    out = joined;
  }
  return out;
}
