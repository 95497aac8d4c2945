/**
 * Reply slots: each client command owns one place in its connection's reply queue, filled by the
 * upstream reply, a local answer, or the merge of a split command's parts. Replies are written in the
 * client's request order whatever order the nodes answer in.
 *
 * @module
 */
import { encodeArray, encodeInteger, OK } from "./encode.ts";
import { integerOf, RespType, type RespValue } from "./resp.ts";
import type { UpstreamRequest } from "./upstream_conn.ts";

/** Told when a slot is filled. */
export interface SlotOwner {
  slotDone(slot: Slot): void;
}

/** One client command's reply place; also the upstream request for commands sent whole. */
export class Slot implements UpstreamRequest {
  payload: Uint8Array = EMPTY;
  redirects = 0;
  /** The encoded reply once known. */
  reply: Uint8Array | null = null;
  readonly owner: SlotOwner;

  constructor(owner: SlotOwner) {
    this.owner = owner;
  }

  onReply(reply: RespValue): void {
    this.complete(reply.raw);
  }

  onRawReply(bytes: Uint8Array): void {
    this.complete(bytes);
  }

  /** Fills the slot (first answer wins). */
  complete(bytes: Uint8Array): void {
    if (this.reply !== null) return;
    this.reply = bytes;
    this.owner.slotDone(this);
  }
}

const EMPTY = new Uint8Array(0);

/** How the parts of a split command are merged. */
export const Merge = {
  /** MGET: elements placed back at their key positions. */
  POSITIONS: 1,
  /** MSET, FLUSHALL: `+OK` when every part is OK. */
  ALL_OK: 2,
  /** DEL, EXISTS, DBSIZE: integers summed. */
  SUM: 3,
  /** KEYS: arrays concatenated. */
  CONCAT: 4,
} as const;

/** A command split into parts (per slot, per node); fills its slot when the last part answers. */
export class Split {
  readonly #slot: Slot;
  readonly #merge: number;
  readonly #results: (RespValue | undefined)[];
  readonly #positions: readonly (readonly number[])[];
  readonly #total: number;
  #remaining: number;

  /** `positions[i]` are the key positions answered by part `i` (POSITIONS only); `total` the key count. */
  constructor(
    slot: Slot,
    merge: number,
    parts: number,
    positions: readonly (readonly number[])[] = [],
    total = 0,
  ) {
    this.#slot = slot;
    this.#merge = merge;
    this.#results = new Array(parts);
    this.#remaining = parts;
    this.#positions = positions;
    this.#total = total;
    if (parts === 0) this.#finish();
  }

  /** Records part `index`'s reply. */
  partDone(index: number, reply: RespValue): void {
    if (this.#results[index] !== undefined) return;
    this.#results[index] = reply;
    if (--this.#remaining === 0) this.#finish();
  }

  #finish(): void {
    const results = this.#results as RespValue[];
    const error = results.find((r) => r.type === RespType.ERROR);
    if (error) return this.#slot.complete(error.raw);
    switch (this.#merge) {
      case Merge.POSITIONS: {
        const out = new Array<Uint8Array>(this.#total);
        for (let i = 0; i < results.length; i++) {
          const items = results[i].items ?? [];
          const positions = this.#positions[i];
          for (let j = 0; j < positions.length; j++) out[positions[j]] = items[j]?.raw ?? NULL;
        }
        return this.#slot.complete(encodeArray(out));
      }
      case Merge.SUM: {
        let sum = 0;
        for (const r of results) sum += integerOf(r) || 0;
        return this.#slot.complete(encodeInteger(sum));
      }
      case Merge.CONCAT:
        return this.#slot.complete(encodeArray(results.flatMap((r) => (r.items ?? []).map((i) => i.raw))));
      default:
        return this.#slot.complete(OK);
    }
  }
}

const NULL = new TextEncoder().encode("$-1\r\n");

/** One part of a split command. */
export class Part implements UpstreamRequest {
  redirects = 0;
  constructor(readonly payload: Uint8Array, readonly split: Split, readonly index: number) {}
  onReply(reply: RespValue): void {
    this.split.partDone(this.index, reply);
  }
}

/** A request whose reply nobody waits for (mirrors). */
export class Discard implements UpstreamRequest {
  redirects = 0;
  constructor(readonly payload: Uint8Array) {}
  onReply(): void {}
  onRawReply(): void {}
}
