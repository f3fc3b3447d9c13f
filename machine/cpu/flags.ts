// Lazy EFLAGS (the technique of Bochs and v86): arithmetic instructions only record their inputs
// and result; the six status flags are computed when something reads them. Carry and overflow are
// derived from the operand and result sign bits, so ADC/SBB need no separate carry-in record.

import { EFLAGS, OSZAPC } from './arch.js';
import { CpuState } from './state.js';

export const enum LazyOp { Add = 0, Sub = 1, Logic = 2 }

const CF = EFLAGS.CF, PF = EFLAGS.PF, AF = EFLAGS.AF, ZF = EFLAGS.ZF, SF = EFLAGS.SF, OF = EFLAGS.OF;

/** PARITY[b] = PF for a result whose low byte is b (even number of set bits → PF = 1). */
export const PARITY = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  let n = 0;
  for (let k = 0; k < 8; k++) n += (b >> k) & 1;
  PARITY[b] = (n & 1) === 0 ? 1 : 0;
}

export class CpuFlags extends CpuState {
  // --- reading individual flags (0 or 1) ---
  getCF(): number {
    if ((this.lazy & CF) === 0) return this.flags & CF;
    const a = this.lA, b = this.lB, r = this.lRes;
    if (this.lOp === LazyOp.Add) return (((a & b) | ((a | b) & ~r)) >>> this.lTop) & 1;
    if (this.lOp === LazyOp.Sub) return (((~a & b) | ((~a | b) & r)) >>> this.lTop) & 1;
    return 0;
  }
  getZF(): number {
    if ((this.lazy & ZF) === 0) return (this.flags >>> 6) & 1;
    return this.lRes === 0 ? 1 : 0;
  }
  getSF(): number {
    if ((this.lazy & SF) === 0) return (this.flags >>> 7) & 1;
    return (this.lRes >>> this.lTop) & 1;
  }
  getOF(): number {
    if ((this.lazy & OF) === 0) return (this.flags >>> 11) & 1;
    const a = this.lA, b = this.lB, r = this.lRes;
    if (this.lOp === LazyOp.Add) return (((a ^ r) & (b ^ r)) >>> this.lTop) & 1;
    if (this.lOp === LazyOp.Sub) return (((a ^ b) & (a ^ r)) >>> this.lTop) & 1;
    return 0;
  }
  getPF(): number {
    if ((this.lazy & PF) === 0) return (this.flags >>> 2) & 1;
    return PARITY[this.lRes & 0xff];
  }
  getAF(): number {
    if ((this.lazy & AF) === 0) return (this.flags >>> 4) & 1;
    if (this.lOp === LazyOp.Logic) return 0;
    return ((this.lA ^ this.lB ^ this.lRes) >>> 4) & 1;
  }

  /** Full EFLAGS value with the lazy bits computed. */
  getEflags(): number {
    if (this.lazy !== 0) this.materializeFlags();
    return this.flags | EFLAGS.FIXED1;
  }

  /** Fold the lazily-computed bits into `flags`. */
  materializeFlags(): void {
    const l = this.lazy;
    if (l === 0) return;
    let f = this.flags & ~l;
    if (l & CF) f |= this.getCF();
    if (l & PF) f |= this.getPF() << 2;
    if (l & AF) f |= this.getAF() << 4;
    if (l & ZF) f |= this.getZF() << 6;
    if (l & SF) f |= this.getSF() << 7;
    if (l & OF) f |= this.getOF() << 11;
    this.flags = f;
    this.lazy = 0;
  }

  /** Overwrite the bits in `mask` of EFLAGS with `value` (no privilege checks: callers do those). */
  setFlagBits(value: number, mask: number): void {
    if ((this.lazy & mask) !== 0) this.materializeFlags();
    this.flags = (this.flags & ~mask) | (value & mask) | EFLAGS.FIXED1;
  }

  /** Set or clear one status flag (e.g. CF for STC/CLC/BT) without disturbing the others. */
  setFlag(bit: number, on: boolean | number): void {
    if ((this.lazy & bit) !== 0) this.materializeFlags();
    if (on) this.flags |= bit; else this.flags &= ~bit;
  }

  // --- recording results; `top` is operand size in bits - 1 (7, 15, 31) ---
  /** ADD/ADC/INC-style result: a + b (+ carry) = r, all already truncated to the operand size. */
  flagsAdd(a: number, b: number, r: number, top: number): void {
    this.lOp = LazyOp.Add; this.lA = a; this.lB = b; this.lRes = r; this.lTop = top; this.lazy = OSZAPC;
  }
  /** SUB/SBB/CMP/NEG-style result: a - b (- borrow) = r. */
  flagsSub(a: number, b: number, r: number, top: number): void {
    this.lOp = LazyOp.Sub; this.lA = a; this.lB = b; this.lRes = r; this.lTop = top; this.lazy = OSZAPC;
  }
  /** AND/OR/XOR/TEST: CF = OF = 0, AF = 0 (undefined by the SDM), SF/ZF/PF from r. */
  flagsLogic(r: number, top: number): void {
    this.lOp = LazyOp.Logic; this.lA = 0; this.lB = 0; this.lRes = r; this.lTop = top; this.lazy = OSZAPC;
  }
  /** INC/DEC: like add/sub but CF is preserved. */
  flagsIncDec(a: number, r: number, top: number, dec: boolean): void {
    if ((this.lazy & CF) !== 0) { const cf = this.getCF(); this.flags = (this.flags & ~CF) | cf; }
    this.lOp = dec ? LazyOp.Sub : LazyOp.Add; this.lA = a; this.lB = 1; this.lRes = r; this.lTop = top;
    this.lazy = OSZAPC & ~CF;
  }
  /** Set OSZAPC eagerly from explicit values (shifts, multiplies, BCD...). */
  flagsEager(f: number): void {
    this.flags = (this.flags & ~OSZAPC) | (f & OSZAPC);
    this.lazy = 0;
  }
  /** SF, ZF, PF of a result as eager bits (helper for instructions computing flags themselves). */
  static szp(r: number, top: number): number {
    const m = top === 31 ? -1 : (1 << (top + 1)) - 1;
    const v = r & m;
    return (v === 0 ? ZF : 0) | (((v >>> top) & 1) << 7) | (PARITY[v & 0xff] << 2);
  }
}
