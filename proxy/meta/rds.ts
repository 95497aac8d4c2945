/**
 * RDS → MetaProtocol route mapping (spec §6): Aeraki serves meta routes as Envoy HTTP
 * `envoy.config.route.v3.RouteConfiguration` with one virtual host; each HTTP route becomes a meta route.
 *
 * @module
 */
import { at, type ConfigPath, list, type Obj, obj, str } from "../config_util.ts";

/** Converts a canonical Envoy RouteConfiguration into a canonical meta RouteConfiguration. */
export function metaRoutesFromHttp(rc: Obj, p: ConfigPath): Obj {
  const vhosts = list(rc.virtual_hosts);
  const routes: Obj[] = [];
  vhosts.slice(0, 1).forEach((vh, vi) => {
    const vp = at(at(p, "virtual_hosts"), vi);
    list(obj(vh, vp).routes).forEach((r, ri) => {
      const rp = at(at(vp, "routes"), ri);
      const ro = obj(r, rp);
      const m = obj(ro.match, at(rp, "match"));
      const a = obj(ro.route, at(rp, "route"));
      const action: Obj = {};
      if (a.cluster !== undefined) action.cluster = a.cluster;
      if (a.weighted_clusters !== undefined) action.weighted_clusters = a.weighted_clusters;
      const hash = list(a.hash_policy).map((h) => str(obj(obj(h, rp).header, rp).header_name, rp)).filter(
        Boolean,
      );
      if (hash.length) action.hash_policy = hash;
      const mirrors = list(a.request_mirror_policies).map((mp) => {
        const mo = obj(mp, rp);
        const out: Obj = { cluster: mo.cluster };
        const rf = obj(mo.runtime_fraction, rp);
        if (rf.default_value !== undefined) out.runtime_fraction = { default_value: rf.default_value };
        return out;
      });
      if (mirrors.length) action.request_mirror_policies = mirrors;
      if (a.timeout !== undefined) action.timeout = a.timeout;
      if (a.retry_policy !== undefined) action.retry_policy = a.retry_policy;
      const kv = (xs: unknown) =>
        list(xs).map((x) => {
          const h = obj(obj(x, rp).header, rp);
          return { key: h.key, value: h.value ?? "" };
        });
      const route: Obj = { name: ro.name ?? "", match: { metadata: list(m.headers) }, route: action };
      const reqMut = kv(ro.request_headers_to_add);
      const respMut = kv(ro.response_headers_to_add);
      if (reqMut.length) route.request_mutation = reqMut;
      if (respMut.length) route.response_mutation = respMut;
      routes.push(route);
    });
  });
  return { name: rc.name ?? "", routes };
}
