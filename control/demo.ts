/**
 * `metamesh demo`: the whole mesh on one machine, on the embedded default (a directory of Aeraki YAML).
 *
 * 1. starts two real Dubbo providers (v1, v2) on loopback;
 * 2. writes Aeraki-style manifests (ServiceEntry with endpoints, DestinationRule v1/v2 subsets, a
 *    MetaRouter 20/80 split) into a temporary config directory;
 * 3. starts the control plane on that directory and a proxy configured only over ADS;
 * 4. sends Dubbo calls through the proxy and prints where each went;
 * 5. rewrites the MetaRouter (all to v2) and shows the proxy following, then exits 0 with a summary.
 *
 * @module
 */
import { DubboClient, startDubboServer } from "../tests/support/dubbo_peer.ts";
import { canConnect, freePort, waitFor } from "../tests/support/net.ts";
import { adsBootstrap } from "../proxy/ads_bootstrap.ts";
import { startProxy } from "../proxy/run.ts";
import { startControlPlane } from "./run.ts";
import { stderrLog } from "./xds/log.ts";

const HOST = "org.apache.dubbo.samples.basic.api.demoservice";
const INTERFACE = "org.apache.dubbo.samples.basic.api.DemoService";
const NAMESPACE = "meta-dubbo";

/** Runs the demo; returns the exit code. */
export async function runDemo(opts: { logLevel?: string } = {}): Promise<number> {
  const log = stderrLog(opts.logLevel === "debug" ? "debug" : "warn");
  const dir = await Deno.makeTempDir({ prefix: "metamesh-demo-" });
  const cleanup: (() => Promise<void>)[] = [() => Deno.remove(dir, { recursive: true })];
  try {
    const v1 = await startDubboServer({ name: "v1" });
    const v2 = await startDubboServer({ name: "v2" });
    cleanup.unshift(() => v1.close(), () => v2.close());
    const servicePort = freePort();
    say(`upstreams: ${HOST} v1 on 127.0.0.1:${v1.port}, v2 on 127.0.0.1:${v2.port}`);

    await Deno.writeTextFile(`${dir}/service.yaml`, serviceManifests(servicePort, v1.port, v2.port));
    await Deno.writeTextFile(`${dir}/metarouter.yaml`, metaRouter([["v1", 20], ["v2", 80]]));
    const plane = await startControlPlane({
      configDir: dir,
      xdsPort: 0,
      adminPort: 0,
      hostname: "127.0.0.1",
      log,
    });
    cleanup.unshift(() => plane.close());
    say(`control plane: watching ${dir} (${plane.store.size} resources), xDS on 127.0.0.1:${plane.xdsPort}`);

    const proxy = await startProxy({
      bootstrap: adsBootstrap({
        xdsPort: plane.xdsPort,
        node: {
          id: `sidecar~127.0.0.1~demo-consumer-1.${NAMESPACE}~${NAMESPACE}.svc.cluster.local`,
          cluster: "demo-consumer",
          metadata: { NAMESPACE, LABELS: { app: "demo-consumer" } },
        },
      }),
      origin: "demo bootstrap",
      log: () => {},
    });
    cleanup.unshift(() => proxy.close());
    await waitFor(() => canConnect(servicePort), 10_000, "the proxy to receive its listener over ADS");
    say(
      `proxy: node sidecar in namespace ${NAMESPACE}, configured over ADS; outbound listener 0.0.0.0_${servicePort}`,
    );

    const client = await DubboClient.connect(servicePort);
    cleanup.unshift(() => Promise.resolve(client.close()));
    const split = await callMany(client, 100);
    say(`MetaRouter split 20/80: 100 calls -> v1 ${split.v1}, v2 ${split.v2}`);

    const changedAt = performance.now();
    await Deno.writeTextFile(`${dir}/metarouter.yaml`, metaRouter([["v2", 100]]));
    say("rewrote the MetaRouter: all traffic to v2");
    let followMs = 0;
    await waitFor(
      async () => {
        // 50 calls with no v1 answer: under the old 20/80 split that happens with probability 0.8^50 ≈ 1e-5.
        const probe = await callMany(client, 50);
        followMs = performance.now() - changedAt;
        return probe.v1 === 0;
      },
      10_000,
      "the proxy to follow the new MetaRouter",
    );
    const after = await callMany(client, 100);
    say(
      `after the change (followed in ${
        Math.round(followMs)
      } ms): 100 calls -> v1 ${after.v1}, v2 ${after.v2}`,
    );

    const ok = split.v1 > 0 && split.v2 > split.v1 && after.v1 === 0 && after.v2 === 100;
    say(
      ok
        ? "demo OK: routing followed the MetaRouter live"
        : "demo FAILED: routing did not match the MetaRouter",
    );
    return ok ? 0 : 1;
  } catch (error) {
    console.error(`demo failed: ${(error as Error).message}`);
    return 1;
  } finally {
    for (const step of cleanup) await step().catch(() => {});
  }
}

async function callMany(client: DubboClient, n: number): Promise<{ v1: number; v2: number }> {
  const counts = { v1: 0, v2: 0 };
  const replies = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        client.call({
          interface: INTERFACE,
          method: "sayHello",
          args: [`call ${i}`],
          attachments: { foo: "bar" },
        }),
    ),
  );
  for (const reply of replies) {
    const value = String(reply.value);
    if (value.endsWith("from v1")) counts.v1++;
    else if (value.endsWith("from v2")) counts.v2++;
  }
  return counts;
}

function serviceManifests(servicePort: number, v1Port: number, v2Port: number): string {
  return `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: ApplicationProtocol
metadata:
  name: dubbo
spec:
  protocol: dubbo
  codec: aeraki.meta_protocol.codec.dubbo
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: dubbo-demoservice
  namespace: ${NAMESPACE}
spec:
  hosts:
    - ${HOST}
  ports:
    - number: ${servicePort}
      name: tcp-metaprotocol-dubbo
      protocol: TCP
  resolution: STATIC
  endpoints:
    - address: 127.0.0.1
      ports:
        tcp-metaprotocol-dubbo: ${v1Port}
      labels:
        version: v1
    - address: 127.0.0.1
      ports:
        tcp-metaprotocol-dubbo: ${v2Port}
      labels:
        version: v2
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: dubbo-sample-provider
  namespace: ${NAMESPACE}
spec:
  host: ${HOST}
  subsets:
    - name: v1
      labels:
        version: v1
    - name: v2
      labels:
        version: v2
`;
}

function metaRouter(split: [string, number][]): string {
  const destinations = split.map(([subset, weight]) =>
    `        - destination:\n            host: ${HOST}\n            subset: ${subset}\n          weight: ${weight}`
  ).join("\n");
  return `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: demo-route
  namespace: ${NAMESPACE}
spec:
  hosts:
    - ${HOST}
  routes:
    - name: split
      match:
        attributes:
          interface:
            exact: ${INTERFACE}
      route:
${destinations}
`;
}

function say(line: string): void {
  console.log(`[demo] ${line}`);
}
