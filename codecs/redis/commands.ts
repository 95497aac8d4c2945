/**
 * The command table of the redis proxy: how each command is routed, and which are reads. It follows
 * Envoy's `supported_commands.h` (simple single-key commands, EVAL/EVALSHA by first key, MGET/MSET and
 * the summing multi-key commands split per slot) plus a few fan-outs; everything else is refused by name.
 * docs/redis.md has the table.
 *
 * @module
 */

/** How a command is handled. */
export const Kind = {
  /** Key at argument 1; forwarded whole to the key's node. */
  SIMPLE: 1,
  /** EVAL/EVALSHA: numkeys at argument 2 (must be ≥ 1), routed by the first key (argument 3). */
  EVAL: 2,
  /** MGET: split by slot, replies re-assembled in key order. */
  MGET: 3,
  /** MSET: split by slot, OK when every part is OK. */
  MSET: 4,
  /** DEL/EXISTS/UNLINK/TOUCH: split by slot, integer replies summed. */
  SUM: 5,
  /** FLUSHALL/FLUSHDB: sent to every master, OK when all are OK. */
  FANOUT_OK: 6,
  /** DBSIZE: sent to every master, integers summed. */
  FANOUT_SUM: 7,
  /** KEYS: sent to every master, arrays concatenated. */
  FANOUT_CONCAT: 8,
  /** Keyless, answered by any one node (INFO, TIME, RANDOMKEY, LASTSAVE). */
  ANY_NODE: 9,
  /** Answered by the proxy itself (PING, ECHO, QUIT, SELECT, AUTH, HELLO, CLIENT, READONLY...). */
  LOCAL: 10,
  /** Refused with an error naming the command. */
  UNSUPPORTED: 11,
} as const;

/** A command's entry. */
export interface CommandInfo {
  readonly kind: number;
  /** A read (for `read_policy` and `exclude_read_commands`). */
  readonly read: boolean;
  /** Why an UNSUPPORTED command is refused. */
  readonly reason?: string;
}

const READ_SIMPLE = [
  "bitcount",
  "bitfield_ro",
  "bitpos",
  "dump",
  "geodist",
  "geohash",
  "geopos",
  "georadius_ro",
  "georadiusbymember_ro",
  "geosearch",
  "get",
  "getbit",
  "getrange",
  "hexists",
  "hget",
  "hgetall",
  "hkeys",
  "hlen",
  "hmget",
  "hrandfield",
  "hscan",
  "hstrlen",
  "hvals",
  "lindex",
  "llen",
  "lpos",
  "lrange",
  "pfcount",
  "pttl",
  "scard",
  "sismember",
  "smembers",
  "smismember",
  "srandmember",
  "sscan",
  "strlen",
  "substr",
  "ttl",
  "type",
  "expiretime",
  "pexpiretime",
  "sort_ro",
  "xlen",
  "xpending",
  "xrange",
  "xrevrange",
  "zcard",
  "zcount",
  "zlexcount",
  "zmscore",
  "zrandmember",
  "zrange",
  "zrangebylex",
  "zrangebyscore",
  "zrank",
  "zrevrange",
  "zrevrangebylex",
  "zrevrangebyscore",
  "zrevrank",
  "zscan",
  "zscore",
];

const WRITE_SIMPLE = [
  "append",
  "bitfield",
  "decr",
  "decrby",
  "expire",
  "expireat",
  "geoadd",
  "georadius",
  "georadiusbymember",
  "getdel",
  "getex",
  "getset",
  "hdel",
  "hincrby",
  "hincrbyfloat",
  "hmset",
  "hset",
  "hsetnx",
  "incr",
  "incrby",
  "incrbyfloat",
  "linsert",
  "lpop",
  "lpush",
  "lpushx",
  "lrem",
  "lset",
  "ltrim",
  "persist",
  "pexpire",
  "pexpireat",
  "pfadd",
  "psetex",
  "restore",
  "rpop",
  "rpush",
  "rpushx",
  "sadd",
  "set",
  "setbit",
  "setex",
  "setnx",
  "setrange",
  "sort",
  "spop",
  "srem",
  "xack",
  "xadd",
  "xautoclaim",
  "xclaim",
  "xdel",
  "xtrim",
  "zadd",
  "zincrby",
  "zpopmax",
  "zpopmin",
  "zrem",
  "zremrangebylex",
  "zremrangebyrank",
  "zremrangebyscore",
];

const UNSUPPORTED: Record<string, string> = {
  blocking: "blpop brpop brpoplpush blmove blmpop bzpopmin bzpopmax bzmpop xread xreadgroup wait waitaof",
  "pub/sub": "subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe publish spublish pubsub",
  transactions: "multi exec discard watch unwatch",
  "multi-key commands that cannot be split": "rename renamenx smove sdiff sdiffstore sinter sinterstore " +
    "sunion sunionstore zunionstore zinterstore zdiffstore rpoplpush lmove lmpop zmpop pfmerge copy msetnx lcs " +
    "bitop zdiff zinter zunion sintercard zintercard zrangestore",
  "server administration": "config cluster debug shutdown save bgsave bgrewriteaof slaveof replicaof " +
    "monitor sync psync acl module failover swapdb migrate script function slowlog latency memory " +
    "object reset",
  "scripts without keys or cursors across nodes": "fcall fcall_ro eval_ro evalsha_ro scan move",
};

const table = new Map<string, CommandInfo>();
for (const name of READ_SIMPLE) table.set(name, { kind: Kind.SIMPLE, read: true });
for (const name of WRITE_SIMPLE) table.set(name, { kind: Kind.SIMPLE, read: false });
for (const name of ["eval", "evalsha"]) table.set(name, { kind: Kind.EVAL, read: false });
table.set("mget", { kind: Kind.MGET, read: true });
table.set("mset", { kind: Kind.MSET, read: false });
table.set("exists", { kind: Kind.SUM, read: true });
table.set("touch", { kind: Kind.SUM, read: true });
for (const name of ["del", "unlink"]) table.set(name, { kind: Kind.SUM, read: false });
for (const name of ["flushall", "flushdb"]) table.set(name, { kind: Kind.FANOUT_OK, read: false });
table.set("dbsize", { kind: Kind.FANOUT_SUM, read: true });
table.set("keys", { kind: Kind.FANOUT_CONCAT, read: true });
for (const name of ["info", "time", "randomkey", "lastsave"]) {
  table.set(name, { kind: Kind.ANY_NODE, read: true });
}
for (
  const name of [
    "ping",
    "echo",
    "quit",
    "select",
    "auth",
    "hello",
    "client",
    "readonly",
    "readwrite",
    "command",
  ]
) {
  table.set(name, { kind: Kind.LOCAL, read: true });
}
for (const [reason, names] of Object.entries(UNSUPPORTED)) {
  for (const name of names.split(" ")) {
    if (name) table.set(name, { kind: Kind.UNSUPPORTED, read: false, reason });
  }
}

const UNKNOWN: CommandInfo = { kind: Kind.UNSUPPORTED, read: false, reason: "unknown to the proxy" };

/** Looks up a lower-case command name; unknown names are UNSUPPORTED. */
export function commandInfo(lowerName: string): CommandInfo {
  return table.get(lowerName) ?? UNKNOWN;
}

/** All known command names with their entries (for docs and tests). */
export function commandTable(): ReadonlyMap<string, CommandInfo> {
  return table;
}

/** Lower-cases an ASCII command name (names are short; non-ASCII bytes pass through as Latin-1). */
export function lowerName(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length && i < 64; i++) {
    const b = bytes[i];
    s += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b + 32 : b);
  }
  return s;
}

/** A command name with its entry. */
export interface NamedCommand {
  readonly name: string;
  readonly info: CommandInfo;
}

/** Names of at most 6 bytes, packed case-folded with their length into one exact number. */
const byPacked = new Map<number, NamedCommand>();
for (const [name, info] of table) {
  if (name.length <= 6) byPacked.set(pack(new TextEncoder().encode(name), 0, name.length), { name, info });
}

function pack(bytes: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    n = n * 256 + (b >= 0x41 && b <= 0x5a ? b + 32 : b);
  }
  return n * 8 + (end - start);
}

/**
 * The known command whose name is `bytes[start, end)` in any case, without building a string; `undefined`
 * for names longer than 6 bytes or unknown (then use {@linkcode lowerName} and {@linkcode commandInfo}).
 */
export function commandAt(bytes: Uint8Array, start: number, end: number): NamedCommand | undefined {
  return end - start <= 6 ? byPacked.get(pack(bytes, start, end)) : undefined;
}
