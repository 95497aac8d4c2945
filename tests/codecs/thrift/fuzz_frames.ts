/**
 * Seeded Thrift fuzzing shared by `fuzz_test.ts` and `bench/fuzz_thrift.ts`: random valid messages in
 * every shape, then mutated (truncated, bit-flipped, lengths blown up, garbage), each decoded by a fresh
 * codec. A run reports how inputs ended; any throw or a frame larger than its input is a bug.
 *
 * @module
 */
import type { Codec } from "../../../codecs/codec.ts";
import { thriftCodecFactory } from "../../../codecs/thrift/mod.ts";
import { encodeIn, SHAPES } from "./cases.ts";
import type { TField, TMessage, TValue, TypeName } from "./thrift_wire.ts";
import { unitPrng } from "../../support/prng.ts";

const SCALARS: TypeName[] = ["bool", "byte", "i16", "i32", "i64", "double", "string", "uuid"];
const ALL: TypeName[] = [...SCALARS, "struct", "list", "set", "map"];

function randomValue(r: () => number, type: TypeName, depth: number): TValue {
  const int = (n: number) => Math.floor(r() * n);
  switch (type) {
    case "bool":
      return { type, value: r() < 0.5 };
    case "byte":
      return { type, value: int(256) - 128 };
    case "i16":
      return { type, value: int(65536) - 32768 };
    case "i32":
      return { type, value: int(2 ** 32) | 0 };
    case "i64":
      return { type, value: BigInt(int(2 ** 32)) * BigInt(int(2 ** 31)) - 2n ** 60n };
    case "double":
      return { type, value: r() * 1e6 };
    case "string":
      return { type, value: "s".repeat(int(r() < 0.1 ? 300 : 12)) };
    case "uuid":
      return { type, value: new Uint8Array(16).fill(int(256)) };
    case "struct":
      return { type, fields: randomFields(r, depth + 1) };
    case "map": {
      const key = pick(r, SCALARS);
      const value = pick(r, depth < 3 ? ALL : SCALARS);
      const entries: [TValue, TValue][] = [];
      for (let i = int(4); i > 0; i--) {
        entries.push([randomValue(r, key, depth + 1), randomValue(r, value, depth + 1)]);
      }
      return { type, key, value, entries };
    }
    default: {
      const elem = pick(r, depth < 3 ? ALL : SCALARS);
      const values: TValue[] = [];
      for (let i = int(r() < 0.05 ? 20 : 4); i > 0; i--) values.push(randomValue(r, elem, depth + 1));
      return { type, elem, values };
    }
  }
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function randomFields(r: () => number, depth: number): TField[] {
  const fields: TField[] = [];
  let id = r() < 0.3 ? 0 : 1;
  for (let n = Math.floor(r() * (depth > 3 ? 2 : 5)); n > 0; n--) {
    fields.push({ id, value: randomValue(r, pick(r, depth < 4 ? ALL : SCALARS), depth) });
    id += 1 + Math.floor(r() * (r() < 0.2 ? 40 : 3));
  }
  return fields;
}

/** A random valid message of a random shape. */
export function randomMessage(r: () => number): { bytes: Uint8Array; message: TMessage } {
  const shape = pick(r, SHAPES);
  const message: TMessage = {
    name: pick(r, ["echo", "add", "Calc:add", "ping", "x".repeat(40)]),
    type: 1 + Math.floor(r() * 4),
    seqid: Math.floor(r() * 2 ** 32) | 0,
    body: randomFields(r, 0),
  };
  return { bytes: encodeIn(shape, message), message };
}

/** How the inputs of a run ended. */
export interface FuzzStats {
  inputs: number;
  frames: number;
  validDecoded: number;
  errors: number;
  needMore: number;
  ms: number;
}

function mutate(r: () => number, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  switch (Math.floor(r() * 5)) {
    case 0:
      return out.subarray(0, Math.floor(r() * out.length));
    case 1:
      for (let i = 1 + Math.floor(r() * 3); i > 0; i--) {
        out[Math.floor(r() * out.length)] ^= 1 << Math.floor(r() * 8);
      }
      return out;
    case 2: { // blow up a length-like window
      const at = Math.floor(r() * Math.max(1, out.length - 4));
      out.set([0x7f, 0xff, 0xff, Math.floor(r() * 256)].slice(0, out.length - at), at);
      return out;
    }
    case 3:
      return Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
    default:
      out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
      return out;
  }
}

/** Decodes `input` until need-more/error; throws on a contract breach (the fuzz failure). */
function drain(codec: Codec, input: Uint8Array, stats: FuzzStats): void {
  let rest = input;
  for (let guard = 0; guard <= input.length; guard++) {
    const res = codec.decode(rest);
    if (res.kind === "error") return void stats.errors++;
    if (res.kind === "need-more") return void stats.needMore++;
    if (res.size <= 0 || res.size > rest.length) {
      throw new Error(`Fuzz: frame size ${res.size} of ${rest.length}`);
    }
    stats.frames++;
    rest = rest.subarray(res.size);
    if (rest.length === 0) return;
  }
  throw new Error("Fuzz: decode made no progress");
}

/**
 * Runs `count` inputs from `seed`: 1 in 4 valid (must decode to the generated method and seqid), the rest
 * mutated. Deterministic for a seed.
 */
export function runFuzz(seed: number, count: number): FuzzStats {
  const r = unitPrng(seed);
  const factory = thriftCodecFactory({ max_frame_size: 1024 * 1024 });
  const stats: FuzzStats = { inputs: 0, frames: 0, validDecoded: 0, errors: 0, needMore: 0, ms: 0 };
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const { bytes, message } = randomMessage(r);
    stats.inputs++;
    if (i % 4 === 0) {
      const res = factory.create("server").decode(bytes);
      if (res.kind !== "frame" || res.size !== bytes.length) {
        throw new Error(
          `Fuzz: valid input ${i} did not decode: ${JSON.stringify(res.kind === "error" ? res : res.kind)}`,
        );
      }
      if (res.frame.requestId !== message.seqid || res.frame.metadata.get("method") !== message.name) {
        throw new Error(`Fuzz: valid input ${i} decoded wrong seqid/method`);
      }
      stats.validDecoded++;
      stats.frames++;
      continue;
    }
    drain(factory.create("server"), mutate(r, bytes), stats);
  }
  stats.ms = performance.now() - started;
  return stats;
}
