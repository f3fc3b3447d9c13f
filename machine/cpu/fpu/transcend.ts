// x87 instructions computed with JS Math (SDM Vol2: FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X
// FYL2XP1 FSCALE FXTRACT FPREM FPREM1). Operands and results are doubles (see x87.ts); the
// transcendental results come from the JS engine's libm, typically within 1 ulp of double, and
// set PE unless exact. FPREM/FPREM1/FSCALE/FXTRACT are exact on doubles.
// Each function does its own stack checks on ST(0)/ST(1) and special operands.

import { FCW, FSW } from '../arch.js';
import { K_SHADOW, K_DENORM, type X87 } from './x87.js';
import { DBL_MIN_NORMAL, R, exponentOf, ldexp } from './float80.js';

const IE = FSW.IE, DE = FSW.DE, ZE = FSW.ZE, OE = FSW.OE, UE = FSW.UE, PE = FSW.PE;
const C0 = FSW.C0, C1 = FSW.C1, C2 = FSW.C2, C3 = FSW.C3;
const TWO63 = 9223372036854775808;

/** #D for a denormal operand: returns -1 if unmasked (no result), else the flag bits to report. */
function denorm(f: X87, p: number): number {
  if ((f.xk[p] & K_DENORM) === 0) return 0;
  f.signal(DE);
  return f.masked(FCW.DM) ? DE : -1;
}

export const SIN = 0, COS = 1, TAN = 2, SINCOS = 3;

/** FSIN / FCOS / FPTAN / FSINCOS: operand |x| < 2^63, else C2 = 1 and ST(0) unchanged. */
export function trig(f: X87, kind: number): void {
  const p = f.top;
  const pushes = kind === TAN || kind === SINCOS;
  if (f.isEmpty(p)) {
    if (f.underflow(p) && pushes) pushIndef(f);
    return;
  }
  if (pushes && !f.isEmpty((p - 1) & 7)) { f.pushSlot(); return; } // stack overflow (#IS)
  const x = f.d[p];
  f.sw &= ~(C1 | C2);
  if (x !== x) {
    if (!f.nanResult(p, p, p)) return;
    if (pushes) { const q = f.pushSlot(); f.copy(q, p); f.commitPush(q); }
    return;
  }
  const fl = denorm(f, p);
  if (fl < 0) return;
  if (x - x !== 0) { // ±∞
    if (f.invalid(p, fl) && pushes) pushIndef(f);
    return;
  }
  if (x >= TWO63 || x <= -TWO63) { f.sw |= C2; return; } // out of range: reduce first
  const exact = x === 0;
  if (kind === SIN) f.store(p, Math.sin(x), fl, exact);
  else if (kind === COS) f.store(p, Math.cos(x), fl, exact);
  else {
    f.store(p, kind === TAN ? Math.tan(x) : Math.sin(x), fl, exact);
    const q = f.pushSlot();
    if (kind === TAN) f.setD(q, 1);
    else f.setD(q, Math.cos(x));
    f.commitPush(q);
  }
}

function pushIndef(f: X87): void {
  const q = f.pushSlot();
  if (q < 0) return;
  f.setIndef(q);
  f.commitPush(q);
}

/** F2XM1: ST(0) ← 2^ST(0) − 1 (defined for −1 ≤ x ≤ 1). */
export function f2xm1(f: X87): void {
  const p = f.top;
  if (f.isEmpty(p)) { f.underflow(p); return; }
  const x = f.d[p];
  f.sw &= ~C1;
  if (x !== x) { f.nanResult(p, p, p); return; }
  const fl = denorm(f, p);
  if (fl < 0) return;
  if (x === 0 || x === Infinity) { f.signal(fl); return; } // ±0, +∞ unchanged
  if (x === -Infinity) { f.store(p, -1, fl, true); return; }
  f.store(p, Math.expm1(x * Math.LN2), fl, false);
}

/** Two-operand functions that replace ST(1) and pop: FYL2X, FYL2XP1, FPATAN. */
export const YL2X = 0, YL2XP1 = 1, PATAN = 2;
export function binaryPop(f: X87, kind: number): void {
  const p0 = f.top, p1 = (f.top + 1) & 7;
  if (f.isEmpty(p0) || f.isEmpty(p1)) { if (f.underflow(p1)) f.pop(); return; }
  const x = f.d[p0], y = f.d[p1];
  f.sw &= ~C1;
  if (x !== x || y !== y) { if (f.nanResult(p1, p0, p1)) f.pop(); return; }
  let fl = denorm(f, p0);
  if (fl < 0) return;
  const fl1 = denorm(f, p1);
  if (fl1 < 0) return;
  fl |= fl1;
  let r: number, exact = false;
  if (kind === PATAN) {
    r = Math.atan2(y, x);
    exact = r === 0;
  } else if (kind === YL2X) {
    if (x === 0 && y !== 0 && y - y === 0) { // log2(±0) = −∞: divide-by-zero
      f.signal(fl | ZE);
      if (!f.masked(FCW.ZM)) return;
      f.setD(p1, y > 0 ? -Infinity : Infinity);
      f.pop();
      return;
    }
    let l = Math.log2(x);
    if (x > 0 && x - x === 0) {
      const e = exponentOf(x);
      if (x === ldexp(1, e)) { l = e; exact = true; } // exact logarithm of a power of two
    }
    r = y * l;
    if (exact && r - r === 0) exact = r / l === y || l === 0;
  } else {
    r = y * (Math.log1p(x) / Math.LN2);
    exact = x === 0;
  }
  if (r !== r) { if (f.invalid(p1, fl)) f.pop(); return; } // log of a negative number, 0·∞, ...
  if (r - r !== 0 && x - x === 0 && y - y === 0) fl |= OE;
  f.store(p1, r, fl, exact);
  f.pop();
}

/** FSCALE: ST(0) ← ST(0) · 2^trunc(ST(1)). */
export function fscale(f: X87): void {
  const p0 = f.top, p1 = (f.top + 1) & 7;
  if (f.isEmpty(p0) || f.isEmpty(p1)) { f.underflow(p0); return; }
  const x = f.d[p0], y = f.d[p1];
  f.sw &= ~C1;
  if (x !== x || y !== y) { f.nanResult(p0, p0, p1); return; }
  let fl = denorm(f, p0);
  if (fl < 0) return;
  const fl1 = denorm(f, p1);
  if (fl1 < 0) return;
  fl |= fl1;
  if (y === Infinity) { if (x === 0) f.invalid(p0, fl); else f.store(p0, x * Infinity, fl, true); return; }
  if (y === -Infinity) { if (x - x !== 0) f.invalid(p0, fl); else f.store(p0, x < 0 || 1 / x < 0 ? -0 : 0, fl, true); return; }
  if (x === 0 || x - x !== 0) { f.signal(fl); return; } // ±0, ±∞ unchanged
  let n = Math.trunc(y);
  if (n > 100000) n = 100000; else if (n < -100000) n = -100000;
  const r = ldexp(x, n);
  if (r - r !== 0) { f.signal(fl | OE | PE); f.sw |= C1; f.setD(p0, r); return; }
  const a = r < 0 ? -r : r;
  if (a < DBL_MIN_NORMAL) {
    const exact = r !== 0 && ldexp(r, -n) === x;
    if (!exact || !f.masked(FCW.UM)) fl |= UE;
    f.store(p0, r, fl, exact);
    return;
  }
  f.store(p0, r, fl, true);
}

/** FXTRACT: ST(0) ← exponent of ST(0) (unbiased, as a value), then push its significand. */
export function fxtract(f: X87): void {
  const p = f.top;
  if (f.isEmpty(p)) { if (f.underflow(p)) pushIndef(f); return; }
  if (!f.isEmpty((p - 1) & 7)) { f.pushSlot(); return; }
  const x = f.d[p];
  f.sw &= ~C1;
  if (x !== x) {
    if (!f.nanResult(p, p, p)) return;
    const q = f.pushSlot(); f.copy(q, p); f.commitPush(q);
    return;
  }
  const fl = denorm(f, p);
  if (fl < 0) return;
  if (x === 0 && (f.xk[p] & K_SHADOW) === 0) { // #Z: exponent −∞, significand ±0
    f.signal(fl | ZE);
    if (!f.masked(FCW.ZM)) return;
    const q = f.pushSlot(); f.setD(q, x); f.setD(p, -Infinity); f.commitPush(q);
    return;
  }
  if (x - x !== 0 && (f.xk[p] & K_SHADOW) === 0) { // ±∞: exponent +∞, significand ±∞
    const q = f.pushSlot(); f.setD(q, x); f.setD(p, Infinity); f.commitPush(q);
    f.signal(fl);
    return;
  }
  f.get80(p);
  let hi = R.hi, lo = R.lo;
  let e = ((R.se & 0x7fff) === 0 ? 1 : R.se & 0x7fff) - 16383;
  const sign = R.se & 0x8000;
  if (hi >= 0) { // 80-bit denormal: normalise
    const n = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
    if (n < 32) { hi = (hi << n) | (n > 0 ? lo >>> (32 - n) : 0); lo = lo << n; } else { hi = lo << (n - 32); lo = 0; }
    e -= n;
  }
  const q = f.pushSlot();
  f.setX(q, lo, hi, sign | 16383);
  f.setD(p, e);
  f.commitPush(q);
  f.signal(fl);
}

/**
 * FPREM (truncating quotient) and FPREM1 (IEEE, quotient rounded to nearest even): ST(0) ← ST(0) −
 * Q·ST(1). Exponent difference ≥ 64: partial reduction by ST(1)·2^(D−63), C2 = 1. Otherwise C2 = 0 and
 * C0, C3, C1 = Q2, Q0, Q1 (the low quotient bits).
 */
export function fprem(f: X87, ieee: boolean): void {
  const p0 = f.top, p1 = (f.top + 1) & 7;
  if (f.isEmpty(p0) || f.isEmpty(p1)) { f.underflow(p0); return; }
  const x = f.d[p0], y = f.d[p1];
  f.sw &= ~(C0 | C1 | C2 | C3);
  if (x !== x || y !== y) { f.nanResult(p0, p0, p1); return; }
  let fl = denorm(f, p0);
  if (fl < 0) return;
  const fl1 = denorm(f, p1);
  if (fl1 < 0) return;
  fl |= fl1;
  if (y === 0 || x - x !== 0) { f.invalid(p0, fl); return; }
  if (x === 0 || y - y !== 0) { f.signal(fl); return; } // ST(0) unchanged, quotient 0
  const d = exponentOf(x) - exponentOf(y);
  if (d >= 64) {
    const r = x % ldexp(y, d - 63);
    f.sw |= C2;
    f.store(p0, r, fl, true);
    return;
  }
  let r = x % y; // exact (truncated quotient), sign of x
  const ay = y < 0 ? -y : y;
  let q: number;
  const y8 = 8 * ay;
  if (y8 - y8 === 0) {
    const r8 = x % y8;
    q = Math.round(((r8 < 0 ? -r8 : r8) - (r < 0 ? -r : r)) / ay) & 7;
  } else q = Math.round(((x < 0 ? -x : x) - (r < 0 ? -r : r)) / ay) & 7;
  if (ieee) {
    const ar = r < 0 ? -r : r, half = ay / 2;
    if (ar > half || (ar === half && (q & 1) !== 0)) {
      r = r < 0 ? r + ay : r - ay;
      q = (q + 1) & 7;
    }
  }
  if ((q & 4) !== 0) f.sw |= C0;
  if ((q & 2) !== 0) f.sw |= C1;
  if ((q & 1) !== 0) f.sw |= C3;
  if (r === 0) r = x < 0 ? -0 : 0;
  const ar = r < 0 ? -r : r;
  if (ar !== 0 && ar < DBL_MIN_NORMAL && !f.masked(FCW.UM)) fl |= UE;
  f.signal(fl);
  f.setD(p0, r);
}

