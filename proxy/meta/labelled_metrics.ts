/**
 * Prometheus counters and histograms with a fixed label set (Istio's standard metrics need labels, which
 * the dotted Envoy-style stats in `proxy/stats.ts` do not have). Rendered in the text exposition format.
 *
 * @module
 */

/** Envoy's default histogram bucket bounds. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.5,
  1,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
  30000,
  60000,
  300000,
  600000,
  1800000,
  3600000,
];

interface Series {
  labels: readonly string[];
  value: number;
  buckets?: number[];
  sum?: number;
}

interface Family {
  kind: "counter" | "histogram";
  series: Map<string, Series>;
}

/** A set of metric families sharing one label-name list. */
export class LabelledMetrics {
  readonly labelNames: readonly string[];
  #families = new Map<string, Family>();

  constructor(labelNames: readonly string[]) {
    this.labelNames = labelNames;
  }

  /** Declares a counter family. */
  counter(name: string): void {
    if (!this.#families.has(name)) this.#families.set(name, { kind: "counter", series: new Map() });
  }

  /** Declares a histogram family (default buckets). */
  histogram(name: string): void {
    if (!this.#families.has(name)) this.#families.set(name, { kind: "histogram", series: new Map() });
  }

  #series(name: string, labels: readonly string[]): Series {
    const f = this.#families.get(name);
    if (!f) throw new TypeError(`Cannot record metric ${name}: it is not declared`);
    const key = labels.join("\u0000");
    let s = f.series.get(key);
    if (!s) {
      s = f.kind === "histogram"
        ? { labels, value: 0, buckets: new Array(DEFAULT_BUCKETS.length).fill(0), sum: 0 }
        : { labels, value: 0 };
      f.series.set(key, s);
    }
    return s;
  }

  /** Adds `n` to a counter series. */
  inc(name: string, labels: readonly string[], n = 1): void {
    this.#series(name, labels).value += n;
  }

  /** Records one observation in a histogram series. */
  observe(name: string, labels: readonly string[], v: number): void {
    const s = this.#series(name, labels);
    s.value++;
    s.sum! += v;
    for (let i = 0; i < DEFAULT_BUCKETS.length; i++) if (v <= DEFAULT_BUCKETS[i]) s.buckets![i]++;
  }

  /** The value of a counter series, or a histogram's count (0 when unseen). */
  get(name: string, labels: readonly string[]): number {
    return this.#families.get(name)?.series.get(labels.join("\u0000"))?.value ?? 0;
  }

  /** Prometheus text exposition of every family that has series. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      if (f.series.size === 0) continue;
      out.push(`# TYPE ${name} ${f.kind}`);
      for (const s of f.series.values()) {
        const l = this.#labelText(s.labels);
        if (f.kind === "counter") {
          out.push(`${name}{${l}} ${s.value}`);
          continue;
        }
        DEFAULT_BUCKETS.forEach((b, i) => out.push(`${name}_bucket{${l},le="${b}"} ${s.buckets![i]}`));
        out.push(`${name}_bucket{${l},le="+Inf"} ${s.value}`);
        out.push(`${name}_sum{${l}} ${s.sum}`, `${name}_count{${l}} ${s.value}`);
      }
    }
    return out.length ? out.join("\n") + "\n" : "";
  }

  #labelText(values: readonly string[]): string {
    return this.labelNames.map((n, i) => `${n}="${escape(values[i] ?? "")}"`).join(",");
  }
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
