/**
 * Load balancers for a cluster's endpoints: ROUND_ROBIN (smooth weighted), RANDOM (weighted),
 * LEAST_REQUEST (power of two choices on active requests), RING_HASH and MAGLEV (consistent hashing on
 * the route's hash-policy values; without a hash they pick at random). Built once per endpoint set.
 *
 * The hash function is 32-bit FNV-1a, not Envoy's xxHash64: placement is consistent within metamesh but
 * differs from Envoy's.
 *
 * @module
 */
import type { Endpoint } from "./extension.ts";
import { HashRing } from "./hash_ring.ts";

/** Picks an endpoint; `hash` is the request's hash key for hash-based policies. */
export interface LoadBalancer {
  pick(hash?: string): Endpoint | undefined;
}

/** Active request counts per endpoint address, maintained by the router. */
export type ActiveCounts = Map<string, number>;

/** The lb_policy names supported. */
export const LB_POLICIES = ["ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "RING_HASH", "MAGLEV"] as const;

/** Builds the balancer for `policy` over `endpoints`. */
export function createLoadBalancer(
  policy: string,
  endpoints: readonly Endpoint[],
  active: ActiveCounts,
): LoadBalancer {
  if (endpoints.length === 0) return { pick: () => undefined };
  if (endpoints.length === 1) {
    const only = endpoints[0];
    return { pick: () => only };
  }
  switch (policy) {
    case "RANDOM":
      return randomLb(endpoints);
    case "LEAST_REQUEST":
      return leastRequestLb(endpoints, active);
    case "RING_HASH":
      return ringHashLb(endpoints);
    case "MAGLEV":
      return maglevLb(endpoints);
    default:
      return roundRobinLb(endpoints);
  }
}

function roundRobinLb(eps: readonly Endpoint[]): LoadBalancer {
  if (eps.every((e) => e.weight === eps[0].weight)) {
    let i = 0;
    return { pick: () => eps[i++ % eps.length] };
  }
  // nginx smooth weighted round robin
  const current = eps.map(() => 0);
  const total = eps.reduce((s, e) => s + e.weight, 0);
  return {
    pick() {
      let best = 0;
      for (let i = 0; i < eps.length; i++) {
        current[i] += eps[i].weight;
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      return eps[best];
    },
  };
}

function randomLb(eps: readonly Endpoint[]): LoadBalancer {
  const cumulative: number[] = [];
  let total = 0;
  for (const e of eps) cumulative.push(total += e.weight);
  return {
    pick() {
      const r = Math.random() * total;
      for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]) return eps[i];
      return eps[eps.length - 1];
    },
  };
}

function leastRequestLb(eps: readonly Endpoint[], active: ActiveCounts): LoadBalancer {
  return {
    pick() {
      const a = eps[Math.floor(Math.random() * eps.length)];
      const b = eps[Math.floor(Math.random() * eps.length)];
      const la = (active.get(a.address) ?? 0) / a.weight;
      const lb = (active.get(b.address) ?? 0) / b.weight;
      return lb < la ? b : a;
    },
  };
}

/** 32-bit FNV-1a over a string's UTF-16 code units. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche so close inputs spread around the ring
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

function ringHashLb(eps: readonly Endpoint[]): LoadBalancer {
  const minWeight = Math.min(...eps.map((e) => e.weight));
  const totalShare = eps.reduce((s, e) => s + e.weight / minWeight, 0);
  const perUnit = Math.ceil(1024 / totalShare); // Envoy's default minimum_ring_size is 1024
  const points: [number, Endpoint][] = [];
  for (const ep of eps) {
    const n = Math.max(1, Math.round(perUnit * ep.weight / minWeight));
    for (let i = 0; i < n; i++) points.push([fnv1a(`${ep.address}_${i}`), ep]);
  }
  const ring = new HashRing(points);
  return {
    pick: (hash) => ring.pick(hash === undefined ? (Math.random() * 0x100000000) >>> 0 : fnv1a(hash)),
  };
}

const MAGLEV_TABLE = 65537; // Envoy's default table size (prime)

function maglevLb(eps: readonly Endpoint[]): LoadBalancer {
  const m = MAGLEV_TABLE;
  const maxW = Math.max(...eps.map((e) => e.weight));
  const offset = eps.map((e) => fnv1a(e.address, 0x12345) % m);
  const skip = eps.map((e) => (fnv1a(e.address, 0x6789) % (m - 1)) + 1);
  const next = eps.map(() => 0);
  const table = new Int32Array(m).fill(-1);
  const credit = eps.map(() => 0);
  let filled = 0;
  while (filled < m) {
    for (let i = 0; i < eps.length && filled < m; i++) {
      credit[i] += eps[i].weight / maxW; // weighted Maglev: turns accrue by relative weight
      if (credit[i] < 1) continue;
      credit[i] -= 1;
      let c = (offset[i] + next[i] * skip[i]) % m;
      while (table[c] >= 0) c = (offset[i] + ++next[i] * skip[i]) % m;
      table[c] = i;
      next[i]++;
      filled++;
    }
  }
  return {
    pick(hash) {
      const h = hash === undefined ? Math.floor(Math.random() * m) : fnv1a(hash) % m;
      return eps[table[h]];
    },
  };
}
