// Multiply and divide: MUL/IMUL (F6/F7 /4 /5), IMUL Gv,Ev (0FAF), IMUL Gv,Ev,Iz/Ibs (69/6B),
// DIV/IDIV (F6/F7 /6 /7). SDM Vol2 MUL, IMUL, DIV, IDIV.
//
// Flags: MUL/IMUL set CF = OF = "the result does not fit the destination half"; SF, ZF, PF and AF
// are undefined by the SDM: we set SF/ZF/PF from the low half of the product and AF = 0 (one fixed
// rule). DIV/IDIV leave every flag unchanged (all undefined). #DE (divide error) is raised for a
// zero divisor and for a quotient that does not fit, before anything is written.
//
// 32-bit products and dividends are 64-bit: they are computed exactly with doubles on 16-bit halves
// (every intermediate < 2^53), never with BigInt, and Math.imul gives the low 32 bits.

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { EFLAGS, EXC } from '../arch.js';
import { CpuFlags } from '../flags.js';

const CF = EFLAGS.CF, OF = EFLAGS.OF;
const TWO16 = 65536, TWO32 = 4294967296;

/** CF/OF set when `overflow`, SF/ZF/PF from `lo` (n-bit result half). */
function mulFlags(c: CPU, lo: number, top: number, overflow: boolean): void {
  c.flagsEager(CpuFlags.szp(lo, top) | (overflow ? CF | OF : 0));
}

/** High 32 bits of the unsigned 64-bit product of two 32-bit values (exact). */
export function mulHiU32(a: number, b: number): number {
  const au = a >>> 0, bu = b >>> 0;
  const lo = (au & 0xffff) * bu;       // < 2^48
  const hi = (au >>> 16) * bu;         // < 2^48
  // product = hi·2^16 + lo; its high word is floor((hi + floor(lo / 2^16)) / 2^16).
  return Math.floor((hi + Math.floor(lo / TWO16)) / TWO16) | 0;
}
/** High 32 bits of the signed 64-bit product of two int32 values (exact). */
export function mulHiS32(a: number, b: number): number {
  let h = mulHiU32(a, b);
  // Signed correction (two's complement): subtract b·2^32 if a < 0, a·2^32 if b < 0.
  if (a < 0) h = (h - b) | 0;
  if (b < 0) h = (h - a) | 0;
  return h;
}

// ------------------------------------------------------------------ MUL (unsigned)
export function op_F6_4_mulEb(c: CPU, i: Insn): void {
  const r = c.r8[0] * c.readE8(i);
  c.r16[0] = r;
  mulFlags(c, r & 0xff, 7, r > 0xff);
}
export function op_F7_4_mulEv16(c: CPU, i: Insn): void {
  const r = c.r16[0] * c.readE16(i); // < 2^32, exact
  c.r16[0] = r;
  c.r16[4] = r >>> 16;
  mulFlags(c, r & 0xffff, 15, r > 0xffff);
}
export function op_F7_4_mulEv32(c: CPU, i: Insn): void {
  const b = c.readE32(i), a = c.r32[0];
  const hi = mulHiU32(a, b), lo = Math.imul(a, b);
  c.r32[0] = lo;
  c.r32[2] = hi;
  mulFlags(c, lo, 31, hi !== 0);
}

// ------------------------------------------------------------------ IMUL one operand (signed)
export function op_F6_5_imulEb(c: CPU, i: Insn): void {
  const r = ((c.r8[0] << 24) >> 24) * ((c.readE8(i) << 24) >> 24);
  c.r16[0] = r;
  mulFlags(c, r & 0xff, 7, r !== (r << 24) >> 24);
}
export function op_F7_5_imulEv16(c: CPU, i: Insn): void {
  const r = ((c.r16[0] << 16) >> 16) * ((c.readE16(i) << 16) >> 16);
  c.r16[0] = r;
  c.r16[4] = r >> 16;
  mulFlags(c, r & 0xffff, 15, r !== (r << 16) >> 16);
}
export function op_F7_5_imulEv32(c: CPU, i: Insn): void {
  const b = c.readE32(i), a = c.r32[0];
  const hi = mulHiS32(a, b), lo = Math.imul(a, b);
  c.r32[0] = lo;
  c.r32[2] = hi;
  mulFlags(c, lo, 31, hi !== lo >> 31);
}

// ------------------------------------------------------------------ IMUL two/three operands
// Result truncated to the operand size; CF = OF = the full product differs from it.
function imul16(c: CPU, i: Insn, a: number, b: number): void {
  const p = ((a << 16) >> 16) * ((b << 16) >> 16);
  c.r16[i.reg << 1] = p;
  mulFlags(c, p & 0xffff, 15, p !== (p << 16) >> 16);
}
function imul32(c: CPU, i: Insn, a: number, b: number): void {
  const lo = Math.imul(a, b);
  // a·b as a double is exact below 2^53; above that it cannot equal a 32-bit value anyway.
  c.r32[i.reg] = lo;
  mulFlags(c, lo, 31, a * b !== lo);
}
export function op_0FAF_imulGvEv16(c: CPU, i: Insn): void { imul16(c, i, c.r16[i.reg << 1], c.readE16(i)); }
export function op_0FAF_imulGvEv32(c: CPU, i: Insn): void { imul32(c, i, c.r32[i.reg], c.readE32(i)); }
export function op_69_imulGvEvIz16(c: CPU, i: Insn): void { imul16(c, i, c.readE16(i), i.imm); }
export function op_69_imulGvEvIz32(c: CPU, i: Insn): void { imul32(c, i, c.readE32(i), i.imm | 0); }
export function op_6B_imulGvEvIbs16(c: CPU, i: Insn): void { imul16(c, i, c.readE16(i), i.imm); }
export function op_6B_imulGvEvIbs32(c: CPU, i: Insn): void { imul32(c, i, c.readE32(i), i.imm | 0); }

// ------------------------------------------------------------------ DIV (unsigned)
export function op_F6_6_divEb(c: CPU, i: Insn): void {
  const d = c.readE8(i);
  if (d === 0) c.raise(EXC.DE);
  const n = c.r16[0];
  const q = Math.floor(n / d);
  if (q > 0xff) c.raise(EXC.DE);
  c.r8[0] = q;
  c.r8[1] = n - q * d;
}
export function op_F7_6_divEv16(c: CPU, i: Insn): void {
  const d = c.readE16(i);
  if (d === 0) c.raise(EXC.DE);
  const n = c.r16[4] * TWO16 + c.r16[0];
  const q = Math.floor(n / d);
  if (q > 0xffff) c.raise(EXC.DE);
  c.r16[0] = q;
  c.r16[4] = n - q * d;
}

/** Quotient and remainder of the last udiv64 (unsigned, as doubles). */
let divQ = 0, divR = 0;
/**
 * Unsigned (hi·2^32 + lo) / d for hi < d (so the quotient fits 32 bits), exactly: two steps of
 * 16 bits each, every dividend < 2^48 and quotient < 2^16, so double division and floor are exact.
 */
function udiv64(hi: number, lo: number, d: number): void {
  let n = hi * TWO16 + (lo >>> 16);
  const q1 = Math.floor(n / d);
  let r = n - q1 * d;
  n = r * TWO16 + (lo & 0xffff);
  const q2 = Math.floor(n / d);
  r = n - q2 * d;
  divQ = q1 * TWO16 + q2;
  divR = r;
}

export function op_F7_6_divEv32(c: CPU, i: Insn): void {
  const d = c.readE32(i) >>> 0;
  if (d === 0) c.raise(EXC.DE);
  const hi = c.r32[2] >>> 0;
  if (hi >= d) c.raise(EXC.DE); // quotient ≥ 2^32
  udiv64(hi, c.r32[0] >>> 0, d);
  c.r32[0] = divQ;
  c.r32[2] = divR;
}

// ------------------------------------------------------------------ IDIV (signed, truncating)
export function op_F6_7_idivEb(c: CPU, i: Insn): void {
  const d = (c.readE8(i) << 24) >> 24;
  if (d === 0) c.raise(EXC.DE);
  const n = (c.r16[0] << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 0x7f || q < -0x80) c.raise(EXC.DE);
  c.r8[0] = q;
  c.r8[1] = n - q * d;
}
export function op_F7_7_idivEv16(c: CPU, i: Insn): void {
  const d = (c.readE16(i) << 16) >> 16;
  if (d === 0) c.raise(EXC.DE);
  const n = (c.r16[4] << 16) | c.r16[0];
  const q = Math.trunc(n / d);
  if (q > 0x7fff || q < -0x8000) c.raise(EXC.DE);
  c.r16[0] = q;
  c.r16[4] = n - q * d;
}
export function op_F7_7_idivEv32(c: CPU, i: Insn): void {
  const d = c.readE32(i);
  if (d === 0) c.raise(EXC.DE);
  let hi = c.r32[2], lo = c.r32[0];
  const nNeg = hi < 0, dNeg = d < 0;
  if (nNeg) { // 64-bit negate: two's complement of hi:lo
    lo = -lo | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  const du = dNeg ? -d >>> 0 : d >>> 0; // |d|; -(-2^31) >>> 0 = 2^31
  const hu = hi >>> 0;
  if (hu >= du) c.raise(EXC.DE); // |quotient| ≥ 2^32
  udiv64(hu, lo >>> 0, du);
  // Quotient sign = sign(n) XOR sign(d); remainder takes the dividend's sign.
  const qNeg = nNeg !== dNeg;
  if (qNeg ? divQ > 0x80000000 : divQ > 0x7fffffff) c.raise(EXC.DE);
  c.r32[0] = qNeg ? -divQ : divQ;
  c.r32[2] = nNeg ? -divR : divR;
}
