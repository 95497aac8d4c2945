/**
 * End to end through the real proxy: a MetaProtocol listener whose codec is a declarative description
 * routes on a metadata key the description exports (tRPC trans_info `version`, videopacket `command`) to
 * two different upstream servers, written from each protocol's public layout (tests/support).
 */
import assert from "node:assert/strict";
import { DECLARATIVE_CODEC_NAME, DECLARATIVE_CONFIG_TYPE } from "../../../codecs/declarative/mod.ts";
import { SHIPPED_DESCRIPTIONS } from "../../../codecs/declarative/shipped.ts";
import { fakeBootstrap, startTestProxy } from "../../proxy/_harness.ts";
import { startTrpcServer, TrpcClient } from "../../support/trpc_peer.ts";
import {
  callVideoPacket,
  encodeVideoPacket,
  startVideoPacketServer,
} from "../../support/videopacket_peer.ts";

function route(name: string, key: string, value: string, cluster: string) {
  return { name, match: { metadata: [{ name: key, exact_match: value }] }, route: { cluster } };
}

Deno.test("e2e tRPC: routes on trans_info 'version' and callee to two servers; each reply carries its own request id", async () => {
  const v1 = startTrpcServer("v1"), v2 = startTrpcServer("v2");
  const bootstrap = fakeBootstrap({
    clusters: { v1: [v1.port], v2: [v2.port] },
    routes: [
      route("v2", "version", "v2", "v2"),
      {
        name: "v1",
        match: { metadata: [{ name: "callee", exact_match: "trpc.test.helloworld" }] },
        route: { cluster: "v1" },
      },
    ],
  });
  // The codec named through the generic declarative codec, with the description inline.
  const filter = (bootstrap.static_resources as {
    listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[];
  })
    .listeners[0].filter_chains[0].filters[0].typed_config;
  filter.protocol = {
    name: "trpc",
    codec: {
      name: DECLARATIVE_CODEC_NAME,
      config: { "@type": DECLARATIVE_CONFIG_TYPE, description: SHIPPED_DESCRIPTIONS["trpc.yaml"] },
    },
  };
  const proxy = await startTestProxy(bootstrap);
  const client = await TrpcClient.connect(proxy.port);
  try {
    const base = { callee: "trpc.test.helloworld", func: "/trpc.test.helloworld.Greeter/SayHello" };
    const calls = await Promise.all([
      client.call({
        ...base,
        requestId: 1,
        transInfo: { version: "v1" },
        body: new TextEncoder().encode("a"),
      }),
      client.call({
        ...base,
        requestId: 300,
        transInfo: { version: "v2" },
        body: new TextEncoder().encode("b"),
      }),
      client.call({
        ...base,
        requestId: 70000,
        transInfo: { version: "v2" },
        body: new TextEncoder().encode("c"),
      }),
    ]);
    assert.deepEqual(calls.map((c) => c.transInfo.get("server")), ["v1", "v2", "v2"]);
    assert.deepEqual(calls.map((c) => c.fields.get(3)), [1, 300, 70000]);
    assert.deepEqual(calls.map((c) => new TextDecoder().decode(c.body)), ["a", "b", "c"]);
    assert.equal(v1.requests.length, 1);
    assert.equal(v2.requests.length, 2);
    assert.equal(v2.requests[0].transInfo.get("version"), "v2");
    // No route: callee unknown and no version → the codec's local reply (ret 11) with the same id.
    const miss = await client.call({ requestId: 77, callee: "trpc.other", func: "/x/y" });
    assert.equal(miss.fields.get(3), 77);
    assert.equal(miss.fields.get(4), 11);
    assert.match(String(miss.fields.get(6)), /no matched route/);
  } finally {
    await client.close();
    await proxy.close();
    await v1.close();
    await v2.close();
  }
});

Deno.test("e2e videopacket: routes on 'command' (as Aeraki's sample MetaRouter) to two servers", async () => {
  const a = startVideoPacketServer("server-a"), b = startVideoPacketServer("server-b");
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { a: [a.port], b: [b.port] },
    codec: "metamesh.codec.videopacket",
    routes: [route("one", "command", "1", "a"), route("other", "command", "24608", "b")],
  }));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  try {
    const dec = new TextDecoder();
    const r1 = await callVideoPacket(conn, encodeVideoPacket(1, new Uint8Array([1, 2, 3])));
    assert.equal(r1.command, 1);
    assert.equal(dec.decode(r1.commHeader), "server-a");
    const r2 = await callVideoPacket(conn, encodeVideoPacket(24608));
    assert.equal(dec.decode(r2.commHeader), "server-b");
    const r3 = await callVideoPacket(conn, encodeVideoPacket(1));
    assert.equal(dec.decode(r3.commHeader), "server-a");
    assert.deepEqual(a.received.map((p) => p.command), [1, 1]);
    assert.deepEqual(b.received.map((p) => p.command), [24608]);
    assert.deepEqual(a.received[0].commHeader, new Uint8Array([1, 2, 3]));
    // No route: the description's error reply, a header-only packet echoing the command.
    const miss = await callVideoPacket(conn, encodeVideoPacket(9));
    assert.equal(miss.command, 9);
    assert.equal(miss.commHeader.length, 0);
  } finally {
    conn.close();
    await proxy.close();
    await a.close();
    await b.close();
  }
});
