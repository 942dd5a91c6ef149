// Example Sluice transform in JavaScript: removes columns from both row
// images. Carries a minimal MessagePack codec (enough for Sluice events), so
// it needs no npm dependency inside the component.
//
// Settings: `columns` (required, comma-separated).
// Built by scripts/build-plugins with componentize-js (world
// `transform-plugin`), run by tests in host/src/plugin/tests/.

let drop = new Set();

export const lifecycle = {
  init(settings) {
    for (const [key, value] of settings) {
      if (key === "columns") {
        drop = new Set(value.split(",").map((s) => s.trim()).filter((s) => s));
      } else {
        throw `unknown setting \`${key}\` (known: columns)`;
      }
    }
    if (drop.size === 0) {
      throw "missing setting `columns`";
    }
  },
};

export const transform = {
  transform(batch) {
    const out = new Encoder();
    const events = batch.events.map((e, i) => {
      const bytes = batch.data.subarray(e.offset, e.offset + e.len);
      const event = new Decoder(bytes).value();
      for (const image of ["before", "after"]) {
        const row = event.get(image);
        if (row instanceof Map) {
          for (const c of drop) row.delete(c);
        }
      }
      const offset = out.len;
      out.value(event);
      return { source: i, op: e.op, offset, len: out.len - offset };
    });
    return { events, data: out.bytes() };
  },
};

// Maps decode as Map (keys in order), strings as string, bin as Uint8Array,
// ints as number (or BigInt beyond 2^53), ext as {ext, data}.
class Decoder {
  constructor(b) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.p = 0;
  }
  take(n) {
    const s = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return s;
  }
  u8() { return this.v.getUint8(this.p++); }
  u16() { const x = this.v.getUint16(this.p); this.p += 2; return x; }
  u32() { const x = this.v.getUint32(this.p); this.p += 4; return x; }
  str(n) { return new TextDecoder().decode(this.take(n)); }
  arr(n) { const a = []; for (let i = 0; i < n; i++) a.push(this.value()); return a; }
  map(n) { const m = new Map(); for (let i = 0; i < n; i++) { const k = this.value(); m.set(k, this.value()); } return m; }
  ext(n) { const t = this.v.getInt8(this.p++); return { ext: t, data: this.take(n) }; }
  big(x) { return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x; }
  value() {
    const m = this.u8();
    if (m <= 0x7f) return m;
    if (m >= 0xe0) return m - 0x100;
    if (m >= 0x80 && m <= 0x8f) return this.map(m & 0x0f);
    if (m >= 0x90 && m <= 0x9f) return this.arr(m & 0x0f);
    if (m >= 0xa0 && m <= 0xbf) return this.str(m & 0x1f);
    let x;
    switch (m) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.take(this.u8());
      case 0xc5: return this.take(this.u16());
      case 0xc6: return this.take(this.u32());
      case 0xc7: return this.ext(this.u8());
      case 0xc8: return this.ext(this.u16());
      case 0xc9: return this.ext(this.u32());
      case 0xca: x = this.v.getFloat32(this.p); this.p += 4; return x;
      case 0xcb: x = this.v.getFloat64(this.p); this.p += 8; return x;
      case 0xcc: return this.u8();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xcf: x = this.v.getBigUint64(this.p); this.p += 8; return this.big(x);
      case 0xd0: return this.v.getInt8(this.p++);
      case 0xd1: x = this.v.getInt16(this.p); this.p += 2; return x;
      case 0xd2: x = this.v.getInt32(this.p); this.p += 4; return x;
      case 0xd3: x = this.v.getBigInt64(this.p); this.p += 8; return this.big(x);
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xdc: return this.arr(this.u16());
      case 0xdd: return this.arr(this.u32());
      case 0xde: return this.map(this.u16());
      case 0xdf: return this.map(this.u32());
    }
    throw `invalid MessagePack marker ${m}`;
  }
}

class Encoder {
  constructor() {
    this.b = new Uint8Array(1024);
    this.v = new DataView(this.b.buffer);
    this.len = 0;
  }
  room(n) {
    if (this.len + n <= this.b.length) return;
    const b = new Uint8Array(Math.max(this.b.length * 2, this.len + n));
    b.set(this.b.subarray(0, this.len));
    this.b = b;
    this.v = new DataView(b.buffer);
  }
  u8(x) { this.room(1); this.v.setUint8(this.len++, x); }
  head(fix, max, m16, n) {
    if (n <= max) return this.u8(fix | n);
    this.room(5);
    if (n <= 0xffff) { this.v.setUint8(this.len, m16); this.v.setUint16(this.len + 1, n); this.len += 3; }
    else { this.v.setUint8(this.len, m16 + 1); this.v.setUint32(this.len + 1, n); this.len += 5; }
  }
  raw(bytes) { this.room(bytes.length); this.b.set(bytes, this.len); this.len += bytes.length; }
  value(x) {
    if (x === null || x === undefined) return this.u8(0xc0);
    if (x === false) return this.u8(0xc2);
    if (x === true) return this.u8(0xc3);
    if (typeof x === "bigint") {
      this.room(9);
      this.v.setUint8(this.len, x < 0n ? 0xd3 : 0xcf);
      if (x < 0n) this.v.setBigInt64(this.len + 1, x); else this.v.setBigUint64(this.len + 1, x);
      this.len += 9;
      return;
    }
    if (typeof x === "number") {
      this.room(9);
      if (Number.isInteger(x) && x >= 0 && x <= 0xffffffff) {
        if (x <= 0x7f) return this.u8(x);
        this.v.setUint8(this.len, 0xce); this.v.setUint32(this.len + 1, x); this.len += 5; return;
      }
      if (Number.isInteger(x) && x < 0 && x >= -0x80000000) {
        if (x >= -32) return this.u8(x & 0xff);
        this.v.setUint8(this.len, 0xd2); this.v.setInt32(this.len + 1, x); this.len += 5; return;
      }
      if (Number.isSafeInteger(x)) {
        this.v.setUint8(this.len, 0xd3); this.v.setBigInt64(this.len + 1, BigInt(x)); this.len += 9; return;
      }
      this.v.setUint8(this.len, 0xcb); this.v.setFloat64(this.len + 1, x); this.len += 9; return;
    }
    if (typeof x === "string") {
      const s = new TextEncoder().encode(x);
      if (s.length <= 31) this.u8(0xa0 | s.length);
      else if (s.length <= 0xff) { this.u8(0xd9); this.u8(s.length); }
      else this.head(0, -1, 0xda, s.length);
      return this.raw(s);
    }
    if (x instanceof Uint8Array) {
      if (x.length <= 0xff) { this.u8(0xc4); this.u8(x.length); }
      else this.head(0, -1, 0xc5, x.length);
      return this.raw(x);
    }
    if (Array.isArray(x)) {
      this.head(0x90, 15, 0xdc, x.length);
      for (const e of x) this.value(e);
      return;
    }
    if (x instanceof Map) {
      this.head(0x80, 15, 0xde, x.size);
      for (const [k, v] of x) { this.value(k); this.value(v); }
      return;
    }
    if (x.ext !== undefined && x.data instanceof Uint8Array) {
      this.u8(0xc9); this.room(5); this.v.setUint32(this.len, x.data.length); this.len += 4;
      this.room(1); this.v.setInt8(this.len++, x.ext);
      return this.raw(x.data);
    }
    throw `cannot encode ${typeof x}`;
  }
  bytes() { return this.b.slice(0, this.len); }
}
