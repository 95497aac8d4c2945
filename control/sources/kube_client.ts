/**
 * The two Kubernetes API calls a reflector needs: LIST a collection and WATCH it from a resourceVersion,
 * reading the chunked stream of newline-delimited JSON events.
 *
 * @module
 */
import type { KubeConnection } from "./kubeconfig.ts";

/** A non-2xx answer of the API server. `status` 410 means "resourceVersion too old: list again". */
export class KubeHttpError extends Error {
  /** HTTP status code. */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "KubeHttpError";
    this.status = status;
  }
}

/** One watch event. `object` is the resource (or a `Status` for ERROR, a stub for BOOKMARK). */
export interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: Record<string, unknown> & { metadata?: { resourceVersion?: string } };
}

/** The result of a LIST. */
export interface ListResult {
  readonly items: unknown[];
  readonly resourceVersion: string;
}

/** Lists the collection at `path` (e.g. `/apis/metaprotocol.aeraki.io/v1alpha1/metarouters`). */
export async function kubeList(conn: KubeConnection, path: string, signal: AbortSignal): Promise<ListResult> {
  const response = await request(conn, path, signal);
  const body = await response.json() as { items?: unknown[] | null; metadata?: { resourceVersion?: string } };
  return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? "" };
}

/**
 * Watches the collection at `path` from `resourceVersion`, with bookmarks. Yields events until the server ends
 * the stream (returns normally) or the connection fails / `signal` aborts (throws).
 */
export async function* kubeWatch(
  conn: KubeConnection,
  path: string,
  resourceVersion: string,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent> {
  const query = new URLSearchParams({ watch: "1", resourceVersion, allowWatchBookmarks: "true" });
  const response = await request(conn, `${path}?${query}`, signal);
  if (!response.body) return;
  let pending = "";
  for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line !== "") yield parseEvent(line, path);
    }
  }
  if (pending.trim() !== "") yield parseEvent(pending.trim(), path);
}

function parseEvent(line: string, path: string): WatchEvent {
  let event: WatchEvent;
  try {
    event = JSON.parse(line);
  } catch {
    throw new Error(`Cannot parse watch event from ${path}: ${line.slice(0, 120)}`);
  }
  if (typeof event?.type !== "string" || typeof event.object !== "object" || event.object === null) {
    throw new Error(`Cannot use watch event from ${path}: no type/object in ${line.slice(0, 120)}`);
  }
  return event;
}

async function request(conn: KubeConnection, path: string, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${conn.server}${path}`, {
      headers: { accept: "application/json", ...conn.headers },
      signal,
      client: conn.client,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error
      ? error.cause.message
      : String(error);
    throw new Error(`Cannot GET ${conn.server}${path}: ${cause}`);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    throw new KubeHttpError(
      response.status,
      `Cannot GET ${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
    );
  }
  return response;
}
