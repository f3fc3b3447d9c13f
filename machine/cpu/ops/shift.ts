// Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR in every form (C0/C1 by imm8, D0/D1 by 1,
// D2/D3 by CL). SDM Vol2 "RCL/RCR/ROL/ROR" and "SAL/SAR/SHL/SHR":
// - the count is masked to 5 bits (all operand sizes, since the 80186); a masked count of 0 changes
//   neither the operand nor any flag;
// - RCL/RCR rotate through CF, so 8/16-bit operands rotate modulo 9/17 (a count that is a nonzero
//   multiple of 9/17 leaves the value and CF unchanged but still sets OF by the formula below);
// - ROL/ROR rotate modulo the operand size, but still update CF/OF when the masked count is nonzero.
// Undefined flags get what P6-family hardware is reported to produce, computed by the same formula
// at every count: SHL/ROL/RCL OF = CF XOR MSB(result); SHR OF = MSB(original) at count 1, else 0;
// SAR OF = 0; ROR/RCR OF = XOR of the two top bits of the result. SHL/SHR/SAR: AF = 0, and CF = 0
// once every bit has been shifted out (count > operand size; SAR: the sign). Rotates touch only CF/OF.
//
// The core computes the result into `res` and the new flags into `outF`/`outMask`; the handler writes
// the result first, then the flags, so a faulting write leaves EFLAGS untouched.

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { EFLAGS, OSZAPC, REG8_INDEX as REG8 } from '../arch.js';
import { CpuFlags } from '../flags.js';

const CF = EFLAGS.CF, OF = EFLAGS.OF;
const ROT_FLAGS = CF | OF;

const enum Op { Rol = 0, Ror = 1, Rcl = 2, Rcr = 3, Shl = 4, Shr = 5, Sar = 7 }

/** Flags produced by the last `calc` and which bits they replace (0 = no change). */
let outF = 0;
let outMask = 0;

/**
 * Shift/rotate `a` (unsigned, n bits: 8, 16 or 32) by `count` (raw). Returns the new value (unsigned
 * for 8/16, int32 for 32) and leaves the flags in outF/outMask.
 */
function calc(c: CPU, op: Op, a: number, count: number, n: number): number {
  const cnt = count & 0x1f;
  outMask = 0;
  if (cnt === 0) return a;
  const top = n - 1;
  const m = n === 32 ? -1 : (1 << n) - 1;
  let r = 0, cf = 0;
  switch (op) {
    case Op.Rol: {
      const t = cnt & top;
      r = t === 0 ? a : ((a << t) | (a >>> (n - t))) & m;
      cf = r & 1;
      outF = cf | ((cf ^ ((r >>> top) & 1)) << 11);
      outMask = ROT_FLAGS;
      return r;
    }
    case Op.Ror: {
      const t = cnt & top;
      r = t === 0 ? a : ((a >>> t) | (a << (n - t))) & m;
      cf = (r >>> top) & 1;
      outF = cf | ((cf ^ ((r >>> (top - 1)) & 1)) << 11);
      outMask = ROT_FLAGS;
      return r;
    }
    case Op.Rcl: {
      const t = n === 8 ? cnt % 9 : n === 16 ? cnt % 17 : cnt;
      const ci = c.getCF();
      if (t === 0) { // a whole turn: value and CF as they were, OF by the formula (as the 286 data shows)
        outF = ci | ((ci ^ ((a >>> top) & 1)) << 11);
        outMask = ROT_FLAGS;
        return a;
      }
      r = (a << t) | (ci << (t - 1));
      if (t > 1) r |= a >>> (n + 1 - t);
      r &= m;
      cf = (a >>> (n - t)) & 1;
      outF = cf | ((cf ^ ((r >>> top) & 1)) << 11);
      outMask = ROT_FLAGS;
      return r;
    }
    case Op.Rcr: {
      const t = n === 8 ? cnt % 9 : n === 16 ? cnt % 17 : cnt;
      const ci = c.getCF();
      if (t === 0) {
        outF = ci | ((((a >>> top) ^ (a >>> (top - 1))) & 1) << 11);
        outMask = ROT_FLAGS;
        return a;
      }
      r = (a >>> t) | (ci << (n - t));
      if (t > 1) r |= a << (n + 1 - t);
      r &= m;
      cf = (a >>> (t - 1)) & 1;
      outF = cf | ((((r >>> top) ^ (r >>> (top - 1))) & 1) << 11);
      outMask = ROT_FLAGS;
      return r;
    }
    case Op.Shl: {
      r = (a << cnt) & m;
      cf = cnt <= n ? (a >>> (n - cnt)) & 1 : 0;
      outF = cf | CpuFlags.szp(r, top) | ((cf ^ ((r >>> top) & 1)) << 11);
      outMask = OSZAPC;
      return r;
    }
    case Op.Shr: {
      const u = a >>> 0;
      r = (u >>> cnt) & m;
      cf = cnt <= n ? (u >>> (cnt - 1)) & 1 : 0;
      outF = cf | CpuFlags.szp(r, top) | (cnt === 1 ? ((u >>> top) & 1) << 11 : 0);
      outMask = OSZAPC;
      return r;
    }
    default: { // Sar
      const s = (a << (32 - n)) >> (32 - n);
      r = (s >> cnt) & m;
      cf = (s >> (cnt - 1)) & 1;
      outF = cf | CpuFlags.szp(r, top);
      outMask = OSZAPC;
      return r;
    }
  }
}

function flagsOut(c: CPU): void {
  if (outMask === OSZAPC) c.flagsEager(outF);
  else if (outMask !== 0) c.setFlagBits(outF, outMask);
}

function e8(c: CPU, i: Insn, op: Op, count: number): void {
  if (i.mod === 3) {
    const k = REG8[i.rm];
    c.r8[k] = calc(c, op, c.r8[k], count, 8);
  } else {
    const la = c.eaLin(i, 1, true);
    const r = calc(c, op, c.rd8(la), count, 8);
    if (outMask !== 0) c.wr8(la, r);
  }
  flagsOut(c);
}
function e16(c: CPU, i: Insn, op: Op, count: number): void {
  if (i.mod === 3) {
    const k = i.rm << 1;
    c.r16[k] = calc(c, op, c.r16[k], count, 16);
  } else {
    const la = c.eaLin(i, 2, true);
    const r = calc(c, op, c.rd16(la), count, 16);
    if (outMask !== 0) c.wr16(la, r);
  }
  flagsOut(c);
}
function e32(c: CPU, i: Insn, op: Op, count: number): void {
  if (i.mod === 3) {
    c.r32[i.rm] = calc(c, op, c.r32[i.rm], count, 32);
  } else {
    const la = c.eaLin(i, 4, true);
    const r = calc(c, op, c.rd32(la), count, 32);
    if (outMask !== 0) c.wr32(la, r);
  }
  flagsOut(c);
}

// --- C0: Eb,Ib ---
export function op_C0_0_rolEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Rol, i.imm); }
export function op_C0_1_rorEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Ror, i.imm); }
export function op_C0_2_rclEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Rcl, i.imm); }
export function op_C0_3_rcrEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Rcr, i.imm); }
export function op_C0_4_shlEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Shl, i.imm); }
export function op_C0_5_shrEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Shr, i.imm); }
export function op_C0_6_shlEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Shl, i.imm); }
export function op_C0_7_sarEbIb(c: CPU, i: Insn): void { e8(c, i, Op.Sar, i.imm); }
// --- C1: Ev,Ib ---
export function op_C1_0_rolEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Rol, i.imm); }
export function op_C1_1_rorEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Ror, i.imm); }
export function op_C1_2_rclEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Rcl, i.imm); }
export function op_C1_3_rcrEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Rcr, i.imm); }
export function op_C1_4_shlEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Shl, i.imm); }
export function op_C1_5_shrEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Shr, i.imm); }
export function op_C1_6_shlEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Shl, i.imm); }
export function op_C1_7_sarEvIb16(c: CPU, i: Insn): void { e16(c, i, Op.Sar, i.imm); }
export function op_C1_0_rolEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Rol, i.imm); }
export function op_C1_1_rorEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Ror, i.imm); }
export function op_C1_2_rclEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Rcl, i.imm); }
export function op_C1_3_rcrEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Rcr, i.imm); }
export function op_C1_4_shlEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Shl, i.imm); }
export function op_C1_5_shrEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Shr, i.imm); }
export function op_C1_6_shlEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Shl, i.imm); }
export function op_C1_7_sarEvIb32(c: CPU, i: Insn): void { e32(c, i, Op.Sar, i.imm); }
// --- D0: Eb,1 ---
export function op_D0_0_rolEb1(c: CPU, i: Insn): void { e8(c, i, Op.Rol, 1); }
export function op_D0_1_rorEb1(c: CPU, i: Insn): void { e8(c, i, Op.Ror, 1); }
export function op_D0_2_rclEb1(c: CPU, i: Insn): void { e8(c, i, Op.Rcl, 1); }
export function op_D0_3_rcrEb1(c: CPU, i: Insn): void { e8(c, i, Op.Rcr, 1); }
export function op_D0_4_shlEb1(c: CPU, i: Insn): void { e8(c, i, Op.Shl, 1); }
export function op_D0_5_shrEb1(c: CPU, i: Insn): void { e8(c, i, Op.Shr, 1); }
export function op_D0_6_shlEb1(c: CPU, i: Insn): void { e8(c, i, Op.Shl, 1); }
export function op_D0_7_sarEb1(c: CPU, i: Insn): void { e8(c, i, Op.Sar, 1); }
// --- D1: Ev,1 ---
export function op_D1_0_rolEv116(c: CPU, i: Insn): void { e16(c, i, Op.Rol, 1); }
export function op_D1_1_rorEv116(c: CPU, i: Insn): void { e16(c, i, Op.Ror, 1); }
export function op_D1_2_rclEv116(c: CPU, i: Insn): void { e16(c, i, Op.Rcl, 1); }
export function op_D1_3_rcrEv116(c: CPU, i: Insn): void { e16(c, i, Op.Rcr, 1); }
export function op_D1_4_shlEv116(c: CPU, i: Insn): void { e16(c, i, Op.Shl, 1); }
export function op_D1_5_shrEv116(c: CPU, i: Insn): void { e16(c, i, Op.Shr, 1); }
export function op_D1_6_shlEv116(c: CPU, i: Insn): void { e16(c, i, Op.Shl, 1); }
export function op_D1_7_sarEv116(c: CPU, i: Insn): void { e16(c, i, Op.Sar, 1); }
export function op_D1_0_rolEv132(c: CPU, i: Insn): void { e32(c, i, Op.Rol, 1); }
export function op_D1_1_rorEv132(c: CPU, i: Insn): void { e32(c, i, Op.Ror, 1); }
export function op_D1_2_rclEv132(c: CPU, i: Insn): void { e32(c, i, Op.Rcl, 1); }
export function op_D1_3_rcrEv132(c: CPU, i: Insn): void { e32(c, i, Op.Rcr, 1); }
export function op_D1_4_shlEv132(c: CPU, i: Insn): void { e32(c, i, Op.Shl, 1); }
export function op_D1_5_shrEv132(c: CPU, i: Insn): void { e32(c, i, Op.Shr, 1); }
export function op_D1_6_shlEv132(c: CPU, i: Insn): void { e32(c, i, Op.Shl, 1); }
export function op_D1_7_sarEv132(c: CPU, i: Insn): void { e32(c, i, Op.Sar, 1); }
// --- D2: Eb,CL ---
export function op_D2_0_rolEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Rol, c.r8[4]); }
export function op_D2_1_rorEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Ror, c.r8[4]); }
export function op_D2_2_rclEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Rcl, c.r8[4]); }
export function op_D2_3_rcrEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Rcr, c.r8[4]); }
export function op_D2_4_shlEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Shl, c.r8[4]); }
export function op_D2_5_shrEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Shr, c.r8[4]); }
export function op_D2_6_shlEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Shl, c.r8[4]); }
export function op_D2_7_sarEbCL(c: CPU, i: Insn): void { e8(c, i, Op.Sar, c.r8[4]); }
// --- D3: Ev,CL ---
export function op_D3_0_rolEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Rol, c.r8[4]); }
export function op_D3_1_rorEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Ror, c.r8[4]); }
export function op_D3_2_rclEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Rcl, c.r8[4]); }
export function op_D3_3_rcrEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Rcr, c.r8[4]); }
export function op_D3_4_shlEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Shl, c.r8[4]); }
export function op_D3_5_shrEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Shr, c.r8[4]); }
export function op_D3_6_shlEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Shl, c.r8[4]); }
export function op_D3_7_sarEvCL16(c: CPU, i: Insn): void { e16(c, i, Op.Sar, c.r8[4]); }
export function op_D3_0_rolEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Rol, c.r8[4]); }
export function op_D3_1_rorEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Ror, c.r8[4]); }
export function op_D3_2_rclEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Rcl, c.r8[4]); }
export function op_D3_3_rcrEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Rcr, c.r8[4]); }
export function op_D3_4_shlEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Shl, c.r8[4]); }
export function op_D3_5_shrEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Shr, c.r8[4]); }
export function op_D3_6_shlEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Shl, c.r8[4]); }
export function op_D3_7_sarEvCL32(c: CPU, i: Insn): void { e32(c, i, Op.Sar, c.r8[4]); }
