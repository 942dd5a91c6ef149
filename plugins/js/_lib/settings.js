// Plugin settings as the Rust SDK reads them (plugin-sdk/src/event.rs,
// `Settings`), so the JavaScript plugins accept, and reject with the same
// messages, what the Rust ones do. Errors are thrown as strings: the
// component returns them as `err(message)`.

// Rust's `str::trim`: Unicode White_Space (JavaScript's `trim` differs: it
// strips U+FEFF and keeps U+0085).
const EDGES = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export class Settings {
  constructor(pairs) {
    this.pairs = pairs;
  }

  /** The value of the first `key`, or undefined. */
  get(key) {
    const found = this.pairs.find(([k]) => k === key);
    return found === undefined ? undefined : found[1];
  }

  require(key) {
    const v = this.get(key);
    if (v === undefined) throw `missing setting \`${key}\``;
    return v;
  }

  /** A comma-separated list, trimmed, empty items removed. */
  list(key) {
    const v = this.get(key);
    if (v === undefined) return [];
    return v.split(",").map((s) => s.replace(EDGES, "")).filter((s) => s);
  }

  /** Rejects keys not in `known`: a typo should not pass silently. */
  only(...known) {
    for (const [k] of this.pairs) {
      if (!known.includes(k)) throw `unknown setting \`${k}\` (known: ${known.join(", ")})`;
    }
  }
}
