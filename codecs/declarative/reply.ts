/**
 * Builds replies the proxy sends itself (local errors, heartbeat answers) from a compiled
 * {@linkcode TemplateProgram}: section contents first, then the header (magic, template values, fields
 * copied from the request, section sizes, the length field), then the trailer.
 *
 * @module
 */
import type { Frame } from "../codec.ts";
import {
  KV_LIST,
  OPAQUE,
  type Program,
  PROTOBUF,
  SIZE_FIELD,
  SIZE_FIXED,
  SIZE_PREFIX,
  type TemplateItem,
  type TemplateProgram,
  TEXT,
} from "./compile.ts";
import { lengthBytes, pbField, writeLength } from "./rewrite.ts";
import { readInt, utf8Bytes, writeUint } from "./wire.ts";
import { concatBytes } from "../../crds/bytes.ts";

/** What `$code`, `$message` and `$request_id` stand for in a template. */
export interface ReplyValues {
  readonly code: number;
  readonly message: string;
}

/** Builds one reply frame answering `request`. Throws `RangeError` when a value does not fit its field. */
export function buildReply(p: Program, t: TemplateProgram, request: Frame, values: ReplyValues): Uint8Array {
  const contents: Uint8Array[] = [];
  let bodySize = 0;
  for (let i = 0; i < p.sections.length; i++) {
    const s = p.sections[i];
    let content = sectionContent(s.format, t.sections.get(i) ?? [], request, values);
    if (s.format === KV_LIST && content.length === 0) content = lengthBytes(0, s.kvWidths[0], s.little);
    if (s.sizeMode === SIZE_FIXED) {
      const fixed = new Uint8Array(s.fixed);
      fixed.set(content.subarray(0, s.fixed));
      content = fixed;
    }
    if (s.sizeMode === SIZE_PREFIX) {
      content = concatBytes([lengthBytes(content.length, s.prefixWidth, s.little), content]);
    }
    contents.push(content);
    bodySize += content.length;
  }
  const out = new Uint8Array(p.headerSize + bodySize + p.trailer.length);
  for (let i = 0; i < p.magicAt.length; i++) out[p.magicAt[i]] = p.magicBytes[i];
  for (const [f, value] of t.header) writeUint(out, f.offset, f.width, f.little, value);
  for (const f of t.copy) {
    if (request.bytes.length >= p.headerSize) {
      writeUint(out, f.offset, f.width, f.little, readInt(request.bytes, 0, f));
    }
  }
  let at = p.headerSize;
  for (let i = 0; i < p.sections.length; i++) {
    const s = p.sections[i];
    const content = contents[i];
    if (s.atField) writeUint(out, s.atField.offset, s.atField.width, s.atField.little, at - s.atAdjust);
    if (s.sizeMode === SIZE_FIELD) {
      writeUint(
        out,
        s.sizeField!.offset,
        s.sizeField!.width,
        s.sizeField!.little,
        content.length - s.sizeAdjust,
      );
    }
    out.set(content, at);
    at += content.length;
  }
  out.set(p.trailer, at);
  writeLength(p, out);
  return out;
}

function sectionContent(
  format: number,
  items: readonly TemplateItem[],
  request: Frame,
  v: ReplyValues,
): Uint8Array {
  if (items.length === 0) return new Uint8Array(0);
  if (format === PROTOBUF) {
    const parts: Uint8Array[] = [];
    for (const item of items) {
      const value = resolve(item, request, v);
      if (item.string) {
        const text = String(value);
        if (text !== "") parts.push(pbField(item.number, utf8Bytes(text)));
      } else {
        const n = Number(value);
        if (n !== 0 && Number.isFinite(n)) parts.push(pbField(item.number, n));
      }
    }
    return concatBytes(parts);
  }
  if (format === TEXT || format === OPAQUE) return utf8Bytes(String(resolve(items[0], request, v)));
  return new Uint8Array(0);
}

function resolve(item: TemplateItem, request: Frame, v: ReplyValues): number | string | bigint {
  if (item.from === undefined) return item.value ?? 0;
  if (item.from === "$code") return v.code;
  if (item.from === "$message") return v.message;
  if (item.from === "$request_id") return request.requestId;
  if (item.fromField && request.bytes.length >= item.fromField.offset + item.fromField.width) {
    return readInt(request.bytes, 0, item.fromField);
  }
  return item.value ?? 0;
}
