/**
 * Envoy `HeaderMatcher` semantics over MetaProtocol metadata, compiled once per route config: exact,
 * prefix, suffix, contains, safe_regex, present, range, string_match (with ignore_case), invert_match,
 * treat_missing_header_as_empty. Keys are compared lower-cased (the request map is built lower-cased).
 *
 * @module
 */
import { at, type ConfigPath, fail, list, num, type Obj, obj, str } from "../config_util.ts";

/** A compiled predicate over the lower-cased request metadata. */
export type MetadataPredicate = (headers: ReadonlyMap<string, string>) => boolean;

/** Compiles a list of HeaderMatchers into one AND-ed predicate (an empty list matches everything). */
export function compileHeaderMatchers(matchers: unknown, p: ConfigPath): MetadataPredicate {
  const compiled = list(matchers).map((m, i) => compileHeaderMatcher(obj(m, at(p, i)), at(p, i)));
  if (compiled.length === 0) return () => true;
  if (compiled.length === 1) return compiled[0];
  return (headers) => {
    for (const m of compiled) if (!m(headers)) return false;
    return true;
  };
}

/** Compiles one HeaderMatcher. */
export function compileHeaderMatcher(m: Obj, p: ConfigPath): MetadataPredicate {
  const name = str(m.name, at(p, "name")).toLowerCase();
  if (!name) fail(at(p, "name"), "a header matcher needs a name");
  const invert = m.invert_match === true;
  const missingAsEmpty = m.treat_missing_header_as_empty === true;
  const test = valueTest(m, p);
  if (test === "present") {
    const want = m.present_match !== false;
    return (h) => (h.has(name) === want) !== invert;
  }
  return (h) => {
    let v = h.get(name);
    if (v === undefined) {
      if (!missingAsEmpty) return false; // a missing key fails the match, inverted or not (Envoy)
      v = "";
    }
    return test(v) !== invert;
  };
}

function valueTest(m: Obj, p: ConfigPath): ((v: string) => boolean) | "present" {
  if (typeof m.exact_match === "string") return eq(m.exact_match);
  if (typeof m.prefix_match === "string") return prefix(m.prefix_match);
  if (typeof m.suffix_match === "string") return suffix(m.suffix_match);
  if (typeof m.contains_match === "string") return contains(m.contains_match);
  if (m.safe_regex_match !== undefined) {
    return regex(obj(m.safe_regex_match, at(p, "safe_regex_match")), at(p, "safe_regex_match"), false);
  }
  if (m.range_match !== undefined) {
    const r = obj(m.range_match, at(p, "range_match"));
    const start = num(r.start, at(p, "range_match.start"));
    const end = num(r.end, at(p, "range_match.end"));
    return (v) => {
      if (!/^-?\d+$/.test(v)) return false;
      const n = Number(v);
      return n >= start && n < end;
    };
  }
  if (m.string_match !== undefined) {
    return stringMatcher(obj(m.string_match, at(p, "string_match")), at(p, "string_match"));
  }
  if (m.present_match !== undefined) return "present";
  // No match specifier: Envoy treats it as a presence check.
  return "present";
}

/** Compiles an Envoy `StringMatcher` (exact/prefix/suffix/contains/safe_regex, ignore_case). */
export function stringMatcher(s: Obj, p: ConfigPath): (v: string) => boolean {
  const ic = s.ignore_case === true;
  const norm = (x: unknown, f: string) => (ic ? str(x, at(p, f)).toLowerCase() : str(x, at(p, f)));
  let t: (v: string) => boolean;
  if (s.exact !== undefined) t = eq(norm(s.exact, "exact"));
  else if (s.prefix !== undefined) t = prefix(norm(s.prefix, "prefix"));
  else if (s.suffix !== undefined) t = suffix(norm(s.suffix, "suffix"));
  else if (s.contains !== undefined) t = contains(norm(s.contains, "contains"));
  else if (s.safe_regex !== undefined) {
    return regex(obj(s.safe_regex, at(p, "safe_regex")), at(p, "safe_regex"), ic);
  } else fail(p, "a string matcher needs exact, prefix, suffix, contains or safe_regex");
  return ic ? (v) => t(v.toLowerCase()) : t;
}

function eq(want: string) {
  return (v: string) => v === want;
}
function prefix(want: string) {
  return (v: string) => v.startsWith(want);
}
function suffix(want: string) {
  return (v: string) => v.endsWith(want);
}
function contains(want: string) {
  return (v: string) => v.includes(want);
}

function regex(r: Obj, p: ConfigPath, ignoreCase: boolean): (v: string) => boolean {
  const source = str(r.regex, at(p, "regex"));
  let re: RegExp;
  try {
    // RE2 full-match semantics: anchor the whole value.
    re = new RegExp(`^(?:${source})$`, ignoreCase ? "i" : "");
  } catch (error) {
    fail(at(p, "regex"), `invalid regex ${JSON.stringify(source)}: ${(error as Error).message}`);
  }
  return (v) => re.test(v);
}
