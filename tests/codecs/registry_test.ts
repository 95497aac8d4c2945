import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { resolveCodec } from "../../codecs/registry.ts";

Deno.test("registry: an unknown codec name lists the known ones", () => {
  assert.throws(
    () => resolveCodec("no.such.codec"),
    /Cannot find codec 'no\.such\.codec': known codecs are .*aeraki\.meta_protocol\.codec\.dubbo/,
  );
});

Deno.test("registry: codecs with an empty config message take it or nothing, and refuse anything else", () => {
  for (
    const [name, type, label] of [
      [
        "aeraki.meta_protocol.codec.dubbo",
        "type.googleapis.com/aeraki.meta_protocol.codec.DubboCodec",
        "Dubbo",
      ],
      ["aeraki.meta_protocol.codec.brpc", "type.googleapis.com/aeraki.meta_protocol.codec.BrpcCodec", "brpc"],
    ]
  ) {
    const factory = resolveCodec(name);
    assert.equal(resolveCodec(name, { "@type": type }), factory);
    assert.throws(
      () => resolveCodec(name, { "@type": "type.googleapis.com/x.Other" }),
      new RegExp(`Cannot configure ${label} codec: config type 'type.googleapis.com/x.Other' is not`),
    );
    assert.throws(
      () => resolveCodec(name, { "@type": type, depth: 3 }),
      /unknown field 'depth' \(\w+Codec has no fields\)/,
    );
  }
});
