import assert from "node:assert/strict";
import { compileHeaderMatcher, compileHeaderMatchers } from "../../../proxy/meta/header_matcher.ts";

const p = { origin: "test", path: "m" };
const h = new Map([["interface", "org.Demo"], ["method", "sayHello"], ["n", "42"], ["empty", ""]]);
const one = (m: Record<string, unknown>) => compileHeaderMatcher(m, p)(h);

Deno.test("header matcher: every HeaderMatcher kind", () => {
  assert.equal(one({ name: "Method", exact_match: "sayHello" }), true);
  assert.equal(one({ name: "method", exact_match: "sayhello" }), false);
  assert.equal(one({ name: "interface", prefix_match: "org." }), true);
  assert.equal(one({ name: "interface", suffix_match: "Demo" }), true);
  assert.equal(one({ name: "interface", contains_match: "g.D" }), true);
  assert.equal(one({ name: "method", safe_regex_match: { regex: "say.*" } }), true);
  assert.equal(
    one({ name: "method", safe_regex_match: { regex: "say" } }),
    false,
    "regex must match the whole value",
  );
  assert.equal(one({ name: "n", range_match: { start: 40, end: 43 } }), true);
  assert.equal(one({ name: "n", range_match: { start: 40, end: 42 } }), false, "end is exclusive");
  assert.equal(one({ name: "method", present_match: true }), true);
  assert.equal(one({ name: "nope", present_match: true }), false);
  assert.equal(one({ name: "nope", present_match: false }), true);
  assert.equal(one({ name: "method", string_match: { exact: "SAYHELLO", ignore_case: true } }), true);
  assert.equal(one({ name: "method", string_match: { prefix: "say" } }), true);
  assert.equal(one({ name: "method", string_match: { safe_regex: { regex: "s.*o" } } }), true);
});

Deno.test("header matcher: invert_match, missing keys, treat_missing_header_as_empty", () => {
  assert.equal(one({ name: "method", exact_match: "x", invert_match: true }), true);
  assert.equal(one({ name: "method", exact_match: "sayHello", invert_match: true }), false);
  assert.equal(
    one({ name: "nope", exact_match: "x", invert_match: true }),
    false,
    "a missing key fails even inverted",
  );
  assert.equal(one({ name: "nope", exact_match: "", treat_missing_header_as_empty: true }), true);
  assert.equal(one({ name: "empty", exact_match: "" }), true);
});

Deno.test("header matcher: a list is AND-ed, an empty list matches all, bad regex is a config error", () => {
  const both = compileHeaderMatchers([{ name: "method", exact_match: "sayHello" }, {
    name: "interface",
    exact_match: "org.Demo",
  }], p);
  assert.equal(both(h), true);
  const notBoth = compileHeaderMatchers([{ name: "method", exact_match: "sayHello" }, {
    name: "interface",
    exact_match: "x",
  }], p);
  assert.equal(notBoth(h), false);
  assert.equal(compileHeaderMatchers(undefined, p)(new Map()), true);
  assert.throws(
    () => compileHeaderMatchers([{ name: "a", safe_regex_match: { regex: "(" } }], p),
    (e: Error) => e instanceof TypeError && /m\[0\]\.safe_regex_match\.regex/.test(e.message),
  );
});
