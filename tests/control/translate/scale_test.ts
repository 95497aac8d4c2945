/**
 * Scale: 10,000 MetaProtocol services with 50,000 endpoints, every one with a two-subset DestinationRule and one
 * in ten with a traffic-split MetaRouter. Asserts the full per-node translation is complete and right; prints
 * the time (no timing assertion).
 */
import assert from "node:assert/strict";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { translateForNode } from "../../../control/translate/snapshot.ts";
import type { Resource } from "../../../crds/resources/mod.ts";
import { decodeMessage, encodeMessage } from "../../../crds/proto_wire.ts";
import { TypeUrls } from "../../../crds/protos.ts";
import { byType, sidecar } from "./_support.ts";

const SERVICES = 10_000;
const ENDPOINTS_PER_SERVICE = 5;

// Built directly in their validated shape: schema validation is not what is measured here.
function meshResources(): Resource[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const namespace = `ns-${i % 50}`;
    const host = `svc-${i}.${namespace}.svc.cluster.local`;
    const endpoints = Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, e) => ({
      address: `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`,
      labels: { version: e % 2 ? "v2" : "v1" },
      locality: `region-${e % 2}/zone`,
    }));
    out.push({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "ServiceEntry",
      metadata: { name: `svc-${i}`, namespace },
      spec: {
        hosts: [host],
        addresses: [`240.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
        ports: [{ number: 20880, name: "tcp-metaprotocol-dubbo", protocol: "TCP" }],
        resolution: "STATIC",
        endpoints,
      },
    });
    out.push({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "DestinationRule",
      metadata: { name: `svc-${i}`, namespace },
      spec: {
        host,
        subsets: [{ name: "v1", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" } }],
      },
    });
    if (i % 10 === 0) {
      out.push({
        apiVersion: "metaprotocol.aeraki.io/v1alpha1",
        kind: "MetaRouter",
        metadata: { name: `svc-${i}`, namespace },
        spec: {
          hosts: [host],
          routes: [{
            name: "split",
            match: { attributes: { method: { exact: "sayHello" } } },
            route: [{ destination: { host, subset: "v1" }, weight: 10 }, {
              destination: { host, subset: "v2" },
              weight: 90,
            }],
          }],
        },
      });
    }
  }
  return out as unknown as Resource[];
}

Deno.test("scale: 10k services / 50k endpoints, full translation for a sidecar", () => {
  const resources = meshResources();
  let t = performance.now();
  const model = buildMeshModel(resources);
  const modelMs = performance.now() - t;
  t = performance.now();
  const view = translateForNode(model, sidecar("10.200.0.1", "client-1", "ns-0", { app: "client" }));
  const firstMs = performance.now() - t;
  t = performance.now();
  const other = translateForNode(model, sidecar("10.200.0.2", "client-2", "ns-1", { app: "client" }));
  const secondMs = performance.now() - t;
  t = performance.now();
  const same = translateForNode(model, sidecar("10.200.0.3", "client-3", "ns-0", { app: "client" }));
  const cachedMs = performance.now() - t;
  console.log(
    `model ${modelMs.toFixed(0)} ms; first node ${firstMs.toFixed(0)} ms; ` +
      `other namespace ${secondMs.toFixed(0)} ms; same key ${cachedMs.toFixed(2)} ms`,
  );

  assert.equal(model.services.length, SERVICES);
  assert.equal(view.listeners.size, SERVICES);
  assert.equal(view.routes.size, SERVICES);
  assert.equal(view.clusters.size, SERVICES * 3);
  assert.equal(view.endpoints.size, SERVICES * 3);
  assert.equal(other.clusters.size, SERVICES * 3);
  assert.equal(same, view);
  let endpoints = 0;
  for (const [name, cla] of view.endpoints) {
    if (!name.startsWith("outbound|20880||")) continue;
    for (const locality of cla.message().endpoints as { lb_endpoints: unknown[] }[]) {
      endpoints += locality.lb_endpoints.length;
    }
  }
  assert.equal(endpoints, SERVICES * ENDPOINTS_PER_SERVICE);
  const host = "svc-420.ns-20.svc.cluster.local";
  const rc = view.routes.get(`${host}_20880`)!.message();
  const route = (rc.virtual_hosts as { routes: { route: Record<string, unknown> }[] }[])[0].routes[0].route;
  assert.deepEqual(route.weighted_clusters, {
    clusters: [
      { name: `outbound|20880|v1|${host}`, weight: { value: 10 } },
      { name: `outbound|20880|v2|${host}`, weight: { value: 90 } },
    ],
    total_weight: { value: 100 },
  });
  const v2 = JSON.stringify(view.endpoints.get(`outbound|20880|v2|${host}`)!.message());
  assert.equal((v2.match(/"address":"/g) ?? []).length, 2);
  // Every resource is packed as its own type; a sample decodes back to what was built.
  for (const [map, typeUrl] of byType(view)) for (const r of map.values()) assert.equal(r.typeUrl, typeUrl);
  const listener = view.listeners.get("240.0.1.164_20880")!.message();
  assert.deepEqual(decodeMessage(TypeUrls.listener, encodeMessage(TypeUrls.listener, listener)), listener);
});
