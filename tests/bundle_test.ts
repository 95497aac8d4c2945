/**
 * The single-file property: `deno bundle` makes one JavaScript file that, with only the deno binary,
 * runs both modes — with read permission limited to its own folder, so any read of node_modules or of
 * the source tree at run time would fail the test.
 */
import assert from "node:assert/strict";
import { repoRoot } from "./support/paths.ts";

const decoder = new TextDecoder();

async function bundle(dir: string): Promise<string> {
  const out = `${dir}/metamesh.js`;
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform=deno", "-o", out, "main.ts"],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(build.code, 0, decoder.decode(build.stderr));
  return out;
}

/** Runs the bundle from `dir` with reads limited to `dir` (and the temp dir the demo writes its manifests to). */
function runBundle(dir: string, args: string[]): Deno.ChildProcess {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-read=${dir},${tmp}`,
      `--allow-write=${tmp}`,
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "metamesh.js",
      ...args,
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("bundle: one file runs the demo (control plane + proxy in one process) without node_modules", async () => {
  const dir = await Deno.makeTempDir({ prefix: "metamesh-bundle-" });
  try {
    await bundle(dir);
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(entries, ["metamesh.js"]);
    const demo = await runBundle(dir, ["demo"]).output();
    const text = decoder.decode(demo.stdout);
    assert.equal(demo.code, 0, text + decoder.decode(demo.stderr));
    assert.match(text, /demo OK: routing followed the MetaRouter live/);

    // Proxy mode from a bootstrap file, control mode from a manifest directory: both start and serve.
    const port = (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = (l.addr as Deno.NetAddr).port;
      l.close();
      return p;
    })();
    await Deno.writeTextFile(
      `${dir}/bootstrap.yaml`,
      `admin:\n  address:\n    socket_address: { address: 127.0.0.1, port_value: ${port} }\n`,
    );
    const proxy = runBundle(dir, ["--mode=proxy", "--config", `${dir}/bootstrap.yaml`]);
    await Deno.mkdir(`${dir}/manifests`);
    await Deno.writeTextFile(
      `${dir}/manifests/ap.yaml`,
      "apiVersion: metaprotocol.aeraki.io/v1alpha1\nkind: ApplicationProtocol\nmetadata: {name: dubbo}\nspec: {protocol: dubbo, codec: aeraki.meta_protocol.codec.dubbo}\n",
    );
    const control = runBundle(dir, [
      "--mode=control",
      "--config-dir",
      `${dir}/manifests`,
      "--xds-port",
      "0",
      "--admin-port",
      String(port + 1 === 65536 ? port - 1 : port + 1),
    ]);
    const adminPort = port + 1 === 65536 ? port - 1 : port + 1;
    for (const [name, p] of [["proxy admin", port], ["control admin", adminPort]] as const) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${p}/ready`).then(
          async (r) => (await r.body?.cancel(), r.ok),
          () => false,
        );
        if (ok) break;
        assert.ok(Date.now() < deadline, `${name} did not become ready`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const child of [proxy, control]) {
      child.kill("SIGTERM");
      const status = await child.output();
      assert.equal(status.code, 0, decoder.decode(status.stderr));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
