/**
 * The Hessian2 body of a Dubbo request (`DecodeableRpcInvocation`): read the routing strings, skip the
 * arguments, read the attachment map; and rebuild the body with an attachment mutation.
 *
 * Body layout, values in sequence: dubbo version string, service path (interface), service version,
 * method name, parameter-types descriptor (JVM form), one value per parameter, attachment map (absent
 * in old clients).
 *
 * @module
 */
import { BODY_LENGTH_OFFSET, HEADER_SIZE } from "./constants.ts";
import { type Hessian2Reader, isMapTag, isStringTag } from "./hessian2_reader.ts";
import { stringSize, TAG_END, TAG_MAP_UNTYPED, writeString } from "./hessian2_writer.ts";

/** Where the attachments of a decoded request sit in its frame (absolute offsets). */
export interface RequestLayout {
  /** Start of the attachment map (the body end when there is none). */
  readonly attachStart: number;
  /** End of the attachment map; equal to `attachStart` when absent; -1 when a non-map value sits there. */
  readonly attachEnd: number;
}

/** Routing facts of a request body; `error` set instead when the body is malformed. */
export interface RequestInfo {
  interface: string;
  method: string;
  layout: RequestLayout | undefined;
  error: string;
}

const FIELDS = ["dubbo version", "interface", "service version", "method", "parameter types"] as const;

/**
 * Parses the request body in `reader` (already reset to the body), filling `metadata` with `interface`,
 * `method`, `version` and every string→string attachment (later keys overwrite, as Aeraki's putString).
 * Writes the outcome into `out` (reused by the caller to avoid an allocation per frame).
 */
export function parseRequestBody(
  reader: Hessian2Reader,
  metadata: Map<string, string>,
  out: RequestInfo,
): void {
  const strings: string[] = ["", "", "", "", ""];
  for (let i = 0; i < FIELDS.length; i++) {
    if (!isStringTag(reader.peek())) {
      out.error = `Cannot decode Dubbo request: ${FIELDS[i]} is not a string`;
      return;
    }
    const value = reader.readString();
    if (value === undefined) {
      out.error = `Cannot decode Dubbo request: ${FIELDS[i]}: ${reader.error}`;
      return;
    }
    strings[i] = value;
  }
  const argCount = countParameters(strings[4]);
  if (argCount < 0) {
    out.error = `Cannot decode Dubbo request: bad parameter types '${strings[4].slice(0, 64)}'`;
    return;
  }
  for (let i = 0; i < argCount; i++) {
    if (!reader.skipValue()) {
      out.error = `Cannot decode Dubbo request: argument ${i}: ${reader.error}`;
      return;
    }
  }
  out.interface = strings[1];
  out.method = strings[3];
  metadata.set("interface", strings[1]);
  metadata.set("method", strings[3]);
  metadata.set("version", strings[2]);
  const attachStart = reader.pos;
  if (reader.pos >= reader.end) {
    out.layout = { attachStart, attachEnd: attachStart };
    return;
  }
  // Only a map literal counts; anything else (even a back-reference 'Q') means "no attachments", as Aeraki.
  if (!isMapTag(reader.peek())) {
    out.layout = { attachStart, attachEnd: -1 };
    return;
  }
  if (!readAttachments(reader, metadata)) {
    out.error = `Cannot decode Dubbo request: attachments: ${reader.error}`;
    return;
  }
  out.layout = { attachStart, attachEnd: reader.pos };
}

function readAttachments(reader: Hessian2Reader, metadata: Map<string, string>): boolean {
  if (!reader.enterMap()) return false;
  for (;;) {
    if (reader.pos >= reader.end) {
      reader.error = "truncated map";
      return false;
    }
    if (reader.atMapEnd()) return true;
    let key: string | undefined;
    if (isStringTag(reader.peek())) {
      key = reader.readString();
      if (key === undefined) return false;
    } else if (!reader.skipValue(1)) return false;
    if (key !== undefined && isStringTag(reader.peek())) {
      const value = reader.readString();
      if (value === undefined) return false;
      metadata.set(key, value);
    } else if (!reader.skipValue(1)) return false;
  }
}

/** Number of parameters in a JVM descriptor (`Ljava/lang/String;[I` → 2); -1 when malformed. */
export function countParameters(descriptor: string): number {
  let count = 0;
  for (let i = 0; i < descriptor.length; i++) {
    const c = descriptor.charCodeAt(i);
    if (c === 0x5b /* [ */) continue;
    if (c === 0x4c /* L */) {
      const semi = descriptor.indexOf(";", i);
      if (semi < 0) return -1;
      i = semi;
    } else if ("VZBCDFIJS".indexOf(descriptor[i]) < 0) return -1;
    count++;
  }
  return count;
}

/**
 * Rebuilds a request frame with `mutation` applied to its attachment map: header (new body length) +
 * body up to the map + the map re-serialised as an untyped `H` map + anything after it. Existing entries
 * keep their order and raw bytes (so back-references inside non-string values stay valid); a mutated
 * key gets a new string value in place; new keys are appended. (Replacing a non-string value that held
 * a class definition or a referenced object would renumber later references: not expected in
 * attachments, which Dubbo fills with strings.) Returns `undefined` (reason in `reader.error`) when the
 * map cannot be walked.
 */
export function rebuildWithAttachments(
  reader: Hessian2Reader,
  bytes: Uint8Array,
  layout: RequestLayout,
  mutation: ReadonlyMap<string, string>,
): Uint8Array | undefined {
  const { attachStart, attachEnd } = layout;
  // Raw entry spans: [keyStart, keyEnd, valueEnd] triples; replaced values are written from `mutation`.
  const spans: number[] = [];
  const replaced: (string | undefined)[] = [];
  const seen = new Set<string>();
  let size = attachStart + 2 + (bytes.length - attachEnd); // prefix + 'H' + 'Z' + tail
  if (attachEnd > attachStart) {
    // Walk from the body start: attachment values may use class definitions made by the arguments.
    reader.reset(bytes, HEADER_SIZE, attachEnd);
    while (reader.pos < attachStart) if (!reader.skipValue()) return undefined;
    if (!reader.enterMap()) return undefined;
    while (!reader.atMapEnd()) {
      const keyStart = reader.pos;
      let key: string | undefined;
      if (isStringTag(reader.peek())) {
        key = reader.readString();
        if (key === undefined) return undefined;
      } else if (!reader.skipValue(1)) return undefined;
      const keyEnd = reader.pos;
      if (!reader.skipValue(1)) return undefined;
      const next = key === undefined ? undefined : mutation.get(key);
      spans.push(keyStart, keyEnd, reader.pos);
      replaced.push(next);
      if (next !== undefined) {
        seen.add(key!);
        size += keyEnd - keyStart + stringSize(next);
      } else size += reader.pos - keyStart;
    }
  }
  for (const [key, value] of mutation) if (!seen.has(key)) size += stringSize(key) + stringSize(value);

  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, attachStart));
  new DataView(out.buffer).setInt32(BODY_LENGTH_OFFSET, size - HEADER_SIZE);
  let pos = attachStart;
  out[pos++] = TAG_MAP_UNTYPED;
  for (let i = 0; i < replaced.length; i++) {
    const keyStart = spans[3 * i], keyEnd = spans[3 * i + 1], valueEnd = spans[3 * i + 2];
    const next = replaced[i];
    if (next === undefined) {
      out.set(bytes.subarray(keyStart, valueEnd), pos);
      pos += valueEnd - keyStart;
    } else {
      out.set(bytes.subarray(keyStart, keyEnd), pos);
      pos = writeString(out, pos + keyEnd - keyStart, next);
    }
  }
  for (const [key, value] of mutation) {
    if (!seen.has(key)) pos = writeString(out, writeString(out, pos, key), value);
  }
  out[pos++] = TAG_END;
  out.set(bytes.subarray(attachEnd), pos);
  return out;
}
