/**
 * Dubbo frames built and read with hessian.js (the independent Hessian2 implementation), for codec
 * tests, the fuzz generator and the Dubbo peer. Layout as Apache Dubbo's `DubboCodec` writes it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import hessianModule from "hessian.js";

interface HessianEncoder {
  reset(): void;
  write(value: unknown): HessianEncoder;
  get(): Buffer;
}
interface HessianDecoder {
  read(withType?: boolean): unknown;
  byteBuffer: { position(): number };
}
const hessian = hessianModule as unknown as {
  EncoderV2: new () => HessianEncoder;
  DecoderV2: new (buf: Buffer) => HessianDecoder;
};

/** Dubbo protocol version written first in request bodies. */
export const DUBBO_VERSION = "2.0.2";

/** A request as a Dubbo client would send it. */
export interface RequestSpec {
  readonly requestId: number | bigint;
  readonly interface: string;
  readonly method: string;
  /** Service version (default "0.0.0"). */
  readonly version?: string;
  readonly args?: readonly unknown[];
  /** JVM parameter descriptor; derived from `args` when absent. */
  readonly types?: string;
  /** Attachment map; `null` writes no map at all (old clients). Values may be any hessian.js value. */
  readonly attachments?: Readonly<Record<string, unknown>> | null;
  readonly oneway?: boolean;
}

/** A response as a Dubbo provider would send it. */
export interface ResponseSpec {
  readonly requestId: number | bigint;
  /** Dubbo status (default 20). Non-20 statuses carry `errorMessage` as one string. */
  readonly status?: number;
  /** Response type 0..5 for status 20 (default 4 when attachments are given, else 1). */
  readonly type?: number;
  readonly value?: unknown;
  readonly attachments?: Readonly<Record<string, unknown>>;
  readonly errorMessage?: string;
}

/** A decoded request body. */
export interface RequestBody {
  dubboVersion: string;
  interface: string;
  version: string;
  method: string;
  types: string;
  args: unknown[];
  attachments: Record<string, unknown>;
}

/** A decoded response body. */
export interface ResponseBody {
  type: number;
  value: unknown;
  attachments: Record<string, unknown>;
}

const encoder = new hessian.EncoderV2();

/** Hessian2-encodes `values` in sequence (fresh reference tables); returns a copy. */
export function hessianEncode(...values: unknown[]): Uint8Array {
  return encodeView(values).slice();
}

/** Like {@linkcode hessianEncode} but returns a view of the encoder's buffer, valid until the next encode. */
function encodeView(values: readonly unknown[]): Uint8Array {
  encoder.reset();
  for (const v of values) encoder.write(v);
  const buf = encoder.get();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Decodes every value in `bytes` with hessian.js. */
export function hessianDecodeAll(bytes: Uint8Array, withType = false): unknown[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const decoder = new hessian.DecoderV2(buf);
  const out: unknown[] = [];
  while (decoder.byteBuffer.position() < buf.length) out.push(decoder.read(withType));
  return out;
}

/** JVM descriptor of one hessian.js argument. */
export function descriptorOf(arg: unknown): string {
  if (typeof arg === "string") return "Ljava/lang/String;";
  if (typeof arg === "boolean") return "Z";
  if (typeof arg === "number") return Number.isInteger(arg) && Math.abs(arg) < 2 ** 31 ? "I" : "D";
  if (arg instanceof Uint8Array) return "[B";
  if (arg instanceof Date) return "Ljava/util/Date;";
  if (Array.isArray(arg)) return "Ljava/util/List;";
  if (arg && typeof arg === "object" && "$class" in arg) {
    const cls = String((arg as { $class: string }).$class);
    if (cls === "long") return "J";
    return `L${cls.replaceAll(".", "/")};`;
  }
  if (arg && typeof arg === "object") return "Ljava/util/Map;";
  return "Ljava/lang/Object;";
}

/** The 16-byte header. */
export function dubboHeader(
  flag: number,
  status: number,
  requestId: number | bigint,
  bodyLength: number,
): Uint8Array {
  const out = new Uint8Array(16);
  writeHeader(out, flag, status, requestId, bodyLength);
  return out;
}

function writeHeader(
  out: Uint8Array,
  flag: number,
  status: number,
  id: number | bigint,
  bodyLength: number,
): void {
  const view = new DataView(out.buffer, out.byteOffset, 16);
  view.setUint16(0, 0xdabb);
  out[2] = flag;
  out[3] = status;
  if (typeof id === "number" && id >= 0) {
    view.setUint32(4, Math.floor(id / 0x100000000));
    view.setUint32(8, id >>> 0);
  } else view.setBigUint64(4, BigInt.asUintN(64, BigInt(id)));
  view.setInt32(12, bodyLength);
}

/** Header + body in one array. */
export function withHeader(
  flag: number,
  status: number,
  requestId: number | bigint,
  body: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  writeHeader(out, flag, status, requestId, body.length);
  out.set(body, 16);
  return out;
}

/** Encodes a request frame. */
export function encodeRequest(spec: RequestSpec): Uint8Array {
  const args = spec.args ?? [];
  const types = spec.types ?? args.map(descriptorOf).join("");
  const values: unknown[] = [
    DUBBO_VERSION,
    spec.interface,
    spec.version ?? "0.0.0",
    spec.method,
    types,
    ...args,
  ];
  if (spec.attachments !== null) values.push({ ...(spec.attachments ?? {}) });
  return withHeader(spec.oneway ? 0x82 : 0xc2, 0, spec.requestId, encodeView(values));
}

/** Encodes a response frame. */
export function encodeResponse(spec: ResponseSpec): Uint8Array {
  const status = spec.status ?? 20;
  if (status !== 20) {
    return withHeader(0x02, status, spec.requestId, hessianEncode(spec.errorMessage ?? "error"));
  }
  const type = spec.type ?? (spec.attachments ? 4 : 1);
  const values: unknown[] = [type];
  if (type === 0 || type === 3) {
    values.push({ $class: "java.lang.RuntimeException", $: { detailMessage: spec.errorMessage ?? "error" } });
  } else if (type === 1 || type === 4) values.push(spec.value ?? null);
  if (type >= 3) values.push({ ...(spec.attachments ?? {}) });
  return withHeader(0x02, 20, spec.requestId, encodeView(values));
}

/** A heartbeat request (flag 0xe2) or response (flag 0x22, status 20), body `N`. */
export function encodeHeartbeat(requestId: number | bigint, response = false): Uint8Array {
  return withHeader(response ? 0x22 : 0xe2, response ? 20 : 0, requestId, Uint8Array.of(0x4e));
}

/** Decodes a request body with hessian.js. */
export function decodeRequestBody(body: Uint8Array): RequestBody {
  const values = hessianDecodeAll(body);
  const [dubboVersion, iface, version, method, types] = values as string[];
  const argCount = types.match(/\[*(L[^;]+;|[VZBCDFIJS])/g)?.length ?? 0;
  const args = values.slice(5, 5 + argCount);
  const attachments = (values.length > 5 + argCount ? values[5 + argCount] : {}) as Record<string, unknown>;
  return { dubboVersion, interface: iface, version, method, types, args, attachments };
}

/** Decodes a status-20 response body with hessian.js. */
export function decodeResponseBody(body: Uint8Array): ResponseBody {
  const values = hessianDecodeAll(body);
  const type = values[0] as number;
  const value = type === 2 || type === 5 ? null : values[1];
  const attachments = (type >= 3 ? values[values.length - 1] : {}) as Record<string, unknown>;
  return { type, value, attachments };
}
