/**
 * A fast path for the plain YAML that config directories hold: block mappings and sequences, one-line flow
 * collections, plain and quoted scalars (YAML 1.2 core schema), comments, `---` between documents. Anything
 * else (block scalars, anchors, tags, multi-line flow or plain scalars, directives, tabs, duplicate keys,
 * uncommon numbers) returns `undefined`, and the caller parses the text with the `yaml` package instead, so
 * results never differ from it; it is only several times faster on what it accepts.
 *
 * @module
 */

interface Line {
  readonly indent: number;
  readonly text: string;
}

/** Thrown inside the parser when the text leaves the supported subset. */
class Unsupported extends Error {}

/** The documents of `text` as plain JS values, or `undefined` when it leaves the simple subset. */
export function parseSimpleYamlStream(text: string): unknown[] | undefined {
  if (text.includes("\t") || text.includes("\r") || /^(%|\.\.\.)/m.test(text)) return undefined;
  const chunks: Line[][] = [[]];
  for (const raw of text.split("\n")) {
    if (raw === "---" || raw.startsWith("--- #")) {
      chunks.push([]);
      continue;
    }
    if (raw.startsWith("---")) return undefined;
    const content = stripComment(raw);
    if (content === undefined) return undefined;
    const body = content.trimEnd();
    if (body.trim() === "") continue;
    const indent = body.length - body.trimStart().length;
    chunks.at(-1)!.push({ indent, text: body.slice(indent) });
  }
  if (chunks.length > 1 && chunks[0].length === 0) chunks.shift();
  if (chunks.some((c) => c.length === 0)) return undefined;
  try {
    return chunks.map((lines) => {
      const [value, next] = block(lines, 0, lines[0].indent);
      if (next !== lines.length || lines[0].indent !== 0) throw new Unsupported();
      return value;
    });
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** The line without its comment (`#` at the start or after a space, outside quotes). */
function stripComment(line: string): string | undefined {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === "#" && (i === 0 || line[i - 1] === " ")) return line.slice(0, i);
    else if ((c === '"' || c === "'") && (i === 0 || " [{,:-".includes(line[i - 1]))) quote = c;
  }
  return quote ? undefined : line;
}

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_./-]*|"[^"\\]*"|'[^']*'):(?: (.*))?$/;

/** Parses the node starting at `lines[i]` (indented `indent`); returns it and the index after it. */
function block(lines: Line[], i: number, indent: number): [unknown, number] {
  const first = lines[i];
  if (first.text === "-" || first.text.startsWith("- ")) return sequence(lines, i, indent);
  if (KEY.test(first.text)) return mapping(lines, i, indent);
  if (i + 1 < lines.length && lines[i + 1].indent >= indent) throw new Unsupported(); // multi-line scalar
  return [scalar(first.text), i + 1];
}

function sequence(lines: Line[], i: number, indent: number): [unknown[], number] {
  const out: unknown[] = [];
  while (i < lines.length && lines[i].indent === indent) {
    const text = lines[i].text;
    if (text !== "-" && !text.startsWith("- ")) break;
    const rest = text.slice(1).trimStart();
    if (rest === "") {
      const child = i + 1 < lines.length && lines[i + 1].indent > indent;
      if (!child) {
        out.push(null);
        i++;
      } else {
        const [value, next] = block(lines, i + 1, lines[i + 1].indent);
        out.push(value);
        i = next;
      }
      continue;
    }
    // `- key: value` opens a mapping indented at the key; `- - x` a nested sequence.
    const inner = indent + (text.length - rest.length);
    if (KEY.test(rest) || rest === "-" || rest.startsWith("- ")) {
      lines[i] = { indent: inner, text: rest };
      const [value, next] = block(lines, i, inner);
      out.push(value);
      i = next;
      continue;
    }
    if (i + 1 < lines.length && lines[i + 1].indent > indent) throw new Unsupported();
    out.push(scalar(rest));
    i++;
  }
  if (i < lines.length && lines[i].indent > indent) throw new Unsupported();
  return [out, i];
}

function mapping(lines: Line[], i: number, indent: number): [Record<string, unknown>, number] {
  const out: Record<string, unknown> = {};
  while (i < lines.length && lines[i].indent === indent) {
    const match = KEY.exec(lines[i].text);
    if (!match) break;
    const key = match[1][0] === '"' || match[1][0] === "'" ? match[1].slice(1, -1) : match[1];
    if (Object.hasOwn(out, key) || key === "__proto__" || key === "<<") throw new Unsupported();
    const rest = (match[2] ?? "").trim();
    i++;
    let value: unknown = null;
    if (rest !== "") {
      if (i < lines.length && lines[i].indent > indent) throw new Unsupported();
      value = scalar(rest);
    } else if (i < lines.length && lines[i].indent > indent) {
      [value, i] = block(lines, i, lines[i].indent);
    } else if (i < lines.length && lines[i].indent === indent && /^-( |$)/.test(lines[i].text)) {
      [value, i] = sequence(lines, i, indent);
    }
    out[key] = value;
  }
  if (i < lines.length && lines[i].indent > indent) throw new Unsupported();
  return [out, i];
}

/** A one-line value: flow collection, quoted or plain scalar. */
function scalar(text: string): unknown {
  if (text[0] === "{" || text[0] === "[") {
    const flow = new Flow(text);
    const value = flow.value();
    if (flow.pos !== text.length) throw new Unsupported();
    return value;
  }
  if (text[0] === '"' || text[0] === "'") {
    const [value, end] = quoted(text, 0);
    if (end !== text.length) throw new Unsupported();
    return value;
  }
  if (/^([&*!|>%@`?,\]}#]|-( |$))/.test(text) || text.includes(": ") || text.endsWith(":")) {
    throw new Unsupported();
  }
  return plain(text);
}

/** YAML 1.2 core schema resolution of a plain scalar; uncommon forms are left to the full parser. */
function plain(text: string): unknown {
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new Unsupported();
    return n;
  }
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(text) || /^0[xo]/.test(text)) throw new Unsupported();
  return text;
}

/** A quoted scalar starting at `text[at]`; returns it and the index after the closing quote. */
function quoted(text: string, at: number): [string, number] {
  const q = text[at];
  let i = at + 1;
  let out = "";
  while (i < text.length) {
    const c = text[i];
    if (q === "'" && c === "'") {
      if (text[i + 1] === "'") {
        out += "'";
        i += 2;
        continue;
      }
      return [out, i + 1];
    }
    if (q === '"' && c === '"') return [out, i + 1];
    if (q === '"' && c === "\\") {
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", n: "\n", t: "\t", r: "\r" };
      if (!(e in simple)) throw new Unsupported();
      out += simple[e];
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw new Unsupported();
}

/** One-line flow collections: `{a: 1, b: [x, y]}`. */
class Flow {
  pos = 0;
  constructor(readonly text: string) {}

  value(): unknown {
    this.#space();
    const c = this.text[this.pos];
    if (c === "{") return this.#map();
    if (c === "[") return this.#seq();
    if (c === '"' || c === "'") {
      const [value, end] = quoted(this.text, this.pos);
      this.pos = end;
      return value;
    }
    const start = this.pos;
    while (this.pos < this.text.length && !",]}".includes(this.text[this.pos])) {
      if (this.text[this.pos] === ":" && this.text[this.pos + 1] === " ") break;
      this.pos++;
    }
    const raw = this.text.slice(start, this.pos).trim();
    if (raw === "" || /^[&*!|>%@`?{[#]/.test(raw)) throw new Unsupported();
    return plain(raw);
  }

  #map(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    this.#space();
    if (this.#eat("}")) return out;
    for (;;) {
      const key = this.value();
      if (typeof key !== "string" || Object.hasOwn(out, key) || key === "__proto__") throw new Unsupported();
      this.#space();
      if (!this.#eat(":")) throw new Unsupported();
      out[key] = this.value();
      this.#space();
      if (this.#eat("}")) return out;
      if (!this.#eat(",")) throw new Unsupported();
      this.#space();
    }
  }

  #seq(): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    this.#space();
    if (this.#eat("]")) return out;
    for (;;) {
      out.push(this.value());
      this.#space();
      if (this.#eat("]")) return out;
      if (!this.#eat(",")) throw new Unsupported();
      this.#space();
    }
  }

  #eat(c: string): boolean {
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  #space(): void {
    while (this.text[this.pos] === " ") this.pos++;
  }
}
