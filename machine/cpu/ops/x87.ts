// x87 FPU instructions: escape opcodes D8-DF, FWAIT, FXSAVE/FXRSTOR, LDMXCSR/STMXCSR (SDM Vol2;
// Vol1 ch. 8; opcode map Vol2 A.5). State and arithmetic live in ../fpu/.
//
// Dispatch: one handler per escape byte (op_D8_x87 ... op_DF_x87) indexes a table built once at load:
// register forms by (escape, ModRM.reg, ModRM.rm) = 512 entries, memory forms by (escape, reg) = 64.
// Before the operation: #NM if CR0.EM or CR0.TS (Vol3A Table 2-2); for "waiting" instructions a
// pending unmasked exception (FSW.ES) is reported first: #MF with CR0.NE = 1, else the MS-DOS
// compatible path (Vol1 D.2): FERR# (X87.onFerr, IRQ 13 on a PC) and the CPU waits at this
// instruction for an interrupt, unless IGNNE# (X87.ignne) is asserted. Non-control instructions
// then record FIP/FCS/FOP (and FDP/FDS for memory operands) before executing (Vol1 8.1.8-8.1.9).
// The undocumented-but-real aliases (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FFREEP, FXCH7, FSTP8,
// FSTP9) behave like the documented forms; the remaining holes in the map are #UD without
// checking pending exceptions (Vol3A 22.18.6.6). FISTTP (SSE3) is #UD.

import { CPUID_EDX, CR0, CR4, EXC, FCW, FRC, FSW, MXCSR, SEG } from '../arch.js';
import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import {
  K_DENORM, K_SHADOW, NAN_S, OP_ADD, OP_DIV, OP_DIVR, OP_MUL, OP_SUB, OP_SUBR, ST_M, type X87,
} from '../fpu/x87.js';
import { R, bcdToX80, fitsBcd, i64ToX80, magToBcd, x80Class, x80ToIntMag, X80, INDEF_HI, INDEF_LO, INDEF_SE } from '../fpu/float80.js';
import * as tr from '../fpu/transcend.js';
import * as img from '../fpu/image.js';

type RegOp = (c: CPU, f: X87, i: number) => void;
type MemOp = (c: CPU, f: X87, x: Insn) => void;

/** Flags per table entry: no pending-exception check; control instruction (no FIP/FOP update). */
const NOWAIT = 1, CONTROL = 2;
const IE = FSW.IE, DE = FSW.DE, UE = FSW.UE, OE = FSW.OE, C1 = FSW.C1;

const regUd: RegOp = (c) => c.ud();
const memUd: MemOp = (c) => c.ud();
const REG_OPS: RegOp[] = new Array<RegOp>(512).fill(regUd);
const REG_FL = new Uint8Array(512).fill(NOWAIT | CONTROL);
const MEM_OPS: MemOp[] = new Array<MemOp>(64).fill(memUd);
const MEM_FL = new Uint8Array(64).fill(NOWAIT | CONTROL);

// ------------------------------------------------------------------ dispatch
function x87(c: CPU, i: Insn): void {
  if ((c.cr0 & (CR0.EM | CR0.TS)) !== 0) c.raise(EXC.NM);
  const f = c.fpu;
  const esc = i.op & 7;
  if (i.mod === 3) {
    const k = (esc << 6) | (i.reg << 3) | i.rm;
    const fl = REG_FL[k];
    if ((fl & NOWAIT) === 0 && (f.sw & FSW.ES) !== 0 && !pending(c, f)) return;
    if ((fl & CONTROL) === 0) { f.fip = c.prevEip; f.fcs = c.segSel[SEG.CS]; f.fop = (esc << 8) | 0xc0 | (k & 0x3f); }
    REG_OPS[k](c, f, i.rm);
  } else {
    const k = (esc << 3) | i.reg;
    const fl = MEM_FL[k];
    if ((fl & NOWAIT) === 0 && (f.sw & FSW.ES) !== 0 && !pending(c, f)) return;
    if ((fl & CONTROL) === 0) {
      f.fip = c.prevEip; f.fcs = c.segSel[SEG.CS];
      f.fop = (esc << 8) | (i.mod << 6) | (i.reg << 3) | i.rm;
      f.fdp = c.ea(i); f.fds = c.segSel[i.seg];
    }
    MEM_OPS[k](c, f, i);
  }
  // FERR# goes active when an instruction leaves an unmasked exception pending with CR0.NE = 0.
  if ((f.sw & FSW.ES) !== 0 && !f.ferr && (c.cr0 & CR0.NE) === 0) f.setFerr(true);
}

/**
 * A waiting instruction found an unmasked exception pending. Returns true if it may execute anyway
 * (IGNNE#). Otherwise it raises #MF (CR0.NE = 1) or asserts FERR# and waits here for an interrupt.
 */
function pending(c: CPU, f: X87): boolean {
  if ((c.cr0 & CR0.NE) !== 0) c.raise(EXC.MF);
  if (f.ignne) return true;
  if (!f.ferr) f.setFerr(true);
  c.eip = c.prevEip; // frozen before this instruction (Vol1 D.2.1.1): resumes after the interrupt
  c.halted = true;
  c.blockStop = true;
  return false;
}

export const op_D8_x87 = x87, op_D9_x87 = x87, op_DA_x87 = x87, op_DB_x87 = x87;
export const op_DC_x87 = x87, op_DD_x87 = x87, op_DE_x87 = x87, op_DF_x87 = x87;

/** FWAIT: #NM only if CR0.MP and CR0.TS (Vol3A Table 2-2); reports a pending exception. */
export function op_9B_fwait(c: CPU): void {
  if ((c.cr0 & (CR0.MP | CR0.TS)) === (CR0.MP | CR0.TS)) c.raise(EXC.NM);
  const f = c.fpu;
  if ((f.sw & FSW.ES) !== 0) pending(c, f);
}

// ------------------------------------------------------------------ FXSAVE family
function fxCheck(c: CPU): void {
  const leaf = c.cpuidLeaves.get(1);
  if (leaf !== undefined && (leaf[3] & CPUID_EDX.FXSR) === 0) c.ud();
  if ((c.cr0 & (CR0.EM | CR0.TS)) !== 0) c.raise(EXC.NM);
}
/** Linear address of the 512-byte image; #GP(0) unless 16-byte aligned (Vol2 FXSAVE). */
function fxAddr(c: CPU, i: Insn, write: boolean): number {
  const la = c.eaLin(i, 512, write);
  if ((la & 15) !== 0) c.gp(0);
  return la;
}
export function op_0FAE_0_fxsave(c: CPU, i: Insn): void { fxCheck(c); img.fxsave(c, c.fpu, fxAddr(c, i, true), i.o32); }
export function op_0FAE_1_fxrstor(c: CPU, i: Insn): void { fxCheck(c); img.fxrstor(c, c.fpu, fxAddr(c, i, false), i.o32); }

/** LDMXCSR/STMXCSR: #UD without CPUID.SSE (not advertised), with CR0.EM or without CR4.OSFXSR; #NM with CR0.TS. */
function sseCheck(c: CPU): void {
  const leaf = c.cpuidLeaves.get(1);
  if (leaf === undefined || (leaf[3] & CPUID_EDX.SSE) === 0 || (c.cr0 & CR0.EM) !== 0 || (c.cr4 & CR4.OSFXSR) === 0) c.ud();
  if ((c.cr0 & CR0.TS) !== 0) c.raise(EXC.NM);
}
export function op_0FAE_2_ldmxcsr(c: CPU, i: Insn): void {
  sseCheck(c);
  const v = c.rd32(c.eaLin(i, 4, false));
  if ((v & ~MXCSR.DEFAULT_MASK) !== 0) c.gp(0);
  c.fpu.mxcsr = v;
}
export function op_0FAE_3_stmxcsr(c: CPU, i: Insn): void { sseCheck(c); c.wr32(c.eaLin(i, 4, true), c.fpu.mxcsr); }

// ------------------------------------------------------------------ helpers
function setC1(f: X87, on: boolean): void { if (on) f.sw |= C1; else f.sw &= ~C1; }

/** FCOM-family result: condition codes, then pops. Empty operand: #IS, masked → unordered. */
function fcom(f: X87, a: number, b: number, quiet: boolean, pops: number): void {
  if (f.isEmpty(a) || f.isEmpty(b)) {
    if (!f.underflow(-1)) return;
    f.setCompareCC(3);
  } else {
    const r = f.compare(a, b, quiet);
    if (r < 0) return;
    f.sw &= ~C1;
    f.setCompareCC(r);
  }
  for (let k = 0; k < pops; k++) f.pop();
}

/** FCOMI-family: ZF, PF, CF (OF = SF = AF = 0), then pop. */
function fcomi(c: CPU, f: X87, i: number, quiet: boolean, pop: boolean): void {
  const a = f.top, b = f.phys(i);
  let r: number;
  if (f.isEmpty(a) || f.isEmpty(b)) {
    if (!f.underflow(-1)) return;
    r = 3;
  } else {
    r = f.compare(a, b, quiet);
    if (r < 0) return;
    f.sw &= ~C1;
  }
  c.flagsEager(r === 0 ? 0 : r === 1 ? 1 : r === 2 ? 0x40 : 0x45); // CF = 1, ZF = 40h, PF = 4
  if (pop) f.pop();
}

/** Convert the memory operand into slot ST_M: kind 0 m32fp, 1 m64fp, 2 m32int, 3 m16int. */
function loadOperand(c: CPU, f: X87, x: Insn, kind: number): void {
  if (kind === 0) setF32(f, c.rd32(c.lin(x.seg, f.fdp, 4, false)));
  else if (kind === 1) {
    const la = c.lin(x.seg, f.fdp, 8, false);
    setF64(f, c.rd32(la), c.rd32(la + 4));
  } else if (kind === 2) f.setD(ST_M, c.rd32(c.lin(x.seg, f.fdp, 4, false)));
  else f.setD(ST_M, (c.rd16(c.lin(x.seg, f.fdp, 2, false)) << 16) >> 16);
}
/** IEEE single bits into ST_M (NaNs keep their payload in the 80-bit shadow; denormals flagged). */
function setF32(f: X87, b: number): void {
  const e = (b >>> 23) & 0xff, frac = b & 0x7fffff;
  if (e === 0xff && frac !== 0) { f.setNaN(ST_M, 0, (0x80000000 | (frac << 8)) | 0, ((b >>> 16) & 0x8000) | 0x7fff); return; }
  f.setD(ST_M, bitsF32(b));
  if (e === 0 && frac !== 0) f.xk[ST_M] = K_DENORM;
}
function setF64(f: X87, lo: number, hi: number): void {
  const e = (hi >>> 20) & 0x7ff, fh = hi & 0xfffff;
  if (e === 0x7ff && (fh | lo) !== 0) {
    f.setNaN(ST_M, lo << 11, (0x80000000 | (fh << 11) | (lo >>> 21)) | 0, ((hi >>> 16) & 0x8000) | 0x7fff);
    return;
  }
  F64W[0] = lo; F64W[1] = hi;
  f.setD(ST_M, F64A[0]);
  if (e === 0 && (fh | lo) !== 0) f.xk[ST_M] = K_DENORM;
}
const F32A = new Float32Array(1), F32W = new Int32Array(F32A.buffer);
const F64A = new Float64Array(1), F64W = new Int32Array(F64A.buffer);
function bitsF32(b: number): number { F32W[0] = b; return F32A[0]; }

/** Push the converted operand in ST_M (FLD m32fp/m64fp): #IA for an SNaN (quieted), #D for a denormal. */
function pushConverted(f: X87): void {
  let fl = 0;
  if (f.nanKind(ST_M) === NAN_S) fl |= IE;
  if ((f.xk[ST_M] & K_DENORM) !== 0) fl |= DE;
  if ((fl & ~f.cw & FSW.EXC_MASK) !== 0) { f.signal(fl); return; }
  const p = f.pushSlot();
  if (p < 0) return;
  f.copy(p, ST_M);
  f.xk[p] &= K_SHADOW;
  if (fl & IE) f.xhi[p] |= 0x40000000;
  f.commitPush(p);
  f.signal(fl);
}

// ------------------------------------------------------------------ memory forms
/** D8/DC/DA/DE memory forms: arithmetic and compares with ST(0). */
function memArith(kind: number, op: number): MemOp {
  return (c, f, x) => {
    loadOperand(c, f, x, kind);
    const p = f.top;
    if (op === 2 || op === 3) { fcom(f, p, ST_M, false, op - 2); return; }
    if (f.isEmpty(p)) { f.underflow(p); return; }
    f.arith(op, p, p, ST_M);
  };
}

function fldReal(kind: number): MemOp {
  return (c, f, x) => { loadOperand(c, f, x, kind); pushConverted(f); };
}

/** FST/FSTP m32fp/m64fp: unmasked #IA/#O/#U store nothing (and do not pop). */
function fstReal(dbl: boolean, pops: boolean): MemOp {
  return (c, f, x) => {
    const la = c.lin(x.seg, f.fdp, dbl ? 8 : 4, true);
    const p = f.top;
    let lo: number, hi: number, fl = 0, up = false;
    if (f.isEmpty(p)) {
      if (!f.underflow(-1)) return;
      lo = dbl ? 0 : 0xffc00000 | 0; hi = 0xfff80000 | 0; // QNaN indefinite
    } else {
      f.toIeee(p, dbl);
      lo = R.lo; hi = R.hi; fl = R.flags; up = R.up;
      if (R.tiny && !f.masked(FCW.UM)) fl |= UE;
      if ((fl & ~f.cw & (IE | OE | UE)) !== 0) { f.sw &= ~C1; f.signal(fl); return; }
    }
    if (dbl) { c.wr32(la, lo); c.wr32(la + 4, hi); } else c.wr32(la, lo);
    setC1(f, up);
    f.signal(fl);
    if (pops) f.pop();
  };
}

function fild(bytes: number): MemOp {
  return (c, f, x) => {
    const la = c.lin(x.seg, f.fdp, bytes, false);
    let lo = 0, hi = 0;
    if (bytes === 2) lo = (c.rd16(la) << 16) >> 16;
    else if (bytes === 4) lo = c.rd32(la);
    else { lo = c.rd32(la); hi = c.rd32(la + 4); }
    const p = f.pushSlot();
    if (p < 0) return;
    if (bytes < 8) f.setD(p, lo);
    else if (hi >= -0x200000 && hi < 0x200000) f.setD(p, hi * 4294967296 + (lo >>> 0)); // |v| < 2^53: exact
    else { i64ToX80(hi, lo); f.setX(p, R.lo, R.hi, R.se); }
    f.commitPush(p);
  };
}

/** FIST/FISTP m16int/m32int/m64int: rounding by RC; out of range → #IA (masked: integer indefinite). */
function fist(bits: number, pops: boolean): MemOp {
  return (c, f, x) => {
    const la = c.lin(x.seg, f.fdp, bits >>> 3, true);
    const p = f.top;
    let lo: number, hi: number, fl = 0, up = false;
    if (f.isEmpty(p)) {
      if (!f.underflow(-1)) return;
      lo = bits === 32 ? 0x80000000 | 0 : bits === 16 ? 0x8000 : 0; hi = 0x80000000 | 0;
    } else {
      f.toInt(p, bits);
      lo = R.lo; hi = R.hi; fl = R.flags; up = R.up;
      if ((fl & IE) !== 0 && !f.masked(FCW.IM)) { f.signal(fl); return; }
    }
    if (bits === 16) c.wr16(la, lo & 0xffff);
    else if (bits === 32) c.wr32(la, lo);
    else { c.wr32(la, lo); c.wr32(la + 4, hi); }
    setC1(f, up);
    f.signal(fl);
    if (pops) f.pop();
  };
}

const B10 = new Uint8Array(10);

function fldM80(c: CPU, f: X87, x: Insn): void {
  const la = c.lin(x.seg, f.fdp, 10, false);
  const lo = c.rd32(la), hi = c.rd32(la + 4), se = c.rd16(la + 8);
  const p = f.pushSlot();
  if (p < 0) return;
  f.setX(p, lo, hi, se);
  f.commitPush(p);
}
function fstpM80(c: CPU, f: X87, x: Insn): void {
  const la = c.lin(x.seg, f.fdp, 10, true);
  const p = f.top;
  if (f.isEmpty(p)) {
    if (!f.underflow(-1)) return;
    R.lo = INDEF_LO; R.hi = INDEF_HI; R.se = INDEF_SE;
  } else { f.get80(p); f.sw &= ~C1; }
  c.wr32(la, R.lo); c.wr32(la + 4, R.hi); c.wr16(la + 8, R.se);
  f.pop();
}
function fbld(c: CPU, f: X87, x: Insn): void {
  const la = c.lin(x.seg, f.fdp, 10, false);
  for (let k = 0; k < 10; k++) B10[k] = c.rd8(la + k);
  const p = f.pushSlot();
  if (p < 0) return;
  bcdToX80(B10);
  f.setX(p, R.lo, R.hi, R.se);
  f.commitPush(p);
}
/** FBSTP: round by RC; |value| ≥ 10^18, NaN, ∞ → #IA (masked: the BCD indefinite FFFF C000 0000 0000 0000h). */
function fbstp(c: CPU, f: X87, x: Insn): void {
  const la = c.lin(x.seg, f.fdp, 10, true);
  const p = f.top;
  let fl = 0, up = false, ok = false;
  if (f.isEmpty(p)) {
    if (!f.underflow(-1)) return;
  } else {
    f.get80(p);
    const lo = R.lo, hi = R.hi, se = R.se;
    const cls = x80Class(lo, hi, se);
    if (cls === X80.Zero || cls === X80.Normal || cls === X80.Denormal) {
      x80ToIntMag(lo, hi, se, f.rc);
      if (!R.big && fitsBcd(R.hi, R.lo)) { ok = true; fl = R.flags; up = R.up; magToBcd(R.hi, R.lo, (se & 0x8000) !== 0, B10); }
    }
    if (!ok) { fl = IE; if (!f.masked(FCW.IM)) { f.signal(fl); return; } }
  }
  if (!ok) { B10.fill(0); B10[7] = 0xc0; B10[8] = 0xff; B10[9] = 0xff; }
  for (let k = 0; k < 10; k++) c.wr8(la + k, B10[k]);
  setC1(f, up);
  f.signal(fl);
  f.pop();
}

function fldenv(c: CPU, f: X87, x: Insn): void { img.loadEnv(c, f, c.eaLin(x, img.envSize(x.o32), false), x.o32); }
function fnstenv(c: CPU, f: X87, x: Insn): void {
  img.storeEnv(c, f, c.eaLin(x, img.envSize(x.o32), true), x.o32);
  f.cw |= FSW.EXC_MASK; // then masks all exceptions (Vol2 FSTENV)
  f.updateES();
}
function fldcw(c: CPU, f: X87, x: Insn): void { f.setControl(c.rd16(c.eaLin(x, 2, false))); f.updateES(); }
function fnstcw(c: CPU, f: X87, x: Insn): void { c.wr16(c.eaLin(x, 2, true), f.cw); }
function frstor(c: CPU, f: X87, x: Insn): void { img.frstor(c, f, c.eaLin(x, img.envSize(x.o32) + 80, false), x.o32); }
function fnsave(c: CPU, f: X87, x: Insn): void { img.fsave(c, f, c.eaLin(x, img.envSize(x.o32) + 80, true), x.o32); }
function fnstswM(c: CPU, f: X87, x: Insn): void { c.wr16(c.eaLin(x, 2, true), f.status); }

// ------------------------------------------------------------------ register forms
/** D8 (dst = ST(0)), DC (dst = ST(i)), DE (dst = ST(i), pop): ST(0) op ST(i) by ModRM.reg. */
function regArith(op: number, toSti: boolean, pops: boolean): RegOp {
  return (c, f, i) => {
    const a = f.top, b = f.phys(i), dst = toSti ? b : a;
    if (f.isEmpty(a) || f.isEmpty(b)) { if (f.underflow(dst) && pops) f.pop(); return; }
    if (f.arith(op, dst, a, b) && pops) f.pop();
  };
}
function regCom(quiet: boolean, pops: number): RegOp { return (c, f, i) => fcom(f, f.top, f.phys(i), quiet, pops); }
function regComi(quiet: boolean, pop: boolean): RegOp { return (c, f, i) => fcomi(c, f, i, quiet, pop); }

function fldSti(c: CPU, f: X87, i: number): void {
  const src = f.phys(i);
  const p = f.pushSlot();
  if (p < 0) return;
  if (f.isEmpty(src)) { if (f.underflow(-1)) { f.setIndef(p); f.commitPush(p); } return; }
  f.copy(p, src);
  f.commitPush(p);
}
function fxch(c: CPU, f: X87, i: number): void {
  const a = f.top, b = f.phys(i);
  if (f.isEmpty(a) || f.isEmpty(b)) {
    if (!f.underflow(-1)) return;
    if (f.isEmpty(a)) { f.setIndef(a); f.empty &= ~(1 << a); }
    if (f.isEmpty(b)) { f.setIndef(b); f.empty &= ~(1 << b); }
  } else f.sw &= ~C1;
  f.copy(ST_M, a); f.copy(a, b); f.copy(b, ST_M);
}
function fstSti(pops: boolean): RegOp {
  return (c, f, i) => {
    const a = f.top, b = f.phys(i);
    if (f.isEmpty(a)) { if (!f.underflow(b)) return; }
    else { f.copy(b, a); f.empty &= ~(1 << b); f.sw &= ~C1; }
    if (pops) f.pop();
  };
}
function ffree(pops: boolean): RegOp {
  return (c, f, i) => { f.empty |= 1 << f.phys(i); if (pops) f.pop(); };
}
/** FCMOVcc: cc is the Jcc condition number (B 2, E 4, BE 6, U 10 and their negations). */
function fcmov(cc: number): RegOp {
  return (c, f, i) => {
    const a = f.top, b = f.phys(i);
    if (f.isEmpty(a) || f.isEmpty(b)) { f.underflow(a); return; }
    f.sw &= ~C1;
    if (c.cond(cc)) f.copy(a, b);
  };
}
function fchs(c: CPU, f: X87): void {
  const p = f.top;
  if (f.isEmpty(p)) { f.underflow(p); return; }
  f.sw &= ~C1;
  f.d[p] = -f.d[p];
  f.xse[p] ^= 0x8000;
}
function fabs(c: CPU, f: X87): void {
  const p = f.top;
  if (f.isEmpty(p)) { f.underflow(p); return; }
  f.sw &= ~C1;
  f.d[p] = Math.abs(f.d[p]);
  f.xse[p] &= 0x7fff;
}
function ftst(c: CPU, f: X87): void { f.setD(ST_M, 0); fcom(f, f.top, ST_M, false, 0); }

/** Constants of FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2: 64-bit truncation (se, hi, lo) and whether the
 * next bits round it up to nearest (the 66-bit internal constants of Vol1 8.3.8). */
const KONST = [
  [0x4000, 0xd49a784b, 0xcd1b8afe, 0], // log2 10
  [0x3fff, 0xb8aa3b29, 0x5c17f0bb, 1], // log2 e
  [0x4000, 0xc90fdaa2, 0x2168c234, 1], // pi
  [0x3ffd, 0x9a209a84, 0xfbcff798, 1], // log10 2
  [0x3ffe, 0xb17217f7, 0xd1cf79ab, 1], // ln 2
];
function fldConst(k: number): RegOp {
  const se = KONST[k][0], hi = KONST[k][1] | 0, lo = KONST[k][2] | 0, nearUp = KONST[k][3];
  return (c, f) => {
    const p = f.pushSlot();
    if (p < 0) return;
    const rc = f.rc;
    const inc = rc === FRC.NEAREST ? nearUp : rc === FRC.UP ? 1 : 0; // positive, inexact
    f.setX(p, (lo + inc) | 0, hi, se);
    f.commitPush(p);
  };
}
function fldValue(v: number): RegOp {
  return (c, f) => { const p = f.pushSlot(); if (p < 0) return; f.setD(p, v); f.commitPush(p); };
}
function onSt0(fn: (f: X87, p: number) => void): RegOp {
  return (c, f) => {
    const p = f.top;
    if (f.isEmpty(p)) { f.underflow(p); return; }
    fn(f, p);
  };
}
function frndint(f: X87, p: number): void {
  if (f.d[p] !== f.d[p]) { f.nanResult(p, p, p); return; }
  if ((f.xk[p] & K_DENORM) !== 0) { f.signal(DE); if (!f.masked(FCW.DM)) return; }
  f.roundToIntegral(p);
}

// ------------------------------------------------------------------ tables
function reg(esc: number, r: number, rm: number, fn: RegOp, fl = 0): void {
  const k = (esc << 6) | (r << 3) | rm;
  REG_OPS[k] = fn; REG_FL[k] = fl;
}
function regRow(esc: number, r: number, fn: RegOp, fl = 0): void { for (let rm = 0; rm < 8; rm++) reg(esc, r, rm, fn, fl); }
function mem(esc: number, r: number, fn: MemOp, fl = 0): void { MEM_OPS[(esc << 3) | r] = fn; MEM_FL[(esc << 3) | r] = fl; }

// D8 / DC / DA / DE memory arithmetic: m32fp, m64fp, m32int, m16int.
for (let r = 0; r < 8; r++) {
  mem(0, r, memArith(0, r)); mem(4, r, memArith(1, r)); mem(2, r, memArith(2, r)); mem(6, r, memArith(3, r));
}
mem(1, 0, fldReal(0)); mem(1, 2, fstReal(false, false)); mem(1, 3, fstReal(false, true));
mem(1, 4, fldenv, CONTROL); mem(1, 5, fldcw, CONTROL); mem(1, 6, fnstenv, NOWAIT | CONTROL); mem(1, 7, fnstcw, NOWAIT | CONTROL);
mem(3, 0, fild(4)); mem(3, 2, fist(32, false)); mem(3, 3, fist(32, true)); mem(3, 5, fldM80); mem(3, 7, fstpM80);
mem(5, 0, fldReal(1)); mem(5, 2, fstReal(true, false)); mem(5, 3, fstReal(true, true));
mem(5, 4, frstor, CONTROL); mem(5, 6, fnsave, NOWAIT | CONTROL); mem(5, 7, fnstswM, NOWAIT | CONTROL);
mem(7, 0, fild(2)); mem(7, 2, fist(16, false)); mem(7, 3, fist(16, true));
mem(7, 4, fbld); mem(7, 5, fild(8)); mem(7, 6, fbstp); mem(7, 7, fist(64, true));

// D8: ST(0) ← ST(0) op ST(i); FCOM/FCOMP ST(i).
for (const op of [OP_ADD, OP_MUL, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR]) {
  regRow(0, op, regArith(op, false, false)); regRow(4, op, regArith(op, true, false)); regRow(6, op, regArith(op, true, true));
}
regRow(0, 2, regCom(false, 0)); regRow(0, 3, regCom(false, 1));
regRow(4, 2, regCom(false, 0)); regRow(4, 3, regCom(false, 1)); // FCOM2, FCOMP3 aliases
regRow(6, 2, regCom(false, 1)); // FCOMP5 alias
reg(6, 3, 1, regCom(false, 2)); // FCOMPP
// D9
regRow(1, 0, fldSti); regRow(1, 1, fxch); regRow(1, 3, fstSti(true)); // FSTP1 alias
reg(1, 2, 0, () => undefined); // FNOP
reg(1, 4, 0, fchs); reg(1, 4, 1, fabs); reg(1, 4, 4, ftst); reg(1, 4, 5, (c, f) => f.fxam());
reg(1, 5, 0, fldValue(1));
for (let k = 0; k < 5; k++) reg(1, 5, 1 + k, fldConst(k));
reg(1, 5, 6, fldValue(0));
reg(1, 6, 0, (c, f) => tr.f2xm1(f)); reg(1, 6, 1, (c, f) => tr.binaryPop(f, tr.YL2X));
reg(1, 6, 2, (c, f) => tr.trig(f, tr.TAN)); reg(1, 6, 3, (c, f) => tr.binaryPop(f, tr.PATAN));
reg(1, 6, 4, (c, f) => tr.fxtract(f)); reg(1, 6, 5, (c, f) => tr.fprem(f, true));
reg(1, 6, 6, (c, f) => { f.top = (f.top - 1) & 7; f.sw &= ~C1; }); // FDECSTP
reg(1, 6, 7, (c, f) => { f.top = (f.top + 1) & 7; f.sw &= ~C1; }); // FINCSTP
reg(1, 7, 0, (c, f) => tr.fprem(f, false)); reg(1, 7, 1, (c, f) => tr.binaryPop(f, tr.YL2XP1));
reg(1, 7, 2, onSt0((f, p) => f.sqrt(p))); reg(1, 7, 3, (c, f) => tr.trig(f, tr.SINCOS));
reg(1, 7, 4, onSt0(frndint)); reg(1, 7, 5, (c, f) => tr.fscale(f));
reg(1, 7, 6, (c, f) => tr.trig(f, tr.SIN)); reg(1, 7, 7, (c, f) => tr.trig(f, tr.COS));
// DA / DB: FCMOVcc, FUCOMPP, FUCOMI, FCOMI, FNCLEX, FNINIT, 8087/287 no-ops.
regRow(2, 0, fcmov(2)); regRow(2, 1, fcmov(4)); regRow(2, 2, fcmov(6)); regRow(2, 3, fcmov(10));
reg(2, 5, 1, regCom(true, 2));
regRow(3, 0, fcmov(3)); regRow(3, 1, fcmov(5)); regRow(3, 2, fcmov(7)); regRow(3, 3, fcmov(11));
reg(3, 4, 0, () => undefined, NOWAIT | CONTROL); // FNENI
reg(3, 4, 1, () => undefined, NOWAIT | CONTROL); // FNDISI
reg(3, 4, 2, (c, f) => { f.sw &= ~(FSW.EXC_MASK | FSW.SF | FSW.ES | FSW.B); f.updateES(); }, NOWAIT | CONTROL); // FNCLEX
reg(3, 4, 3, (c, f) => f.init(), NOWAIT | CONTROL); // FNINIT
reg(3, 4, 4, () => undefined, NOWAIT | CONTROL); // FNSETPM
regRow(3, 5, regComi(true, false)); regRow(3, 6, regComi(false, false));
// DD: FFREE, FXCH4 alias, FST, FSTP, FUCOM, FUCOMP.
regRow(5, 0, ffree(false)); regRow(5, 1, fxch); regRow(5, 2, fstSti(false)); regRow(5, 3, fstSti(true));
regRow(5, 4, regCom(true, 0)); regRow(5, 5, regCom(true, 1));
// DF: FFREEP, FXCH7, FSTP8, FSTP9 aliases; FNSTSW AX; FUCOMIP, FCOMIP.
regRow(7, 0, ffree(true)); regRow(7, 1, fxch); regRow(7, 2, fstSti(true)); regRow(7, 3, fstSti(true));
reg(7, 4, 0, (c, f) => { c.r16[0] = f.status; }, NOWAIT | CONTROL);
regRow(7, 5, regComi(true, true)); regRow(7, 6, regComi(false, true));
