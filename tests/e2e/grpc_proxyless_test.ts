/**
 * Issue #3 item 6, end to end: proxyless gRPC. Istio YAML (a ServiceEntry with a `grpc-…` port and two endpoints
 * labelled v1/v2, a DestinationRule with the subsets, a VirtualService splitting 30/70) in a config directory →
 * the control plane (in-process, directory source) → an unmodified `@grpc/grpc-js-xds` client whose bootstrap
 * file (`GRPC_XDS_BOOTSTRAP`) points at metamesh's xDS port, calling `xds:///<host>:<port>` → two real grpc-js
 * greeter backends that answer with their name. Then the VirtualService file is rewritten to 0/100 and the
 * client follows.
 *
 * The node is an Istio proxyless node: id `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local` with metadata
 * `GENERATOR: grpc` (what istio-agent writes into proxyless bootstraps; grpc-js also announces itself by its
 * user agent, see `control/translate/node.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as xds from "@grpc/grpc-js-xds";
import { startControlPlane } from "../../control/run.ts";
import { silentLog } from "../../control/xds/log.ts";

const NS = "grpc-demo";
const HOST = `greeter.${NS}.svc.cluster.local`;
/** The service port: a VIP-less ServiceEntry port, only a name for proxyless clients (nothing binds it). */
const PORT = 7070;
const TARGET = `xds:///${HOST}:${PORT}`;
const NODE_ID = `sidecar~127.0.0.1~greeter-client-1.${NS}~${NS}.svc.cluster.local`;

const GREETER_PROTO = `syntax = "proto3";
package helloworld;
service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
`;

type GreeterClient = grpc.Client & {
  SayHello(
    req: { name: string },
    options: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, r?: { message: string }) => void,
  ): void;
};

async function greeterService(): Promise<grpc.ServiceClientConstructor> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/greeter.proto`, GREETER_PROTO);
    const def = protoLoader.loadSync(`${dir}/greeter.proto`);
    return (grpc.loadPackageDefinition(def).helloworld as grpc.GrpcObject)
      .Greeter as grpc.ServiceClientConstructor;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A greeter backend answering `hello <name> from <version>`; counts its calls. */
async function startGreeter(Greeter: grpc.ServiceClientConstructor, version: string) {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(Greeter.service, {
    SayHello: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      calls++;
      cb(null, { message: `hello ${call.request.name} from ${version}` });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  return { port, calls: () => calls, close: () => server.forceShutdown() };
}

function serviceYaml(v1Port: number, v2Port: number, localities: boolean): string {
  const locality = (zone: string) => localities ? `\n      locality: us-east1/${zone}` : "";
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: greeter
  namespace: ${NS}
spec:
  hosts:
    - ${HOST}
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - number: ${PORT}
      name: grpc-hello
      protocol: GRPC
  endpoints:
    - address: 127.0.0.1
      ports:
        grpc-hello: ${v1Port}
      labels:
        app: greeter
        version: v1${locality("us-east1-b")}
    - address: 127.0.0.1
      ports:
        grpc-hello: ${v2Port}
      labels:
        app: greeter
        version: v2${locality("us-east1-c")}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: greeter
  namespace: ${NS}
spec:
  host: greeter
  subsets:
    - name: v1
      labels:
        version: v1
    - name: v2
      labels:
        version: v2
`;
}

function virtualServiceYaml(v1: number, v2: number): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: greeter
  namespace: ${NS}
spec:
  hosts:
    - greeter
  http:
    - name: split
      route:
        - destination:
            host: greeter
            subset: v1
          weight: ${v1}
        - destination:
            host: greeter
            subset: v2
          weight: ${v2}
`;
}

function sayHello(client: GreeterClient, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.SayHello(
      { name },
      { deadline: Date.now() + 5_000 },
      (error, reply) => error ? reject(error) : resolve(reply!.message),
    );
  });
}

/** Who answered `n` sequential calls. */
async function whoAnswers(client: GreeterClient, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await sayHello(client, `call-${i}`)).replace(/^.* from /, ""));
  return out;
}

const count = (list: string[], who: string) => list.filter((w) => w === who).length;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: not there after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name:
    "grpc proxyless: grpc-js-xds (GRPC_XDS_BOOTSTRAP) calls xds:///host:port; VirtualService 30/70 then 0/100",
  // grpc-js-xds's XdsClient leaves intervals and a timer running after its channel closes.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => splitAndFollow(true, "env"),
});

/**
 * Endpoints without a locality (a cluster without topology labels): grpc-js-xds NACKs an EDS response whose
 * endpoint group has no locality ("endpoints[0].locality unset"), so `loadAssignment` always sends one, empty
 * when unknown, as istiod does.
 */
Deno.test({
  name: "grpc proxyless: endpoints without locality still resolve (an empty locality is sent)",
  sanitizeOps: false,
  sanitizeResources: false,
  // grpc-js-xds caches the GRPC_XDS_BOOTSTRAP file per process: a second client in this file passes its
  // bootstrap as a channel option instead.
  fn: () => splitAndFollow(false, "option"),
});

const BOOTSTRAP_OPTION = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";

async function splitAndFollow(localities: boolean, bootstrapVia: "env" | "option"): Promise<void> {
  xds.register();
  const Greeter = await greeterService();
  const v1 = await startGreeter(Greeter, "v1");
  const v2 = await startGreeter(Greeter, "v2");
  const dir = await Deno.makeTempDir({ prefix: "metamesh-grpc-proxyless-" });
  await Deno.writeTextFile(`${dir}/service.yaml`, serviceYaml(v1.port, v2.port, localities));
  await Deno.writeTextFile(`${dir}/virtualservice.yaml`, virtualServiceYaml(30, 70));
  const plane = await startControlPlane({
    configDir: dir,
    xdsPort: 0,
    adminPort: 0,
    hostname: "127.0.0.1",
    log: silentLog,
  });
  const bootstrapFile = await Deno.makeTempFile({ prefix: "metamesh-grpc-bootstrap-", suffix: ".json" });
  await Deno.writeTextFile(
    bootstrapFile,
    JSON.stringify({
      xds_servers: [{
        server_uri: `127.0.0.1:${plane.xdsPort}`,
        channel_creds: [{ type: "insecure" }],
        server_features: ["xds_v3"],
      }],
      node: {
        id: NODE_ID,
        cluster: "greeter-client",
        metadata: { GENERATOR: "grpc", NAMESPACE: NS, LABELS: { app: "greeter-client" } },
        locality: {},
      },
    }),
  );
  const previous = Deno.env.get("GRPC_XDS_BOOTSTRAP");
  if (bootstrapVia === "env") Deno.env.set("GRPC_XDS_BOOTSTRAP", bootstrapFile);
  const options = bootstrapVia === "env"
    ? {}
    : { [BOOTSTRAP_OPTION]: await Deno.readTextFile(bootstrapFile) };
  const client = new Greeter(TARGET, grpc.credentials.createInsecure(), options) as unknown as GreeterClient;
  try {
    const started = performance.now();
    assert.match(await sayHello(client, "metamesh"), /^hello metamesh from v[12]$/);
    const firstCallMs = performance.now() - started;

    // What metamesh served this node: the API listener <host>:<port>, its routes, EDS clusters per subset.
    const dump = await (await fetch(
      `http://127.0.0.1:${plane.adminPort}/debug/config_dump?node=${encodeURIComponent(NODE_ID)}`,
    )).json();
    assert.equal(dump.node_key.split("|")[1], "grpc", "recognised as proxyless");
    const names = (type: string) =>
      (Object.entries(dump).find(([k]) => k.endsWith(type))![1] as { resources: { name: string }[] })
        .resources.map((r) => r.name).sort();
    assert.deepEqual(names("Listener"), [`${HOST}:${PORT}`]);
    assert.deepEqual(names("RouteConfiguration"), [`${HOST}:${PORT}`]);
    const clusters = [
      `outbound|${PORT}||${HOST}`,
      `outbound|${PORT}|v1|${HOST}`,
      `outbound|${PORT}|v2|${HOST}`,
    ];
    assert.deepEqual(names("Cluster"), [...clusters].sort());

    const split = await whoAnswers(client, 200);
    const onV1 = count(split, "v1");
    assert.equal(onV1 + count(split, "v2"), 200, `every call answered: ${split}`);
    // 30/70 over 200 calls: 60 expected on v1, σ ≈ 6.5.
    assert.ok(onV1 >= 35 && onV1 <= 85, `30/70 split: ${onV1}/200 on v1`);

    const changed = performance.now();
    await Deno.writeTextFile(`${dir}/virtualservice.yaml`, virtualServiceYaml(0, 100));
    await waitFor(
      async () => count(await whoAnswers(client, 20), "v1") === 0,
      10_000,
      "the client to follow 0/100",
    );
    const followMs = performance.now() - changed;
    const v1Before = v1.calls();
    const after = await whoAnswers(client, 100);
    assert.equal(count(after, "v2"), 100, `0/100: ${after}`);
    assert.equal(v1.calls(), v1Before, "v1 got nothing after the change");
    console.log(
      `first call ${firstCallMs.toFixed(0)} ms; 30/70 → ${onV1}/200 on v1; 0/100 followed in ${
        followMs.toFixed(0)
      } ms`,
    );
  } finally {
    client.close();
    if (previous === undefined) Deno.env.delete("GRPC_XDS_BOOTSTRAP");
    else Deno.env.set("GRPC_XDS_BOOTSTRAP", previous);
    await plane.close();
    v1.close();
    v2.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(bootstrapFile).catch(() => {});
  }
}
