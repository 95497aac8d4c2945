import assert from "node:assert/strict";

// The README's first command: control plane + ADS-configured proxy + real Dubbo upstreams.
Deno.test("`main.ts demo` routes by the MetaRouter split, follows a rewrite live and exits 0", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "demo"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  const split = /MetaRouter split 20\/80: 100 calls -> v1 (\d+), v2 (\d+)/.exec(text);
  assert.ok(split, text);
  assert.equal(Number(split[1]) + Number(split[2]), 100);
  assert.ok(Number(split[1]) >= 5 && Number(split[1]) <= 40, `v1 share ${split[1]}% is far from 20%`);
  const after = /followed in (\d+) ms\): 100 calls -> v1 0, v2 100/.exec(text);
  assert.ok(after, text);
  assert.ok(Number(after[1]) < 1000, `followed in ${after[1]} ms`);
});
