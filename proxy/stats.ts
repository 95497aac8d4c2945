/**
 * Counters and gauges, Envoy-style dotted names. Callers resolve a stat object once (at config time) and
 * bump its `value` on the hot path; rendering happens only when the admin endpoint asks.
 *
 * @module
 */

/** A monotonically increasing count. */
export class Counter {
  /** Current value; increment directly on hot paths. */
  value = 0;
  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.value += n;
  }
}

/** A value that goes up and down. */
export class Gauge {
  /** Current value. */
  value = 0;
  /** Adds `n`. */
  inc(n = 1): void {
    this.value += n;
  }
  /** Subtracts `n`. */
  dec(n = 1): void {
    this.value -= n;
  }
}

/** The process-wide stat store. */
export class Stats {
  #counters = new Map<string, Counter>();
  #gauges = new Map<string, Gauge>();
  #exporters: (() => string)[] = [];

  /** The counter named `name`, created at 0 on first use. */
  counter(name: string): Counter {
    let c = this.#counters.get(name);
    if (!c) this.#counters.set(name, c = new Counter());
    return c;
  }

  /** The gauge named `name`, created at 0 on first use. */
  gauge(name: string): Gauge {
    let g = this.#gauges.get(name);
    if (!g) this.#gauges.set(name, g = new Gauge());
    return g;
  }

  /** Current value of a counter or gauge (0 when unknown). */
  get(name: string): number {
    return this.#counters.get(name)?.value ?? this.#gauges.get(name)?.value ?? 0;
  }

  /** All stats as sorted `[name, value, kind]` rows. */
  rows(): [string, number, "counter" | "gauge"][] {
    const out: [string, number, "counter" | "gauge"][] = [];
    for (const [n, c] of this.#counters) out.push([n, c.value, "counter"]);
    for (const [n, g] of this.#gauges) out.push([n, g.value, "gauge"]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Envoy's `/stats` text: one `name: value` per line. */
  text(): string {
    return this.rows().map(([n, v]) => `${n}: ${v}\n`).join("");
  }

  /** Prometheus exposition: names sanitised to `[a-zA-Z0-9_]`, prefixed `envoy_` like Envoy. */
  prometheus(): string {
    const lines: string[] = [];
    for (const [n, v, kind] of this.rows()) {
      const name = "envoy_" + n.replace(/[^a-zA-Z0-9_]/g, "_");
      lines.push(`# TYPE ${name} ${kind}`, `${name} ${v}`);
    }
    let out = lines.join("\n") + "\n";
    for (const e of this.#exporters) out += e();
    return out;
  }

  /** Adds labelled metrics rendered by `render` (full Prometheus text) to {@linkcode Stats.prometheus}. */
  addPrometheusExporter(render: () => string): void {
    this.#exporters.push(render);
  }
}
