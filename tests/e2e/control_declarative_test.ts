/**
 * A protocol added with no code, through the control plane: an ApplicationProtocol names
 * `metamesh.codec.declarative` and carries the tRPC description in its `metamesh.io/codec-description`
 * annotation; a MetaRouter routes on `callee`, a key the description extracts; a real tRPC client and servers
 * (tests/support/trpc_peer.ts, written from the public frame description) talk through an ADS-configured proxy.
 */
import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { validateResource } from "../../crds/validate.ts";
import { startMesh } from "../support/mesh.ts";
import { freePort, waitForPort } from "../support/net.ts";
import { repoRoot } from "../support/paths.ts";
import { startTrpcServer, TrpcClient } from "../support/trpc_peer.ts";

const NAMESPACE = "meta-trpc";
const HOST = "hello.meta-trpc.svc.cluster.local";

function applicationProtocol(description: string): Record<string, unknown> {
  return {
    apiVersion: "metaprotocol.aeraki.io/v1alpha1",
    kind: "ApplicationProtocol",
    metadata: { name: "mytrpc", annotations: { "metamesh.io/codec-description": description } },
    spec: { protocol: "mytrpc", codec: "metamesh.codec.declarative" },
  };
}

Deno.test("an invalid codec description in an ApplicationProtocol is rejected with the field at fault", () => {
  const result = validateResource(applicationProtocol("name: broken\nheader_size: -1\n"), "dir/ap.yaml#0");
  assert.equal(result.ok, false);
  if (!result.ok && !result.skipped) {
    assert.match(
      result.error,
      /ApplicationProtocol mytrpc from dir\/ap\.yaml#0: metadata\.annotations\["metamesh\.io\/codec-description"\]: .*header_size/,
    );
  }
});

Deno.test("declarative tRPC through the control plane: routing on a described metadata key", async () => {
  const description = await Deno.readTextFile(`${repoRoot}/codecs/protocols/trpc.yaml`);
  const v1 = startTrpcServer("v1"), v2 = startTrpcServer("v2");
  const port = freePort();
  const docs = [
    applicationProtocol(description),
    {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "ServiceEntry",
      metadata: { name: "hello", namespace: NAMESPACE },
      spec: {
        hosts: [HOST],
        ports: [{ number: port, name: "tcp-metaprotocol-mytrpc", protocol: "TCP" }],
        resolution: "STATIC",
        endpoints: [
          { address: "127.0.0.1", ports: { "tcp-metaprotocol-mytrpc": v1.port }, labels: { version: "v1" } },
          { address: "127.0.0.1", ports: { "tcp-metaprotocol-mytrpc": v2.port }, labels: { version: "v2" } },
        ],
      },
    },
    {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "DestinationRule",
      metadata: { name: "hello", namespace: NAMESPACE },
      spec: {
        host: HOST,
        subsets: [{ name: "v1", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" } }],
      },
    },
    {
      apiVersion: "metaprotocol.aeraki.io/v1alpha1",
      kind: "MetaRouter",
      metadata: { name: "hello", namespace: NAMESPACE },
      spec: {
        hosts: [HOST],
        routes: [
          {
            name: "to-v2",
            match: { attributes: { callee: { exact: "trpc.app.hello.v2" } } },
            route: [{ destination: { host: HOST, subset: "v2" } }],
          },
          { name: "rest", route: [{ destination: { host: HOST, subset: "v1" } }] },
        ],
      },
    },
  ];
  const mesh = await startMesh({ docs: { "mesh.yaml": docs } });
  assert.deepEqual(mesh.plane.store.errors(), []);
  await mesh.addProxy(`sidecar~127.0.0.1~client-1.${NAMESPACE}~${NAMESPACE}.svc.cluster.local`, NAMESPACE, {
    origin: "test",
  });
  let client: TrpcClient | undefined;
  try {
    await waitForPort(port);
    client = await TrpcClient.connect(port);
    const served = async (callee: string, id: number) => {
      const reply = await client!.call({
        requestId: id,
        caller: "test",
        callee,
        func: "/hello/Say",
        body: new Uint8Array([id]),
      });
      assert.deepEqual([...reply.body], [id]);
      return reply.transInfo.get("server");
    };
    for (let i = 1; i <= 10; i++) {
      assert.equal(await served("trpc.app.hello.v2", i), "v2");
      assert.equal(await served("trpc.app.hello.v1", 100 + i), "v1");
    }
    assert.equal(v2.requests.length, 10);
    assert.equal(v1.requests.length, 10);
  } finally {
    client?.close();
    await mesh.close();
    await v1.close();
    await v2.close();
  }
});
