/**
 * Envoy `FileAccessLog` for MetaProtocol requests: the format is compiled once into a list of parts;
 * lines are buffered and written once per tick. One line per finished request.
 *
 * Operators: %START_TIME%, %REQ(X)%, %RESP(X)% (metadata, case-insensitive), %RESPONSE_CODE% (0 ok / 1
 * error), %RESPONSE_CODE_DETAILS%, %CONNECTION_TERMINATION_DETAILS%, %UPSTREAM_TRANSPORT_FAILURE_REASON%,
 * %BYTES_RECEIVED%, %BYTES_SENT%, %DURATION%, %UPSTREAM_CLUSTER%, %UPSTREAM_HOST%,
 * %UPSTREAM_LOCAL_ADDRESS%, %DOWNSTREAM_LOCAL_ADDRESS%, %DOWNSTREAM_REMOTE_ADDRESS%, %ROUTE_NAME%;
 * anything else renders "-", as does a missing value.
 *
 * @module
 */
import { at, type ConfigPath, fail, type Obj, obj, str } from "./config_util.ts";

/** The facts one log line is rendered from. */
export interface LogEntry {
  startMs: number;
  headers: ReadonlyMap<string, string>;
  respHeaders?: ReadonlyMap<string, string>;
  /** 0 ok, 1 error, undefined when no response. */
  responseCode?: number;
  details?: string;
  termination?: string;
  transportFailure?: string;
  /** MetaProtocol semantics (inverted vs HTTP): BYTES_RECEIVED = response size, BYTES_SENT = request size. */
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamCluster?: string;
  upstreamHost?: string;
  upstreamLocal?: string;
  downstreamLocal?: string;
  downstreamRemote?: string;
  routeName?: string;
}

/** The type URL of Envoy's file access logger config. */
export const FILE_ACCESS_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

const DEFAULT_FORMAT =
  '[%START_TIME%] %REQ(X-META-PROTOCOL-APPLICATION-PROTOCOL)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%  "%REQ(X-FORWARDED-FOR)%" "%REQ(X-REQUEST-ID)%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %ROUTE_NAME%\n';

type Part = string | ((e: LogEntry) => string);

function dash(v: string | number | undefined): string {
  return v === undefined || v === "" ? "-" : String(v);
}

function operator(name: string, arg: string | undefined): (e: LogEntry) => string {
  switch (name) {
    case "START_TIME":
      return (e) => new Date(e.startMs).toISOString();
    case "REQ": {
      const key = (arg ?? "").split("?")[0].toLowerCase();
      return (e) => dash(e.headers.get(key));
    }
    case "RESP": {
      const key = (arg ?? "").split("?")[0].toLowerCase();
      return (e) => dash(e.respHeaders?.get(key));
    }
    case "RESPONSE_CODE":
      return (e) => dash(e.responseCode);
    case "RESPONSE_CODE_DETAILS":
      return (e) => dash(e.details);
    case "CONNECTION_TERMINATION_DETAILS":
      return (e) => dash(e.termination);
    case "UPSTREAM_TRANSPORT_FAILURE_REASON":
      return (e) => dash(e.transportFailure);
    case "BYTES_RECEIVED":
      return (e) => String(e.bytesReceived);
    case "BYTES_SENT":
      return (e) => String(e.bytesSent);
    case "DURATION":
      return (e) => String(Math.round(e.durationMs));
    case "UPSTREAM_CLUSTER":
      return (e) => dash(e.upstreamCluster);
    case "UPSTREAM_HOST":
      return (e) => dash(e.upstreamHost);
    case "UPSTREAM_LOCAL_ADDRESS":
      return (e) => dash(e.upstreamLocal);
    case "DOWNSTREAM_LOCAL_ADDRESS":
      return (e) => dash(e.downstreamLocal);
    case "DOWNSTREAM_REMOTE_ADDRESS":
      return (e) => dash(e.downstreamRemote);
    case "ROUTE_NAME":
      return (e) => dash(e.routeName);
    default:
      return () => "-";
  }
}

/**
 * Compiles an Envoy text format string into a renderer. The lower-cased keys of its `%REQ(X)%` operators
 * are added to `requestKeys` when given (the router generates `x-request-id` only when something reads it).
 */
export function compileFormat(format: string, requestKeys?: Set<string>): (e: LogEntry) => string {
  const parts: Part[] = [];
  const re = /%([A-Z_]+)(?:\(([^)]*)\))?(?::\d+)?%/g;
  let last = 0;
  for (const m of format.matchAll(re)) {
    if (m.index! > last) parts.push(format.slice(last, m.index));
    if (m[1] === "REQ") requestKeys?.add((m[2] ?? "").split("?")[0].toLowerCase());
    parts.push(operator(m[1], m[2]));
    last = m.index! + m[0].length;
  }
  if (last < format.length) parts.push(format.slice(last));
  return (e) => {
    let s = "";
    for (const p of parts) s += typeof p === "string" ? p : p(e);
    return s;
  };
}

/** Where lines go: a file (or /dev/stdout, /dev/stderr), written once per tick. */
export class LogSink {
  #path: string;
  #lines: string[] = [];
  #scheduled: ReturnType<typeof setTimeout> | undefined;
  #file: Deno.FsFile | undefined;
  #writing: Promise<void> = Promise.resolve();
  #enc = new TextEncoder();

  constructor(path: string) {
    this.#path = path;
  }

  /** Queues one line (including its newline). */
  write(line: string): void {
    this.#lines.push(line);
    if (this.#scheduled === undefined) this.#scheduled = setTimeout(() => this.#flush(), 0);
  }

  /** Writes everything queued and waits for it. */
  async flush(): Promise<void> {
    if (this.#scheduled !== undefined) this.#flush();
    await this.#writing;
  }

  /** Flushes and closes the file (stdout/stderr stay open). */
  async close(): Promise<void> {
    await this.flush();
    this.#file?.close();
    this.#file = undefined;
  }

  #flush(): void {
    clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#lines.length === 0) return;
    const data = this.#enc.encode(this.#lines.join(""));
    this.#lines = [];
    this.#writing = this.#writing.then(() => this.#write(data)).catch((error) => {
      console.error(`Cannot write access log ${this.#path}: ${error}`);
    });
  }

  async #write(data: Uint8Array): Promise<void> {
    const out = this.#path === "/dev/stdout"
      ? Deno.stdout
      : this.#path === "/dev/stderr"
      ? Deno.stderr
      : (this.#file ??= await Deno.open(this.#path, { append: true, create: true, write: true }));
    let off = 0;
    while (off < data.length) off += await out.write(data.subarray(off));
  }
}

/** A compiled access logger: renders and queues one line per entry. */
export interface AccessLogger {
  log(e: LogEntry): void;
  /** Lower-cased request metadata keys its format reads (`%REQ(X)%`). */
  readonly requestKeys: ReadonlySet<string>;
}

/**
 * Compiles one `envoy.config.accesslog.v3.AccessLog` (only the file logger is supported). Sinks are shared
 * per path through `sinks`.
 */
export function compileAccessLog(cfg: Obj, p: ConfigPath, sinks: Map<string, LogSink>): AccessLogger {
  const tc = obj(cfg.typed_config, at(p, "typed_config"));
  const type = tc["@type"];
  if (type !== FILE_ACCESS_LOG && cfg.name !== "envoy.access_loggers.file") {
    fail(
      at(p, "typed_config"),
      `unsupported access logger ${JSON.stringify(type ?? cfg.name)}: only FileAccessLog`,
    );
  }
  const path = str(tc.path, at(at(p, "typed_config"), "path"));
  if (!path) fail(at(at(p, "typed_config"), "path"), "a file access log needs a path");
  let sink = sinks.get(path);
  if (!sink) sinks.set(path, sink = new LogSink(path));
  const s = sink;
  const lf = obj(tc.log_format, at(p, "typed_config.log_format"));
  const requestKeys = new Set<string>();
  if (lf.json_format !== undefined) {
    const fields = Object.entries(obj(lf.json_format, at(p, "typed_config.log_format.json_format"))).map(
      ([k, v]) => [k, compileFormat(String(v), requestKeys)] as const,
    );
    return {
      requestKeys,
      log(e) {
        const o: Record<string, string> = {};
        for (const [k, f] of fields) o[k] = f(e);
        s.write(JSON.stringify(o) + "\n");
      },
    };
  }
  const src = obj(lf.text_format_source, at(p, "typed_config.log_format.text_format_source"));
  let format = typeof src.inline_string === "string"
    ? src.inline_string
    : typeof lf.text_format === "string"
    ? lf.text_format
    : typeof tc.format === "string"
    ? tc.format
    : DEFAULT_FORMAT;
  if (!format.endsWith("\n")) format += "\n";
  const render = compileFormat(format, requestKeys);
  return { requestKeys, log: (e) => s.write(render(e)) };
}
