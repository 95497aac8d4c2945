/**
 * Generated Aeraki manifests for the control-plane benchmark: per service a ServiceEntry (one
 * `tcp-metaprotocol-dubbo` port, a VIP, inline endpoints labelled v1/v2), a two-subset DestinationRule, and for
 * one service in ten a traffic-split MetaRouter; 100 services per YAML file. svc-0's MetaRouter lives alone in
 * `changed.yaml` (the file the benchmark rewrites).
 *
 * @module
 */

const PER_FILE = 100;

/** Writes the manifests into `dir`; returns the number of files. */
export async function writeManifests(
  dir: string,
  services: number,
  endpointsPerService: number,
): Promise<number> {
  let files = 0;
  for (let start = 0; start < services; start += PER_FILE) {
    const docs: string[] = [];
    for (let i = start; i < Math.min(services, start + PER_FILE); i++) {
      docs.push(service(i, endpointsPerService));
      if (i % 10 === 0 && i !== 0) docs.push(metaRouter(i, "split"));
    }
    await Deno.writeTextFile(`${dir}/services-${String(files).padStart(3, "0")}.yaml`, docs.join("---\n"));
    files++;
  }
  await Deno.writeTextFile(`${dir}/changed.yaml`, metaRouter(0, "split-0"));
  return files + 1;
}

function service(i: number, endpoints: number): string {
  const ns = `ns-${i % 50}`;
  const host = `svc-${i}.${ns}.svc.cluster.local`;
  const eps = Array.from(
    { length: endpoints },
    (_, e) =>
      `    - address: 10.${(i >> 8) & 255}.${i & 255}.${e + 1}
      labels: {version: ${e % 2 ? "v2" : "v1"}}`,
  ).join("\n");
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: svc-${i}
  namespace: ${ns}
spec:
  hosts: [${host}]
  addresses: [240.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}]
  ports:
    - {number: 20880, name: tcp-metaprotocol-dubbo, protocol: TCP}
  resolution: STATIC
  endpoints:
${eps}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: svc-${i}
  namespace: ${ns}
spec:
  host: ${host}
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
`;
}

/** A MetaRouter splitting 10/90 between the subsets, its route named `routeName`. */
export function metaRouter(i: number, routeName: string): string {
  const ns = `ns-${i % 50}`;
  const host = `svc-${i}.${ns}.svc.cluster.local`;
  return `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: svc-${i}
  namespace: ${ns}
spec:
  hosts: [${host}]
  routes:
    - name: ${routeName}
      match: {attributes: {method: {exact: sayHello}}}
      route:
        - {destination: {host: ${host}, subset: v1}, weight: 10}
        - {destination: {host: ${host}, subset: v2}, weight: 90}
`;
}
