import assert from "node:assert/strict";
import { parseCli } from "../main.ts";

Deno.test("parseCli: the two modes and demo", () => {
  assert.deepEqual(parseCli(["--mode=proxy", "--config", "b.yaml"]), {
    kind: "proxy",
    config: "b.yaml",
    logLevel: "info",
  });
  const control = parseCli([
    "--mode=control",
    "--config-dir",
    "d",
    "--xds-port",
    "0",
    "--namespaces",
    "a, b",
    "--namespace",
    "meta-thrift",
  ]);
  assert.equal(control.kind, "control");
  if (control.kind === "control") {
    assert.equal(control.configDir, "d");
    assert.equal(control.xdsPort, 0);
    assert.equal(control.adminPort, 15014);
    assert.deepEqual(control.namespaces, ["a", "b"]);
    assert.equal(control.defaultNamespace, "meta-thrift");
  }
  assert.deepEqual(parseCli(["demo"]), { kind: "demo", logLevel: "info" });
  assert.deepEqual(parseCli(["--help"]), { kind: "help" });
});

Deno.test("parseCli: clear errors for unknown flags, modes and bad values", () => {
  const cases: [string[], RegExp][] = [
    [["--frob"], /Unknown option '--frob'/],
    [["--mode=bogus"], /Cannot use --mode 'bogus': expected control or proxy/],
    [[], /--mode=control or --mode=proxy is required/],
    [["--mode=proxy"], /--config FILE is required/],
    [["--mode=control", "--xds-port", "99999"], /Cannot use --xds-port '99999'/],
    [["--mode=control", "--config-dir", "d", "--kubeconfig", "k"], /choose one source/],
    [["--mode=proxy", "--config", "x", "--log-level", "loud"], /Cannot use --log-level 'loud'/],
    [["stray"], /Cannot use argument 'stray'/],
  ];
  for (const [args, message] of cases) {
    const cli = parseCli(args);
    assert.equal(cli.kind, "error", args.join(" "));
    if (cli.kind === "error") assert.match(cli.message, message);
  }
});

Deno.test("main.ts exits 2 with the usage on a bad flag, 1 on a bad bootstrap", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const bad = await run(["--mode=proxy"]);
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /Usage:/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/b.yaml`, "static_resources:\n  clusters:\n  - name: c\n    type: NOPE\n");
  const invalid = await run(["--mode=proxy", "--config", `${dir}/b.yaml`]);
  assert.equal(invalid.code, 1);
  assert.match(
    new TextDecoder().decode(invalid.stderr),
    /b\.yaml: static_resources\.clusters\[0\]\.type: 'NOPE' is not a value/,
  );
  await Deno.remove(dir, { recursive: true });
});
