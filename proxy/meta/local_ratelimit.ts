/**
 * `aeraki.meta_protocol.filters.local_ratelimit` (spec §4.3): token buckets shared by all connections of
 * one filter config; the first matching condition's bucket is used, else the default bucket, else the
 * request passes. Buckets refill lazily from the clock (same arithmetic as Envoy's refill timer, no timer).
 *
 * @module
 */
import {
  at,
  type ConfigPath,
  durationMs,
  fail,
  list,
  num,
  type Obj,
  obj,
  str,
  wrapped,
} from "../config_util.ts";
import type { Counter, Stats } from "../stats.ts";
import { compileHeaderMatchers, type MetadataPredicate } from "./header_matcher.ts";

/** The filter's type URL. */
export const LOCAL_RATELIMIT_TYPE =
  "type.googleapis.com/aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit";

class TokenBucket {
  #max: number;
  #perFill: number;
  #intervalMs: number;
  #tokens: number;
  #lastFill: number;
  #now: () => number;

  constructor(cfg: Obj, p: ConfigPath, now: () => number) {
    this.#max = num(cfg.max_tokens, at(p, "max_tokens"));
    this.#perFill = wrapped(cfg.tokens_per_fill, at(p, "tokens_per_fill"), 1);
    this.#intervalMs = durationMs(cfg.fill_interval, at(p, "fill_interval")) ?? 0;
    if (this.#max <= 0) fail(at(p, "max_tokens"), "max_tokens must be positive");
    if (this.#intervalMs < 50) fail(at(p, "fill_interval"), "fill_interval must be at least 50ms");
    this.#tokens = this.#max;
    this.#now = now;
    this.#lastFill = now();
  }

  take(): boolean {
    const now = this.#now();
    const fills = Math.floor((now - this.#lastFill) / this.#intervalMs);
    if (fills > 0) {
      this.#tokens = Math.min(this.#max, this.#tokens + fills * this.#perFill);
      this.#lastFill += fills * this.#intervalMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

/** A compiled local rate limiter. */
export class LocalRateLimiter {
  #default: TokenBucket | undefined;
  #conditions: { match: MetadataPredicate; bucket: TokenBucket }[];
  #ok: Counter;
  #limited: Counter;

  constructor(cfg: Obj, p: ConfigPath, stats: Stats, now: () => number = Date.now) {
    const prefix = str(cfg.stat_prefix, at(p, "stat_prefix"));
    if (!prefix) fail(at(p, "stat_prefix"), "stat_prefix is required");
    this.#default = cfg.token_bucket === undefined
      ? undefined
      : new TokenBucket(obj(cfg.token_bucket, at(p, "token_bucket")), at(p, "token_bucket"), now);
    this.#conditions = list(cfg.conditions).map((c, i) => {
      const cp = at(at(p, "conditions"), i);
      const co = obj(c, cp);
      return {
        match: compileHeaderMatchers(obj(co.match, at(cp, "match")).metadata, at(cp, "match.metadata")),
        bucket: new TokenBucket(obj(co.token_bucket, at(cp, "token_bucket")), at(cp, "token_bucket"), now),
      };
    });
    this.#ok = stats.counter(`meta_protocol.${prefix}.local_rate_limit.ok`);
    this.#limited = stats.counter(`meta_protocol.${prefix}.local_rate_limit.rate_limited`);
  }

  /** Whether the request may pass (consumes a token). */
  allow(headers: ReadonlyMap<string, string>): boolean {
    let bucket = this.#default;
    for (const c of this.#conditions) {
      if (c.match(headers)) {
        bucket = c.bucket;
        break;
      }
    }
    if (!bucket || bucket.take()) {
      this.#ok.inc();
      return true;
    }
    this.#limited.inc();
    return false;
  }
}
