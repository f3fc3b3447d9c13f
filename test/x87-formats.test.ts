// x87 number formats and arithmetic core: conversions of fpu/float80.ts against hand-computed 80-bit
// encodings, and FADD/FSUB/FMUL/FDIV/FSQRT of fpu/x87.ts against an independent exact reference
// (BigInt rationals rounded by hand). CPU-level instruction tests are in x87.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X87 } from '../machine/cpu/fpu/x87.js';
import {
  R, bcdToX80, f64ToX80, magToBcd, x80ToF64, x80ToIeee, x80ToIntMag, i64ToX80,
} from '../machine/cpu/fpu/float80.js';

// FSW bits (SDM Vol1 Figure 8-4)
const IE = 1, OE = 8, UE = 16, PE = 32;

// ------------------------------------------------------------------ formats
test('double → 80-bit encodings (hand-computed)', () => {
  const cases: [number, number, number, number][] = [
    [1.0, 0x3fff, 0x80000000, 0],
    [-2.5, 0xc000, 0xa0000000, 0], // 1.01b × 2^1
    [Math.PI, 0x4000, 0xc90fdaa2, 0x2168c000], // double pi 400921FB54442D18, fraction shifted left 11
    [0, 0x0000, 0, 0],
    [-0, 0x8000, 0, 0],
    [Infinity, 0x7fff, 0x80000000, 0],
    [5e-324, 0x3fff - 1074, 0x80000000, 0], // 2^-1074, the smallest double denormal, is normal in 80 bits
    [2.2250738585072014e-308, 0x3fff - 1022, 0x80000000, 0],
    [3 * 2 ** -1074, 0x3fff - 1073, 0xc0000000, 0],
  ];
  for (const [v, se, hi, lo] of cases) {
    f64ToX80(v);
    assert.deepEqual([R.se, R.hi >>> 0, R.lo >>> 0], [se, hi, lo], `f64ToX80(${v})`);
    assert.ok(Object.is(x80ToF64(lo, hi | 0, se), v), `x80ToF64 back to ${v}`);
  }
  f64ToX80(NaN);
  assert.deepEqual([R.se & 0x7fff, R.hi >>> 0], [0x7fff, 0xc0000000], 'a QNaN stays quiet');
});

test('80-bit → double/single rounding in the four modes', () => {
  const one = 0x3fff, J = 0x80000000 | 0;
  // 1 + 2^-63: inexact in double; nearest and down give 1, up gives 1 + 2^-52.
  x80ToIeee(1, J, one, true, 0);
  assert.deepEqual([R.hi >>> 0, R.lo, R.flags, R.up], [0x3ff00000, 0, PE, false]);
  x80ToIeee(1, J, one, true, 2);
  assert.deepEqual([R.hi >>> 0, R.lo, R.flags, R.up], [0x3ff00000, 1, PE, true]);
  x80ToIeee(1, J, one | 0x8000, true, 1); // −(1 + 2^-63) rounded down: −(1 + 2^-52)
  assert.deepEqual([R.hi >>> 0, R.lo], [0xbff00000, 1]);
  // 1 + 2^-24 to single: a tie, nearest-even gives 1.0; up gives 1 + 2^-23.
  x80ToIeee(0, (J | 0x00000080) | 0, one, false, 0);
  assert.equal(R.lo >>> 0, 0x3f800000);
  x80ToIeee(0, (J | 0x00000080) | 0, one, false, 2);
  assert.equal(R.lo >>> 0, 0x3f800001);
  // 1 + 2^-24 + 2^-40: above the tie, nearest rounds up.
  x80ToIeee(0x00800000, (J | 0x00000080) | 0, one, false, 0);
  assert.equal(R.lo >>> 0, 0x3f800001);
  // 2^1024 overflows double: nearest → ∞, chop → the largest finite, OE and PE.
  x80ToIeee(0, J, 0x3fff + 1024, true, 0);
  assert.deepEqual([R.hi >>> 0, R.lo, R.flags & (OE | PE)], [0x7ff00000, 0, OE | PE]);
  x80ToIeee(0, J, 0x3fff + 1024, true, 3);
  assert.deepEqual([R.hi >>> 0, R.lo >>> 0], [0x7fefffff, 0xffffffff]);
  // 1.5 · 2^-1074: ties to even → 2 · 2^-1074; tiny and inexact → UE.
  x80ToIeee(0, 0xc0000000 | 0, 0x3fff - 1074, true, 0);
  assert.deepEqual([R.hi, R.lo, R.flags & (UE | PE), R.tiny], [0, 2, UE | PE, true]);
  // An SNaN becomes a QNaN with IE; an unnormal (J = 0) is unsupported → indefinite with IE.
  x80ToIeee(0, (J | 0x20000000) | 0, 0x7fff, true, 0);
  assert.deepEqual([R.hi >>> 0, R.lo, R.flags], [0x7ffc0000, 0, IE]);
  x80ToIeee(0, 0x40000000, 0x3fff, false, 0);
  assert.deepEqual([R.lo >>> 0, R.flags], [0xffc00000, IE]);
});

test('integers and packed BCD', () => {
  i64ToX80(-1, -1); // −1
  assert.deepEqual([R.se, R.hi >>> 0, R.lo], [0xbfff, 0x80000000, 0]);
  i64ToX80(0x80000000 | 0, 0); // −2^63
  assert.deepEqual([R.se, R.hi >>> 0, R.lo], [0xc03e, 0x80000000, 0]);
  i64ToX80(0x7fffffff, -1); // 2^63 − 1: 63 ones, normalised
  assert.deepEqual([R.se, R.hi >>> 0, R.lo >>> 0], [0x403d, 0xffffffff, 0xfffffffe]);
  // 2.5 → 2 (nearest even), 3 (up), 2 (chop); −2.5 → 3 by magnitude when rounding down.
  x80ToIntMag(0, 0xa0000000 | 0, 0x4000, 0); assert.deepEqual([R.lo, R.flags, R.up], [2, PE, false]);
  x80ToIntMag(0, 0xa0000000 | 0, 0x4000, 2); assert.deepEqual([R.lo, R.up], [3, true]);
  x80ToIntMag(0, 0xa0000000 | 0, 0xc000, 1); assert.deepEqual([R.lo, R.up], [3, true]);
  x80ToIntMag(0, 0xa0000000 | 0, 0x4000, 3); assert.equal(R.lo, 2);
  // BCD 123456789012345678 (bytes least significant first), sign byte 80h: negative.
  const b = Uint8Array.from([0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80]);
  bcdToX80(b);
  // 123456789012345678 = 01B69B4BA630F34Eh (57 bits); normalised: DB4DA5D31879A700h, exponent 56.
  assert.deepEqual([R.se, R.hi >>> 0, R.lo >>> 0], [0x8000 | (0x3fff + 56), 0xdb4da5d3, 0x1879a700]);
  const out = new Uint8Array(10);
  magToBcd(0x01b69b4b, 0xa630f34e | 0, true, out);
  assert.deepEqual(Array.from(out), Array.from(b));
});

// ------------------------------------------------------------------ exact reference for arithmetic
// An independent reference: doubles as exact rationals (BigInt), the exact result of + − × ÷ √,
// rounded by hand to a p-bit significand (53, or 24 for PC = single, keeping the double exponent
// range as documented in fpu/x87.ts) in each rounding mode. Compared bit for bit, with PE.
type Q = { n: bigint; d: bigint }; // value n / d, d > 0
function toQ(v: number): Q {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  const hi = dv.getUint32(0), lo = dv.getUint32(4);
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e !== 0) m |= 1n << 52n;
  const ex = (e === 0 ? 1 : e) - 1075;
  if (hi >>> 31) m = -m;
  return ex >= 0 ? { n: m << BigInt(ex), d: 1n } : { n: m, d: 1n << BigInt(-ex) };
}
function bitlen(x: bigint): number { return x === 0n ? 0 : x.toString(2).length; }
/** Round |q| (nonzero) with sign to a p-bit double-range value by mode; returns [value, inexact]. */
function roundQ(q: Q, neg: boolean, mode: number, p: number): [number, boolean] {
  const n = q.n < 0n ? -q.n : q.n, d = q.d;
  let e = bitlen(n) - bitlen(d);
  if (e >= 0 ? n < d << BigInt(e) : n << BigInt(-e) < d) e--;
  const qe = p === 53 ? Math.max(e, -1022) - 52 : Math.max(e - 23, -1074);
  const num = qe < 0 ? n << BigInt(-qe) : n, den = qe < 0 ? d : d << BigInt(qe);
  let fl = num / den;
  const rem = num - fl * den;
  const inexact = rem !== 0n;
  if (inexact) {
    if (mode === 0) { if (2n * rem > den || (2n * rem === den && (fl & 1n) === 1n)) fl++; }
    else if (mode === 1 ? neg : mode === 2 ? !neg : false) fl++;
  }
  let v = Number(fl) * 2 ** qe;
  if (v > (p === 53 ? 1.7976931348623157e308 : 1.7976930277114552e308)) {
    const toInf = mode === 0 || (mode === 2 && !neg) || (mode === 1 && neg);
    v = toInf ? Infinity : p === 53 ? 1.7976931348623157e308 : 1.7976930277114552e308;
    return [neg ? -v : v, true];
  }
  return [neg ? -v : v, inexact];
}
function cmpQ(a: Q, b: Q): number { const l = a.n * b.d, r = b.n * a.d; return l < r ? -1 : l > r ? 1 : 0; }

test('FADD/FSUB/FMUL/FDIV/FSQRT match an exact rational reference in all RC modes, PC = double and single', () => {
  const f = new X87();
  f.reset();
  let seed = 0x2545f491;
  const rnd = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296; };
  const dbl = (): number => {
    const k = rnd();
    if (k < 0.08) return [1, 3, 0.1, 1e-310, 5e-324, 1.7976931348623157e308, 2 ** -1022, 2 ** 1023][Math.floor(rnd() * 8)] * (rnd() < 0.5 ? -1 : 1);
    const m = 1 + Math.floor(rnd() * 2 ** 26) / 2 ** 26 + Math.floor(rnd() * 2 ** 26) / 2 ** 52;
    const e = rnd() < 0.8 ? Math.floor(rnd() * 120) - 60 : Math.floor(rnd() * 2040) - 1070;
    return m * 2 ** Math.max(e, -1074 + 53) * (rnd() < 0.5 ? -1 : 1) * (e < -1021 ? 2 ** (e + 1021) : 1);
  };
  let bad = 0, n = 0;
  const fails: string[] = [];
  for (let k = 0; k < 3000; k++) {
    const op = ['add', 'sub', 'mul', 'div', 'sqrt'][Math.floor(rnd() * 5)];
    const mode = Math.floor(rnd() * 4), p = k % 2 === 0 ? 53 : 24;
    let x = dbl();
    const y = dbl();
    let want: number, inexact: boolean;
    if (op === 'sqrt') {
      if (p === 24) continue;
      x = Math.abs(x);
      if (x === 0) continue;
      const qx = toQ(x);
      let lo = Math.sqrt(x);
      const sq = (v: number): Q => { const a = toQ(v); return { n: a.n * a.n, d: a.d * a.d }; };
      const next = (v: number): number => { const dv = new DataView(new ArrayBuffer(8)); dv.setFloat64(0, v); dv.setBigUint64(0, dv.getBigUint64(0) + 1n); return dv.getFloat64(0); };
      const prev = (v: number): number => { const dv = new DataView(new ArrayBuffer(8)); dv.setFloat64(0, v); dv.setBigUint64(0, dv.getBigUint64(0) - 1n); return dv.getFloat64(0); };
      while (cmpQ(sq(lo), qx) > 0) lo = prev(lo);
      while (cmpQ(sq(next(lo)), qx) <= 0) lo = next(lo);
      inexact = cmpQ(sq(lo), qx) !== 0;
      const hi = inexact ? next(lo) : lo;
      if (!inexact || mode === 1 || mode === 3) want = lo;
      else if (mode === 2) want = hi;
      else {
        const a = toQ(lo), b = toQ(hi);
        const mid: Q = { n: a.n * b.d + b.n * a.d, d: 2n * a.d * b.d };
        const c = cmpQ({ n: mid.n * mid.n, d: mid.d * mid.d }, qx);
        want = c < 0 ? hi : c > 0 ? lo : (toQ(lo).n & 1n) === 0n ? lo : hi;
      }
    } else {
      const a = toQ(x), b = toQ(y);
      if (op === 'div' && b.n === 0n) continue;
      const r: Q = op === 'add' ? { n: a.n * b.d + b.n * a.d, d: a.d * b.d }
        : op === 'sub' ? { n: a.n * b.d - b.n * a.d, d: a.d * b.d }
        : op === 'mul' ? { n: a.n * b.n, d: a.d * b.d }
        : { n: a.n * b.d * (b.n < 0n ? -1n : 1n), d: a.d * (b.n < 0n ? -b.n : b.n) };
      if (r.n === 0n) continue; // signed zeros are covered by the CPU-level tests
      [want, inexact] = roundQ(r, r.n < 0n, mode, p);
    }
    f.cw = (p === 24 ? 0x007f : 0x037f) | (mode << 10);
    f.sw = 0;
    f.setD(0, x); f.setD(1, y);
    if (op === 'sqrt') f.sqrt(0); else f.arith({ add: 0, sub: 4, mul: 1, div: 6 }[op]!, 0, 0, 1);
    n++;
    const got = f.d[0], pe = (f.sw & PE) !== 0;
    if (!Object.is(got, want) || pe !== inexact) { bad++; if (fails.length < 5) fails.push(`${op} pc${p} rc${mode} ${x} ${y}: got ${got} pe ${pe}, want ${want} pe ${inexact}`); }
  }
  assert.ok(n > 2500, `ran ${n} cases`);
  assert.equal(bad, 0, fails.join('\n'));
});
