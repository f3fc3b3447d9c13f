// Number formats of the x87 FPU (SDM Vol1 4.2, 4.7, 4.8): the 80-bit double extended format,
// IEEE single/double bit patterns, 64-bit integers and 18-digit packed BCD, with the x87 rounding
// modes (Vol1 4.8.4, Table 4-8). Every conversion that involves the 80-bit format is exact or
// correctly rounded; none allocates: results go to the shared scratch object `R`.
//
// An 80-bit value is the triple (lo, hi, se): significand bits 31..0 and 63..32 (bit 63 is the
// explicit integer bit J) as int32, and (sign << 15) | biased exponent (bias 16383).
// Typed-array aliases assume a little-endian host, like the CPU's register file.

import { FRC, FSW } from '../arch.js';

/** Scratch results: an 80-bit value (lo, hi, se) or IEEE/integer bits (lo, hi); exception flags
 * (FSW bits IE/OE/UE/PE) of the conversion; `up` = the magnitude was rounded up (becomes C1);
 * `tiny` = the exact result was below the destination's smallest normal; `big` = an integer
 * magnitude of 2^64 or more. */
export const R = { lo: 0, hi: 0, se: 0, flags: 0, up: false, tiny: false, big: false };

const F64 = new Float64Array(1);
const F64W = new Int32Array(F64.buffer);
const F32 = new Float32Array(1);
const F32W = new Int32Array(F32.buffer);

const SIGN = 1 << 31;
/** 2^32 */
export const TWO32 = 4294967296;
/** Smallest normal double (2^-1022). */
export const DBL_MIN_NORMAL = 2.2250738585072014e-308;

/** The 80-bit QNaN floating-point indefinite (SDM Vol1 Table 4-3): sign 1, exponent all ones, 1.1000... */
export const INDEF_LO = 0, INDEF_HI = 0xc0000000 | 0, INDEF_SE = 0xffff;

/** Classes of 80-bit encodings (SDM Vol1 8.2.2, Table 8-3). */
export const enum X80 { Zero = 0, Normal = 1, Denormal = 2, Inf = 3, QNaN = 4, SNaN = 5, Unsupported = 6 }

export function x80Class(lo: number, hi: number, se: number): X80 {
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if (hi >= 0) return X80.Unsupported; // pseudo-infinity / pseudo-NaN (J = 0)
    if ((hi & 0x7fffffff) === 0 && lo === 0) return X80.Inf;
    return (hi & 0x40000000) !== 0 ? X80.QNaN : X80.SNaN;
  }
  if (e === 0) return (hi | lo) === 0 ? X80.Zero : X80.Denormal; // pseudo-denormals (J = 1) count as denormals
  return hi < 0 ? X80.Normal : X80.Unsupported; // unnormal
}

// ------------------------------------------------------------------ doubles and singles
/** Bits of a double into R.lo / R.hi. */
export function f64Bits(v: number): void { F64[0] = v; R.lo = F64W[0]; R.hi = F64W[1]; }
export function bitsToF64(lo: number, hi: number): number { F64W[0] = lo; F64W[1] = hi; return F64[0]; }
export function f32Bits(v: number): number { F32[0] = v; return F32W[0]; }
export function bitsToF32(b: number): number { F32W[0] = b; return F32[0]; }

/** Unbiased binary exponent of a finite nonzero double (floor(log2 |v|)), subnormals included. */
export function exponentOf(v: number): number {
  F64[0] = v;
  const e = (F64W[1] >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  F64[0] = v * 18446744073709551616; // 2^64: normalise a subnormal
  return ((F64W[1] >>> 20) & 0x7ff) - 1023 - 64;
}

/** v · 2^n, exact unless the result over- or underflows (then rounded once, to nearest). */
export function ldexp(v: number, n: number): number {
  if (n > 1023) {
    v *= 8.98846567431158e307; n -= 1023; // 2^1023
    if (n > 1023) { v *= 8.98846567431158e307; n -= 1023; if (n > 1023) n = 1023; }
  } else if (n < -1022) {
    // Keep the intermediate normal (scale by 2^-1022 · 2^53) so only the last product rounds.
    v *= 2.004168360008973e-292; n += 969; // 2^-969
    if (n < -1022) { v *= 2.004168360008973e-292; n += 969; if (n < -1022) n = -1022; }
  }
  return v * 2 ** n;
}

/** The next double after v towards +∞ (up) or −∞. */
export function nextDouble(v: number, up: boolean): number {
  if (v === 0) return up ? 5e-324 : -5e-324;
  F64[0] = v;
  let lo = F64W[0], hi = F64W[1];
  if ((v > 0) === up) { lo = (lo + 1) | 0; if (lo === 0) hi = (hi + 1) | 0; }
  else { if (lo === 0) hi = (hi - 1) | 0; lo = (lo - 1) | 0; }
  F64W[0] = lo; F64W[1] = hi;
  return F64[0];
}

/** v rounded to a 24-bit significand (nearest-even), keeping the double exponent range (x87 PC = single). */
export function round24(v: number): number {
  const a = v < 0 ? -v : v;
  if (a >= 1.1754943508222875e-38 && a <= 1.7014118346046923e38) return Math.fround(v);
  if (a === 0 || a - a !== 0) return v;
  const e = exponentOf(a);
  return ldexp(Math.fround(ldexp(v, -e)), e);
}

/** The next value with a 24-bit significand after f (which has one) towards +∞ (up) or −∞. */
export function next24(f: number, up: boolean): number {
  if (f === 0) return up ? 5e-324 : -5e-324;
  const a = f < 0 ? -f : f;
  const e = exponentOf(a);
  // Spacing 2^(e−23), but never below the smallest double (results in the double-subnormal range).
  const ulp = e - 23 < -1074 ? 5e-324 : ldexp(1, e - 23);
  let m: number;
  if ((f > 0) === up) m = a + ulp;
  else m = a === ldexp(1, e) && e - 24 >= -1074 ? a - ulp / 2 : a - ulp; // below a power of two the spacing halves
  return f < 0 ? -m : m;
}

// ------------------------------------------------------------------ 80-bit ↔ double
/** Exact conversion of a double to the 80-bit format, into R.lo / R.hi / R.se. */
export function f64ToX80(v: number): void {
  F64[0] = v;
  const lo = F64W[0], hi = F64W[1];
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  const mh = ((hi & 0xfffff) << 11) | (lo >>> 21), ml = lo << 11; // fraction aligned below J
  if (e === 0x7ff) { R.se = sign | 0x7fff; R.hi = (SIGN | mh) | 0; R.lo = ml; return; } // ∞ or NaN (payload kept)
  if (e !== 0) { R.se = sign | (e - 1023 + 16383); R.hi = (SIGN | mh) | 0; R.lo = ml; return; }
  if ((mh | ml) === 0) { R.se = sign; R.hi = 0; R.lo = 0; return; }
  // Subnormal double: value = (m / 2^63) · 2^-1022; normalise so that J is set.
  const n = mh !== 0 ? Math.clz32(mh) : 32 + Math.clz32(ml);
  shl64(mh, ml, n);
  R.se = sign | (16383 - 1022 - n);
}

function shl64(hi: number, lo: number, n: number): void {
  if (n === 0) { R.hi = hi; R.lo = lo; }
  else if (n < 32) { R.hi = (hi << n) | (lo >>> (32 - n)); R.lo = lo << n; }
  else { R.hi = lo << (n - 32); R.lo = 0; }
}

/**
 * Shift the unsigned 64-bit magnitude (hi:lo) right by s ≥ 0 bits, rounding by `rc` for a value of
 * sign `neg`. Result in R.hi:R.lo (may carry one bit beyond the kept width); adds PE to R.flags if
 * bits were lost; R.up = the magnitude was incremented.
 */
function shrRound(hi: number, lo: number, s: number, rc: number, neg: boolean): void {
  let qh = 0, ql = 0, rnd = 0, sticky = false;
  if (s <= 0) { qh = hi; ql = lo; }
  else if (s < 32) {
    ql = (lo >>> s) | (hi << (32 - s)); qh = hi >>> s;
    rnd = (lo >>> (s - 1)) & 1; sticky = (lo & ((1 << (s - 1)) - 1)) !== 0;
  } else if (s === 32) { ql = hi; rnd = lo >>> 31; sticky = (lo & 0x7fffffff) !== 0; }
  else if (s < 64) {
    ql = hi >>> (s - 32); rnd = (hi >>> (s - 33)) & 1;
    sticky = lo !== 0 || (hi & ((1 << (s - 33)) - 1)) !== 0;
  } else if (s === 64) { rnd = hi >>> 31; sticky = (hi & 0x7fffffff) !== 0 || lo !== 0; }
  else sticky = hi !== 0 || lo !== 0;
  let inc = false;
  if (rnd !== 0 || sticky) {
    R.flags |= FSW.PE;
    if (rc === FRC.NEAREST) inc = rnd !== 0 && (sticky || (ql & 1) !== 0);
    else if (rc === FRC.UP) inc = !neg;
    else if (rc === FRC.DOWN) inc = neg;
  }
  if (inc) { ql = (ql + 1) | 0; if (ql === 0) qh = (qh + 1) | 0; }
  R.hi = qh | 0; R.lo = ql | 0; R.up = inc;
}

/**
 * Round an 80-bit value to IEEE double (`dbl`) or single by `rc` (SDM Vol1 4.8.4, 4.9.1.4-6): bits in
 * R.lo (single) or R.lo / R.hi (double), flags in R.flags: IE for an SNaN (quieted) or an unsupported
 * encoding (indefinite), OE + PE on overflow (∞ or the largest finite number, by RC), PE when
 * inexact, UE when tiny and inexact; R.tiny when tiny (before rounding); R.up as C1.
 */
export function x80ToIeee(lo: number, hi: number, se: number, dbl: boolean, rc: number): void {
  R.flags = 0; R.up = false; R.tiny = false;
  const neg = (se & 0x8000) !== 0;
  const sign = neg ? SIGN : 0;
  const E = se & 0x7fff;
  if (E === 0x7fff || (E !== 0 && hi >= 0)) {
    if (E === 0x7fff && hi < 0) {
      if ((hi & 0x7fffffff) === 0 && lo === 0) { // ∞
        if (dbl) { R.hi = sign | 0x7ff00000; R.lo = 0; } else R.lo = sign | 0x7f800000;
        return;
      }
      if ((hi & 0x40000000) === 0) R.flags = FSW.IE; // SNaN: invalid, delivered quiet
      if (dbl) { R.hi = sign | 0x7ff80000 | ((hi >>> 11) & 0x7ffff); R.lo = (hi << 21) | (lo >>> 11); }
      else R.lo = sign | 0x7fc00000 | ((hi >>> 8) & 0x3fffff);
      return;
    }
    R.flags = FSW.IE; // unsupported encoding: the default NaN (indefinite)
    if (dbl) { R.hi = 0xfff80000 | 0; R.lo = 0; } else R.lo = 0xffc00000 | 0;
    return;
  }
  if ((hi | lo) === 0) { if (dbl) { R.hi = sign; R.lo = 0; } else R.lo = sign; return; }
  let e = (E === 0 ? 1 : E) - 16383;
  let mh = hi, ml = lo;
  if (mh >= 0) { // 80-bit denormal: normalise
    const n = mh !== 0 ? Math.clz32(mh) : 32 + Math.clz32(ml);
    shl64(mh, ml, n); mh = R.hi; ml = R.lo; e -= n;
  }
  const p = dbl ? 53 : 24, bias = dbl ? 1023 : 127, emax = dbl ? 0x7ff : 0xff;
  const ee = e + bias;
  if (ee >= emax) { overflow(neg, dbl, rc); return; }
  let s = 64 - p;
  const tiny = ee < 1;
  if (tiny) s += 1 - ee;
  shrRound(mh, ml, s, rc, neg);
  if (dbl) {
    const h = tiny ? R.hi : R.hi + ((ee - 1) << 20); // the integer bit carries into the exponent field
    if ((h >>> 20) >= emax) { overflow(neg, dbl, rc); return; }
    R.hi = sign | h;
  } else {
    const v = tiny ? R.lo : R.lo + ((ee - 1) << 23);
    if ((v >>> 23) >= emax) { overflow(neg, dbl, rc); return; }
    R.lo = sign | v;
  }
  if (tiny) { R.tiny = true; if ((R.flags & FSW.PE) !== 0) R.flags |= FSW.UE; }
}

function overflow(neg: boolean, dbl: boolean, rc: number): void {
  const toInf = rc === FRC.NEAREST || (rc === FRC.UP && !neg) || (rc === FRC.DOWN && neg);
  const sign = neg ? SIGN : 0;
  R.flags |= FSW.OE | FSW.PE; R.up = toInf;
  if (dbl) { R.hi = sign | (toInf ? 0x7ff00000 : 0x7fefffff); R.lo = toInf ? 0 : -1; }
  else R.lo = sign | (toInf ? 0x7f800000 : 0x7f7fffff);
}

/** An 80-bit value as a double, rounded to nearest (NaN for NaNs and unsupported encodings). */
export function x80ToF64(lo: number, hi: number, se: number): number {
  x80ToIeee(lo, hi, se, true, FRC.NEAREST);
  return bitsToF64(R.lo, R.hi);
}

// ------------------------------------------------------------------ integers and BCD
/** An unsigned 64-bit magnitude (hi:lo) with a sign, as an exact 80-bit value in R. */
export function magToX80(hi: number, lo: number, neg: boolean): void {
  if ((hi | lo) === 0) { R.hi = 0; R.lo = 0; R.se = neg ? 0x8000 : 0; return; }
  const n = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  shl64(hi, lo, n);
  R.se = (neg ? 0x8000 : 0) | (16383 + 63 - n);
}

/** A signed 64-bit integer (two's complement hi:lo) as an exact 80-bit value in R. */
export function i64ToX80(hi: number, lo: number): void {
  if (hi < 0) {
    const nl = (-lo) | 0;
    const nh = (~hi + (lo === 0 ? 1 : 0)) | 0;
    magToX80(nh, nl, true);
  } else magToX80(hi, lo, false);
}

/**
 * Round a finite 80-bit value to an integer by `rc`: magnitude in R.hi:R.lo (unsigned), R.big if it
 * is 2^64 or more; PE in R.flags when inexact, R.up when the magnitude was rounded up.
 */
export function x80ToIntMag(lo: number, hi: number, se: number, rc: number): void {
  R.flags = 0; R.up = false; R.big = false;
  if ((hi | lo) === 0) { R.hi = 0; R.lo = 0; return; }
  const e = ((se & 0x7fff) === 0 ? 1 : se & 0x7fff) - 16383;
  if (e >= 64) { R.big = true; return; }
  if (e === 63) { R.hi = hi; R.lo = lo; return; }
  shrRound(hi, lo, 63 - e, rc, (se & 0x8000) !== 0);
}

/** Packed BCD (SDM Vol1 4.7): bytes 0-8 hold 18 digits, least significant first; byte 9 bit 7 is the sign. */
export function bcdToX80(b: Uint8Array): void {
  let hi = 0, lo = 0;
  for (let k = 8; k >= 0; k--) {
    const byte = b[k];
    for (let n = 0; n < 2; n++) {
      const digit = n === 0 ? byte >>> 4 : byte & 15;
      const t = lo * 10 + digit; // < 2^36: exact
      lo = t % TWO32;
      hi = hi * 10 + Math.floor(t / TWO32);
    }
  }
  magToX80(hi | 0, lo | 0, (b[9] & 0x80) !== 0);
}

/** 10^18 as hi:lo (0DE0B6B3_A7640000): packed BCD holds magnitudes below it. */
const BCD_LIMIT_HI = 0x0de0b6b3, BCD_LIMIT_LO = 0xa7640000;

/** True if the unsigned magnitude hi:lo fits 18 decimal digits. */
export function fitsBcd(hi: number, lo: number): boolean {
  const h = hi >>> 0;
  return h < BCD_LIMIT_HI || (h === BCD_LIMIT_HI && (lo >>> 0) < BCD_LIMIT_LO);
}

/** Write the magnitude hi:lo (< 10^18) and sign as packed BCD into b[0..9]. */
export function magToBcd(hi: number, lo: number, neg: boolean, b: Uint8Array): void {
  let h = hi >>> 0, l = lo >>> 0;
  for (let k = 0; k < 9; k++) {
    let byte = 0;
    for (let n = 0; n < 2; n++) {
      const r = h % 10;
      h = Math.floor(h / 10);
      const t = r * TWO32 + l; // < 10 · 2^32: exact
      l = Math.floor(t / 10);
      byte |= (t - l * 10) << (4 * n);
    }
    b[k] = byte;
  }
  b[9] = neg ? 0x80 : 0;
}

/** Compare two non-NaN 80-bit values: -1, 0 or 1 (zeros of either sign are equal). */
export function x80Compare(alo: number, ahi: number, ase: number, blo: number, bhi: number, bse: number): number {
  const az = (ahi | alo) === 0, bz = (bhi | blo) === 0;
  if (az && bz) return 0;
  const an = (ase & 0x8000) !== 0, bn = (bse & 0x8000) !== 0;
  if (az) return bn ? 1 : -1;
  if (bz) return an ? -1 : 1;
  if (an !== bn) return an ? -1 : 1;
  let m = (ase & 0x7fff) - (bse & 0x7fff);
  if (m === 0) m = (ahi >>> 0) - (bhi >>> 0);
  if (m === 0) m = (alo >>> 0) - (blo >>> 0);
  const s = m > 0 ? 1 : m < 0 ? -1 : 0;
  return an ? -s : s;
}
