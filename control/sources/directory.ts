/**
 * The directory configuration source (`--config-dir DIR`): every `.yaml`/`.yml`/`.json` file below DIR, each a
 * stream of YAML documents (`---`), `List` kinds expanded. Each file is its own store source (`dir:<path>`), so
 * a file's resources appear, change and disappear with it. Hot reload through `Deno.watchFs`, debounced.
 *
 * A file that does not parse (half written, a typo) keeps its last good documents and records the error; an
 * invalid document keeps that resource's last good version. Documents of kinds metamesh does not read are
 * skipped and listed by {@link DirectorySource.skipped}.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Resource } from "../../crds/resources/mod.ts";
import { expandList, validateResource } from "../../crds/validate.ts";
import { parseSimpleYamlStream } from "./fast_yaml.ts";
import type { ResourceStore, SourceError } from "./store.ts";

/** Options of {@link startDirectorySource}. */
export interface DirectorySourceOptions {
  /**
   * Quiet time after the last file event before re-reading (ms); default 20 (an editor's write-rename burst;
   * a half-written file keeps its last good config anyway).
   */
  readonly debounceMs?: number;
  /** Watch for changes; default true (false: read once). */
  readonly watch?: boolean;
  /** Namespace of namespaced documents without one; default `"default"`. */
  readonly defaultNamespace?: string;
}

/** A document that was not loaded because its kind is not one metamesh reads. */
export interface SkippedDocument {
  readonly origin: string;
  readonly reason: string;
}

/** A running directory source. */
export interface DirectorySource {
  /** Re-reads the directory now (also what a file event triggers after the debounce). */
  reload(): Promise<void>;
  /** Documents skipped during the last read, with the reason. */
  skipped(): SkippedDocument[];
  /** Stops watching; resolves once the watcher is closed. Resources stay in the store. */
  close(): Promise<void>;
}

const CONFIG_FILE = /\.(ya?ml|json)$/;

/**
 * Reads `dir` into `store` and, unless `watch: false`, keeps it in sync. Resolves after the first full read.
 * Throws if `dir` cannot be read.
 */
export async function startDirectorySource(
  dir: string,
  store: ResourceStore,
  options: DirectorySourceOptions = {},
): Promise<DirectorySource> {
  const source = new DirectoryWatcher(dir, store, options);
  await source.reload();
  if (options.watch ?? true) source.watch();
  return source;
}

class DirectoryWatcher implements DirectorySource {
  #dir: string;
  #store: ResourceStore;
  #options: DirectorySourceOptions;
  /** Hash of the last text read per file, to skip unchanged files (the text itself is not kept). */
  #texts = new Map<string, string>();
  /** Files named by modify/create events since the last read; `undefined` after any other event: read all. */
  #pending: Set<string> | undefined = new Set();
  #skipped = new Map<string, SkippedDocument[]>();
  #watcher?: Deno.FsWatcher;
  #loop?: Promise<void>;
  #timer?: ReturnType<typeof setTimeout>;
  #running?: Promise<void>;
  #again = false;

  constructor(dir: string, store: ResourceStore, options: DirectorySourceOptions) {
    this.#dir = dir;
    this.#store = store;
    this.#options = options;
  }

  skipped(): SkippedDocument[] {
    return [...this.#skipped.values()].flat();
  }

  watch(): void {
    this.#watcher = Deno.watchFs(this.#dir, { recursive: true });
    this.#loop = (async () => {
      for await (const event of this.#watcher!) {
        const files = event.kind === "modify" || event.kind === "create"
          ? event.paths.filter((p) => CONFIG_FILE.test(p) && !basename(p).startsWith("."))
          : [];
        if (files.length === event.paths.length && this.#pending) {
          for (const f of files) this.#pending.add(f);
        } else this.#pending = undefined;
        this.#schedule();
      }
    })().catch((error) => console.error(`Cannot watch config directory ${this.#dir}: ${error}`));
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.#watcher?.close();
    } catch {
      // Already closed.
    }
    await this.#loop;
    await this.#running;
  }

  /** Serialises reads: an event during a read schedules exactly one more read after it. */
  reload(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          const only = this.#pending;
          this.#pending = new Set();
          // Only the files events named, when they are all known files (a new file needs the full listing).
          if (only?.size && [...only].every((p) => this.#texts.has(p))) await this.#readFiles([...only]);
          else await this.#readAll();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.reload().catch((error) => console.error(`${error}`));
    }, this.#options.debounceMs ?? 20);
  }

  async #readAll(): Promise<void> {
    const files = await listFiles(this.#dir);
    const listed = new Set(files);
    for (const gone of [...this.#texts.keys()].filter((path) => !listed.has(path))) {
      this.#texts.delete(gone);
      this.#skipped.delete(gone);
      this.#store.removeSource(sourceName(gone));
    }
    await this.#readFiles(files);
  }

  async #readFiles(files: readonly string[]): Promise<void> {
    for (const path of files) {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // deleted meanwhile; the next event removes it
        throw error;
      }
      const digest = createHash("sha1").update(text).digest("base64");
      if (this.#texts.get(path) === digest) continue;
      this.#texts.set(path, digest);
      this.#loadFile(path, text);
    }
  }

  #loadFile(path: string, text: string): void {
    const source = sourceName(path);
    const simple = parseSimpleYamlStream(text);
    const docs = simple ? [] : parseAllDocuments(text);
    const broken = docs.findIndex((doc) => doc.errors.length > 0);
    if (broken >= 0) {
      // Probably half written: keep every document the file had before.
      const reason = docs[broken].errors[0].message.split("\n")[0];
      this.#store.reportError(source, {
        origin: `${path}#${broken}`,
        message: `Cannot parse ${path}#${broken}: ${reason}; keeping the file's last good config`,
      });
      return;
    }
    const resources: Resource[] = [];
    const errors: SourceError[] = [];
    const skipped: SkippedDocument[] = [];
    const interned = new Map<string, string>();
    (simple ?? docs.map((doc) => doc.toJS())).forEach((parsed, index) => {
      const value = compactStrings(parsed, interned);
      const origin = `${path}#${index}`;
      for (const obj of expandList(value)) {
        const result = validateResource(obj, origin, { defaultNamespace: this.#options.defaultNamespace });
        if (result.ok) resources.push(result.resource);
        else if (result.skipped) {
          if (obj !== null && obj !== undefined) skipped.push({ origin, reason: result.reason });
        } else errors.push({ origin, key: result.key, message: result.error });
      }
    });
    this.#skipped.set(path, skipped);
    this.#store.replaceSource(source, resources, errors);
  }
}

/**
 * The parsed value with every string a flat copy, one per distinct value of the file. Parsers hand out
 * substrings of the file's text, and a long substring keeps the whole text alive (V8 sliced strings) for as
 * long as the resource lives; and labels such as `version: v1` repeat thousands of times.
 */
function compactStrings(value: unknown, interned: Map<string, string>): unknown {
  if (typeof value === "string") {
    let flat = interned.get(value);
    if (flat === undefined) {
      flat = value.length < 13 ? value : JSON.parse(JSON.stringify(value)) as string; // 13: V8's shortest slice
      interned.set(flat, flat);
    }
    return flat;
  }
  if (Array.isArray(value)) return value.map((v) => compactStrings(v, interned));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = compactStrings(v, interned);
  return out;
}

function sourceName(path: string): string {
  return `dir:${path}`;
}

/** Config files below `dir`, recursively, sorted; hidden files and folders are ignored (editor swap files…). */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && out.length === 0) {
      throw new Error(`Cannot read config directory ${dir}: not found`);
    }
    throw error;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await listFiles(path).catch(() => []));
    else if (entry.isFile && CONFIG_FILE.test(entry.name)) out.push(path);
  }
  return out.sort();
}
