/**
 * Test helpers for the translation: load Aeraki's sample YAML unchanged through `validateResource`, build
 * nodes, and prove every generated resource encodes against Envoy's real protos.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { expandList, validateResource } from "../../../crds/validate.ts";
import type { Resource } from "../../../crds/resources/mod.ts";
import { encodeMessage } from "../../../crds/proto_wire.ts";
import { TypeUrls } from "../../../crds/protos.ts";
import {
  type CanonicalResources,
  canonicalResources,
  translateForNode,
} from "../../../control/translate/snapshot.ts";
import type { MeshModel } from "../../../control/translate/model.ts";
import { aerakiPath } from "../../support/paths.ts";

/** Loads supported documents of sample files (relative to shared/aeraki/); others (Deployments…) are skipped. */
export function loadSamples(namespace: string, ...files: string[]): Resource[] {
  const out: Resource[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(Deno.readTextFileSync(aerakiPath(file)));
    docs.forEach((doc, i) => {
      for (const obj of expandList(doc.toJS())) {
        const result = validateResource(obj, `${file}#${i}`, { defaultNamespace: namespace });
        if (result.ok) out.push(result.resource);
        else if (!result.skipped) throw new Error(result.error);
      }
    });
  }
  return out;
}

/** Validates one inline resource (test fixtures that stand for pods, endpoints…). */
export function resource(obj: Record<string, unknown>): Resource {
  const result = validateResource(obj, "test", { defaultNamespace: "default" });
  if (!result.ok) throw new Error(result.skipped ? result.reason : result.error);
  return result.resource;
}

/** A WorkloadEntry standing for a pod. */
export function workload(
  namespace: string,
  name: string,
  address: string,
  labels: Record<string, string>,
  extra: Record<string, unknown> = {},
): Resource {
  return resource({
    apiVersion: "networking.istio.io/v1beta1",
    kind: "WorkloadEntry",
    metadata: { name, namespace },
    spec: { address, labels, ...extra },
  });
}

/** An Istio sidecar node id. */
export function sidecar(ip: string, pod: string, namespace: string, labels: Record<string, string> = {}) {
  return {
    id: `sidecar~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
    metadata: { NAMESPACE: namespace, LABELS: labels },
  };
}

/** `translateForNode`, decoded for reading (the view itself holds packed resources). */
export function decodedView(
  model: MeshModel,
  node: Parameters<typeof translateForNode>[1],
): CanonicalResources {
  return canonicalResources(translateForNode(model, node));
}

/** A view's four maps, each with its resource type URL. */
export function byType<V>(view: {
  listeners: ReadonlyMap<string, V>;
  routes: ReadonlyMap<string, V>;
  clusters: ReadonlyMap<string, V>;
  endpoints: ReadonlyMap<string, V>;
}): [ReadonlyMap<string, V>, string][] {
  return [
    [view.listeners, TypeUrls.listener],
    [view.routes, TypeUrls.routes],
    [view.clusters, TypeUrls.cluster],
    [view.endpoints, TypeUrls.endpoints],
  ];
}

/** Asserts that every resource of a decoded node view encodes against its Envoy/Aeraki proto. */
export function assertEncodes(view: CanonicalResources): void {
  for (const [map, type] of byType(view)) {
    for (const [name, value] of map) {
      assert.doesNotThrow(() => encodeMessage(type, value), `${type} ${name} must encode`);
      assert.ok(encodeMessage(type, value).length > 0);
    }
  }
}

/** The first network filter's typed_config of a listener. */
export function filterConfig(listener: Record<string, unknown> | undefined): Record<string, unknown> {
  assert.ok(listener, "listener must exist");
  const chains = listener.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[];
  return chains[0].filters[0].typed_config;
}
