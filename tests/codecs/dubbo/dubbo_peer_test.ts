/** The Dubbo peer (tests/support/dubbo_peer.ts) against itself and against the codec. */
import assert from "node:assert/strict";
import type { Frame } from "../../../codecs/codec.ts";
import { createDubboCodecFactory } from "../../../codecs/dubbo/mod.ts";
import { encodeRequest } from "../../support/dubbo_frames.ts";
import { DubboClient, startDubboServer } from "../../support/dubbo_peer.ts";

const iface = "org.apache.dubbo.samples.basic.api.DemoService";

Deno.test("peer: a call is answered with a type-4 value and recorded by the provider", async () => {
  const server = await startDubboServer({ name: "p1" });
  const client = await DubboClient.connect(server.port);
  try {
    const res = await client.call({
      interface: iface,
      method: "sayHello",
      args: ["Aeraki", 2],
      attachments: { foo: "bar" },
      version: "1.0.0",
    });
    assert.deepEqual(res, {
      status: 20,
      type: 4,
      value: "sayHello(Aeraki) from p1",
      attachments: { server: "p1" },
      requestId: 1,
    });
    assert.equal(server.connections, 1);
    assert.deepEqual(server.requests, [{
      interface: iface,
      method: "sayHello",
      version: "1.0.0",
      args: ["Aeraki", 2],
      attachments: { foo: "bar" },
      requestId: 1,
      oneway: false,
    }]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("peer: 300 concurrent calls on one connection, replies out of order, matched by id", async () => {
  const server = await startDubboServer({ name: "p2", delayMs: (req) => (Number(req.args[0]) * 7) % 20 });
  const client = await DubboClient.connect(server.port);
  try {
    const calls = Array.from(
      { length: 300 },
      (_, i) => client.call({ interface: iface, method: "echo", args: [i] }),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => assert.equal(r.value, `echo(${i}) from p2`));
    const order = server.requests.map((r) => Number(r.requestId));
    assert.deepEqual(order, Array.from({ length: 300 }, (_, i) => i + 1));
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("peer: heartbeat answered; oneway recorded without reply", async () => {
  const server = await startDubboServer({ name: "p3" });
  const client = await DubboClient.connect(server.port);
  try {
    await client.heartbeat();
    assert.equal(server.heartbeats, 1);
    const oneway = await client.call({ interface: iface, method: "fire", args: ["x"], oneway: true });
    assert.equal(oneway.status, 0);
    const res = await client.call({ interface: iface, method: "after", args: ["y"] });
    assert.equal(res.value, "after(y) from p3");
    assert.deepEqual(server.requests.map((r) => [r.method, r.oneway]), [["fire", true], ["after", false]]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("peer: onRequest exception / status / silent / close", async () => {
  const server = await startDubboServer({
    name: "p4",
    onRequest: (req) =>
      req.method === "boom"
        ? "exception"
        : req.method === "busy"
        ? { status: 100, message: "thread pool is exhausted" }
        : req.method === "hang"
        ? "silent"
        : req.method === "drop"
        ? "close"
        : "reply",
  });
  const client = await DubboClient.connect(server.port);
  try {
    const boom = await client.call({ interface: iface, method: "boom" });
    assert.equal(boom.status, 20);
    assert.equal(boom.type, 3);
    const busy = await client.call({ interface: iface, method: "busy" });
    assert.deepEqual([busy.status, busy.value], [100, "thread pool is exhausted"]);
    await assert.rejects(
      client.call({ interface: iface, method: "hang", timeoutMs: 50 }),
      /no response within 50 ms/,
    );
    await assert.rejects(client.call({ interface: iface, method: "drop" }), /connection closed/);
    await client.closed;
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("peer: the codec decodes what the client sends and the client reads the codec's local reply", async () => {
  // A one-connection stand-in for the proxy: decode with the server-role codec, answer with localReply.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const codec = createDubboCodecFactory().create("server");
  const seen: Frame[] = [];
  const serving = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    let held = 0;
    for (;;) {
      const n = await conn.read(buf.subarray(held));
      if (n === null) break;
      held += n;
      const result = codec.decode(buf.subarray(0, held));
      if (result.kind !== "frame") continue;
      seen.push(result.frame);
      await conn.write(codec.localReply(result.frame, { kind: "route_not_found", message: "no route" })!);
      buf.copyWithin(0, result.size, held);
      held -= result.size;
    }
    conn.close();
  })();
  const client = await DubboClient.connect((listener.addr as Deno.NetAddr).port);
  try {
    const res = await client.call({
      interface: iface,
      method: "sayHello",
      args: ["x"],
      attachments: { g: "v" },
    });
    assert.deepEqual([res.status, res.value], [60, "no route"]);
    assert.equal(seen[0].metadata.get("g"), "v");
    assert.equal(seen[0].operation, `${iface}/sayHello`);
    // sendRaw + expect: the caller picks the id.
    const reply = client.expect(77);
    await client.sendRaw(encodeRequest({ requestId: 77, interface: iface, method: "raw" }));
    assert.equal((await reply).status, 60);
  } finally {
    await client.close();
    await serving;
    listener.close();
  }
});
