/**
 * One State-of-the-World ADS stream (`StreamAggregatedResources`).
 *
 * Per type: the subscribed names (empty names for LDS/CDS = wildcard), the nonce and version of the last
 * response, and a fingerprint of the resources it carried. A request whose `response_nonce` is the last
 * one sent is an ACK (or a NACK with `error_detail`); any other non-empty nonce is stale and ignored.
 * A response goes out only when the subscription or the subscribed content changed, so a NACKed
 * version is never resent in a loop: the node keeps its last good version until the content changes.
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import { XDS_SHORT_NAMES } from "../../crds/protos.ts";
import { hash, type Obj, type Resource } from "./resource.ts";
import { type Snapshot, XDS_TYPES } from "./snapshot.ts";
import { type StreamContext, StreamState } from "./stream_state.ts";
import { concatBytes } from "../../crds/bytes.ts";

/**
 * A DiscoveryResponse: its resources and the same resources pre-encoded as the message's `resources` field
 * (the snapshot's shared bytes when the response carries the type's full list; see `wire.ts`).
 */
export interface SotwResponse {
  version_info: string;
  resources: readonly Resource[];
  /** `resources` as DiscoveryResponse field 2, ready to frame with `encodeDiscoveryResponse`. */
  payload: Uint8Array;
  type_url: string;
  nonce: string;
}

interface Subscription {
  readonly typeUrl: string;
  wildcard: boolean;
  names: ReadonlySet<string>;
  nonce?: string;
  /** LDS/CDS (full state): the selection fingerprint last sent. */
  fingerprint?: string;
  /**
   * RDS/EDS (changes only): the snapshot's resource map of the last response that carried the type's full
   * list (every name in it was sent at its version there), so streams share it instead of a record per name.
   */
  base?: ReadonlyMap<string, Resource>;
  /** RDS/EDS: name → version sent since `base` (overrides it; {@linkcode DROPPED} = client forgot it). */
  sent: Map<string, string>;
}

/** In `sent`: a name of `base` the client unsubscribed since, so it must be sent again. */
const DROPPED = "";

const WILDCARD_TYPES = new Set<string>([TypeUrls.listener, TypeUrls.cluster]);
/** LDS and CDS responses are always the full (subscribed) state; RDS and EDS ones may carry only changes. */
const FULL_STATE_TYPES = WILDCARD_TYPES;

/** SotW protocol state of one stream; `send` writes a response to the wire. */
export class SotwStream extends StreamState {
  #send: (response: SotwResponse) => void;
  #subs = new Map<string, Subscription>();

  constructor(ctx: StreamContext, peer: string, send: (response: SotwResponse) => void) {
    super(ctx, peer);
    this.#send = send;
  }

  /** Always `"sotw"`. */
  get kind(): "sotw" {
    return "sotw";
  }

  /** Handles one canonical DiscoveryRequest. */
  onRequest(req: Obj): void {
    this.bind(req.node as Obj | undefined);
    const typeUrl = String(req.type_url ?? "");
    if (!XDS_TYPES.includes(typeUrl)) {
      this.ctx.log("debug", `ADS stream ${this.id} ('${this.nodeId}'): ignoring type '${typeUrl}'`);
      return;
    }
    const nonce = String(req.response_nonce ?? "");
    const version = String(req.version_info ?? "");
    const names = ((req.resource_names ?? []) as string[]).filter((n) => n !== "*");
    const wildcard = WILDCARD_TYPES.has(typeUrl) && names.length === 0 ||
      ((req.resource_names ?? []) as string[]).includes("*");
    let sub = this.#subs.get(typeUrl);
    if (sub?.nonce !== undefined) {
      if (nonce !== sub.nonce) {
        this.ctx.metrics.inc("stale", typeUrl);
        return; // a newer response is in flight; the client will answer it
      }
      const error = req.error_detail as Obj | undefined;
      this.recordReply(
        typeUrl,
        version,
        nonce,
        error ? String(error.message ?? `code ${error.code}`) : undefined,
      );
    }
    const status = this.typeStatus(typeUrl);
    if (!sub) {
      const snapshot = this.snapshot();
      sub = {
        typeUrl,
        wildcard,
        names: interned(typeUrl, names, snapshot?.resources(typeUrl)),
        sent: new Map(),
      };
      this.#subs.set(typeUrl, sub);
      status.subscribed = wildcard ? "*" : sub.names;
      // Resynchronising client that already holds this content: remember it instead of resending.
      if (snapshot && version !== "" && version === snapshot.version(typeUrl)) {
        remember(sub, snapshot, select(snapshot, sub));
        status.sentVersion = status.ackedVersion = version;
        return;
      }
      this.#respond(typeUrl, sub, snapshot, true);
      return;
    }
    if (sub.wildcard !== wildcard || !sameSet(sub.names, names)) {
      const before = sub.names;
      const snapshot = this.snapshot();
      sub.wildcard = wildcard;
      sub.names = interned(typeUrl, names, snapshot?.resources(typeUrl));
      status.subscribed = wildcard ? "*" : sub.names;
      // A name dropped now and subscribed again later must be sent again (the client forgot it).
      for (const name of before) {
        if (sub.names.has(name)) continue;
        if (sub.base?.has(name)) sub.sent.set(name, DROPPED);
        else sub.sent.delete(name);
      }
      this.#respond(typeUrl, sub, snapshot, true);
    }
  }

  /** Snapshot changed: resend each subscribed type whose content differs from what was sent. */
  protected pushChanges(): void {
    const snapshot = this.snapshot();
    if (!snapshot) return;
    for (const typeUrl of XDS_TYPES) {
      const sub = this.#subs.get(typeUrl);
      if (sub) this.#respond(typeUrl, sub, snapshot, false);
    }
  }

  /**
   * LDS/CDS responses carry the full state; RDS/EDS responses carry only the subscribed resources
   * whose version differs from what this stream last sent (xDS: in SotW, types other than Listener and
   * Cluster are grouped like the incremental variants), or, answering a new subscription with nothing new,
   * every subscribed resource.
   */
  #respond(typeUrl: string, sub: Subscription, snapshot: Snapshot | undefined, force: boolean): void {
    if (!snapshot) return; // nothing built yet: the watch pushes once there is
    if (!sub.wildcard && sub.names.size === 0) return;
    const version = snapshot.version(typeUrl);
    let resources: Resource[];
    if (FULL_STATE_TYPES.has(typeUrl)) {
      if (!force && fingerprint(snapshot, sub) === sub.fingerprint) return;
      resources = select(snapshot, sub);
    } else {
      resources = changed(snapshot, sub);
      if (resources.length === 0) {
        if (!force) return;
        resources = select(snapshot, sub);
      }
    }
    const nonce = this.nextNonce();
    sub.nonce = nonce;
    remember(sub, snapshot, resources);
    const status = this.typeStatus(typeUrl);
    status.sentNonce = nonce;
    status.sentVersion = version;
    this.ctx.metrics.inc("pushes", typeUrl);
    this.ctx.log(
      "debug",
      `ADS stream ${this.id} ('${this.nodeId}'): ${
        XDS_SHORT_NAMES[typeUrl]
      } version ${version} nonce ${nonce}, ${resources.length} resources`,
    );
    // The type's whole list (every initial sync, every LDS/CDS push): bytes concatenated once per snapshot.
    const payload = resources.length === snapshot.resources(typeUrl).size
      ? snapshot.payload(typeUrl)
      : concatBytes(resources.map((r) => r.entry));
    this.#send({ version_info: version, resources, payload, type_url: typeUrl, nonce });
  }
}

function select(snapshot: Snapshot, sub: Subscription): Resource[] {
  const all = snapshot.resources(sub.typeUrl);
  if (sub.wildcard) return [...all.values()];
  const out: Resource[] = [];
  for (const name of sub.names) {
    const r = all.get(name);
    if (r) out.push(r);
  }
  return out;
}

/** Subscribed resources whose version is not the one last sent. */
function changed(snapshot: Snapshot, sub: Subscription): Resource[] {
  const all = snapshot.resources(sub.typeUrl);
  const out: Resource[] = [];
  for (const name of sub.names) {
    const r = all.get(name);
    if (r && sentVersion(sub, name) !== r.version) out.push(r);
  }
  return out;
}

/** The version of `name` this stream last sent, if any. */
function sentVersion(sub: Subscription, name: string): string | undefined {
  const own = sub.sent.get(name);
  return own !== undefined ? own : sub.base?.get(name)?.version;
}

/** Records what a response (or a resynchronising client) holds. */
function remember(sub: Subscription, snapshot: Snapshot, resources: readonly Resource[]): void {
  if (FULL_STATE_TYPES.has(sub.typeUrl)) {
    sub.fingerprint = fingerprint(snapshot, sub);
    return;
  }
  const all = snapshot.resources(sub.typeUrl);
  if (resources.length === all.size) {
    // Every resource of the type (names are distinct): point at the snapshot's map, drop the per-name record.
    sub.base = all;
    sub.sent.clear();
    return;
  }
  for (const r of resources) sub.sent.set(r.name, r.version);
  // Still every resource at its current version: move to this snapshot's map (the old one's replaced
  // resources are not kept alive by the stream).
  if (sub.base !== all && holdsAll(sub, all)) {
    sub.base = all;
    sub.sent.clear();
  }
}

function holdsAll(sub: Subscription, all: ReadonlyMap<string, Resource>): boolean {
  for (const [name, r] of all) if (sentVersion(sub, name) !== r.version) return false;
  return true;
}

/** What a full-state selection holds: the type version when wildcard (cheap), else a hash of names + versions. */
function fingerprint(snapshot: Snapshot, sub: Subscription): string {
  if (sub.wildcard) return `*${snapshot.version(sub.typeUrl)}`;
  return hash(select(snapshot, sub).map((r) => `${r.name}\0${r.version}\0`));
}

// The last name set built per type: proxies of one namespace subscribe to the same names, so their streams
// share one set (sets are never modified: a changed subscription gets a new one).
const lastSets = new Map<string, ReadonlySet<string>>();

/**
 * The requested names as a set of the snapshot's own name strings where it has them: every request repeats
 * all names (tens of thousands for RDS/EDS), and a stream keeps its set for its lifetime.
 */
function interned(
  typeUrl: string,
  names: readonly string[],
  known: ReadonlyMap<string, Resource> | undefined,
): ReadonlySet<string> {
  const last = lastSets.get(typeUrl);
  if (last && sameSet(last, names)) return last;
  const out = new Set<string>();
  for (const name of names) out.add(known?.get(name)?.name ?? name);
  lastSets.set(typeUrl, out);
  return out;
}

function sameSet(a: ReadonlySet<string>, b: readonly string[]): boolean {
  return a.size === new Set(b).size && b.every((n) => a.has(n));
}
