// Stack: PUSH/POP (registers, immediates, memory, segment registers), PUSHA/POPA, PUSHF/POPF,
// ENTER/LEAVE. Stack width follows SS.B; operand width follows the operand-size attribute.

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { EFLAGS, SEG, IOPL_SHIFT } from '../arch.js';
import { Mode } from '../state.js';
import { loadSeg } from '../segments.js';

// --- registers (PUSH ESP pushes the value before the push) ---
export function op_50_57_pushZv16(c: CPU, i: Insn): void { c.push16(c.r16[i.reg << 1]); }
export function op_50_57_pushZv32(c: CPU, i: Insn): void { c.push32(c.r32[i.reg]); }
// POP ESP: the popped value wins over the increment.
export function op_58_5F_popZv16(c: CPU, i: Insn): void { const v = c.pop16(); c.r16[i.reg << 1] = v; }
export function op_58_5F_popZv32(c: CPU, i: Insn): void { const v = c.pop32(); c.r32[i.reg] = v; }
export function op_68_pushIz16(c: CPU, i: Insn): void { c.push16(i.imm); }
export function op_68_pushIz32(c: CPU, i: Insn): void { c.push32(i.imm); }
export function op_6A_pushIbs16(c: CPU, i: Insn): void { c.push16(i.imm & 0xffff); }
export function op_6A_pushIbs32(c: CPU, i: Insn): void { c.push32(i.imm); }
export function op_FF_6_pushEv16(c: CPU, i: Insn): void { c.push16(c.readE16(i)); }
export function op_FF_6_pushEv32(c: CPU, i: Insn): void { c.push32(c.readE32(i)); }
// POP to memory: the address is computed after ESP is incremented (SDM Vol2 POP).
export function op_8F_0_popEv16(c: CPU, i: Insn): void {
  const v = c.peekStack(0, 2);
  if (i.mod === 3) { c.adjustSp(2); c.r16[i.rm << 1] = v; return; }
  c.adjustSp(2);
  try { c.wr16(c.eaLin(i, 2, true), v); } catch (e) { c.adjustSp(-2); throw e; }
}
export function op_8F_0_popEv32(c: CPU, i: Insn): void {
  const v = c.peekStack(0, 4);
  if (i.mod === 3) { c.adjustSp(4); c.r32[i.rm] = v; return; }
  c.adjustSp(4);
  try { c.wr32(c.eaLin(i, 4, true), v); } catch (e) { c.adjustSp(-4); throw e; }
}

// --- segment registers (a 32-bit push writes the selector zero-extended) ---
function pushSeg(c: CPU, i: Insn, s: number): void { if (i.o32) c.push32(c.segSel[s]); else c.push16(c.segSel[s]); }
function popSeg(c: CPU, i: Insn, s: number): void {
  const n = i.o32 ? 4 : 2;
  const v = c.peekStack(0, n) & 0xffff;
  loadSeg(c, s, v);
  c.adjustSp(n);
  if (s === SEG.SS) { c.intShadow = true; c.shadowMovSs = true; } // POP SS inhibits interrupts for one instruction
}
export function op_06_pushES(c: CPU, i: Insn): void { pushSeg(c, i, SEG.ES); }
export function op_0E_pushCS(c: CPU, i: Insn): void { pushSeg(c, i, SEG.CS); }
export function op_16_pushSS(c: CPU, i: Insn): void { pushSeg(c, i, SEG.SS); }
export function op_1E_pushDS(c: CPU, i: Insn): void { pushSeg(c, i, SEG.DS); }
export function op_0FA0_pushFS(c: CPU, i: Insn): void { pushSeg(c, i, SEG.FS); }
export function op_0FA8_pushGS(c: CPU, i: Insn): void { pushSeg(c, i, SEG.GS); }
export function op_07_popES(c: CPU, i: Insn): void { popSeg(c, i, SEG.ES); }
export function op_17_popSS(c: CPU, i: Insn): void { popSeg(c, i, SEG.SS); }
export function op_1F_popDS(c: CPU, i: Insn): void { popSeg(c, i, SEG.DS); }
export function op_0FA1_popFS(c: CPU, i: Insn): void { popSeg(c, i, SEG.FS); }
export function op_0FA9_popGS(c: CPU, i: Insn): void { popSeg(c, i, SEG.GS); }

// --- PUSHA / POPA (POPA skips the saved ESP) ---
export function op_60_pusha16(c: CPU): void {
  const sp = c.r16[8];
  const save = c.r32[4];
  try { for (let r = 0; r < 8; r++) c.push16(r === 4 ? sp : c.r16[r << 1]); } catch (e) { c.r32[4] = save; throw e; }
}
export function op_60_pusha32(c: CPU): void {
  const sp = c.r32[4];
  try { for (let r = 0; r < 8; r++) c.push32(r === 4 ? sp : c.r32[r]); } catch (e) { c.r32[4] = sp; throw e; }
}
export function op_61_popa16(c: CPU): void {
  const v = new Array<number>(8);
  for (let k = 0; k < 8; k++) v[k] = c.peekStack(k * 2, 2);
  for (let r = 7; r >= 0; r--) if (r !== 4) c.r16[r << 1] = v[7 - r];
  c.adjustSp(16);
}
export function op_61_popa32(c: CPU): void {
  const v = new Array<number>(8);
  for (let k = 0; k < 8; k++) v[k] = c.peekStack(k * 4, 4);
  for (let r = 7; r >= 0; r--) if (r !== 4) c.r32[r] = v[7 - r];
  c.adjustSp(32);
}

// --- PUSHF / POPF (SDM Vol2 PUSHF, POPF: privilege rules for IF and IOPL; VM and RF never popped) ---
function iopl(c: CPU): number { return (c.flags >>> IOPL_SHIFT) & 3; }
export function op_9C_pushf16(c: CPU): void {
  if (c.mode === Mode.V86 && iopl(c) < 3) c.gp(0);
  c.push16(c.getEflags() & 0xffff);
}
export function op_9C_pushf32(c: CPU): void {
  if (c.mode === Mode.V86 && iopl(c) < 3) c.gp(0);
  c.push32(c.getEflags() & ~(EFLAGS.VM | EFLAGS.RF));
}
const POPF_BASE = EFLAGS.CF | EFLAGS.PF | EFLAGS.AF | EFLAGS.ZF | EFLAGS.SF | EFLAGS.TF | EFLAGS.DF | EFLAGS.OF | EFLAGS.NT | EFLAGS.AC | EFLAGS.ID;
function popfMask(c: CPU): number {
  let m = POPF_BASE;
  if (c.mode === Mode.Real) m |= EFLAGS.IF | EFLAGS.IOPL;
  else if (c.mode === Mode.V86) { if (iopl(c) < 3) c.gp(0); m |= EFLAGS.IF; }
  else { if (c.cpl === 0) m |= EFLAGS.IOPL; if (c.cpl <= iopl(c)) m |= EFLAGS.IF; }
  return m;
}
export function op_9D_popf16(c: CPU): void {
  const m = popfMask(c) & 0xffff;
  const v = c.peekStack(0, 2);
  c.setFlagBits(v, m);
  c.adjustSp(2);
}
export function op_9D_popf32(c: CPU): void {
  const m = popfMask(c);
  const v = c.peekStack(0, 4);
  c.setFlagBits(v, m | EFLAGS.RF);
  c.flags &= ~EFLAGS.RF;
  c.adjustSp(4);
}

// --- ENTER / LEAVE ---
function enter(c: CPU, i: Insn, size: number): void {
  const alloc = i.imm & 0xffff;
  const level = i.imm2 & 31;
  const saveSp = c.r32[4], saveBp = c.r32[5];
  const push = size === 4 ? (v: number) => c.push32(v) : (v: number) => c.push16(v);
  try {
    push(size === 4 ? c.r32[5] : c.r16[10]);
    const frame = c.ss32 ? c.r32[4] : c.r16[8];
    if (level > 0) {
      let bp = c.ss32 ? c.r32[5] : c.r16[10];
      for (let k = 1; k < level; k++) {
        bp = c.ss32 ? (bp - size) | 0 : (bp - size) & 0xffff;
        const la = c.lin(SEG.SS, bp, size, false);
        push(size === 4 ? c.rd32(la) : c.rd16(la));
      }
      push(frame);
    }
    // The final stack pointer must be writable (SDM: #SS if it is outside the stack segment).
    const newSp = c.ss32 ? (c.r32[4] - alloc) | 0 : (c.r16[8] - alloc) & 0xffff;
    if (alloc > 0) c.lin(SEG.SS, newSp, 1, true);
    if (size === 4) c.r32[5] = frame; else c.r16[10] = frame;
    if (c.ss32) c.r32[4] = newSp; else c.r16[8] = newSp;
  } catch (e) { c.r32[4] = saveSp; c.r32[5] = saveBp; throw e; }
}
export function op_C8_enter16(c: CPU, i: Insn): void { enter(c, i, 2); }
export function op_C8_enter32(c: CPU, i: Insn): void { enter(c, i, 4); }
export function op_C9_leave16(c: CPU): void {
  const sp = c.ss32 ? c.r32[5] : c.r16[10];
  const v = c.rd16(c.lin(SEG.SS, sp, 2, false));
  if (c.ss32) c.r32[4] = (sp + 2) | 0; else c.r16[8] = (sp + 2) & 0xffff;
  c.r16[10] = v;
}
export function op_C9_leave32(c: CPU): void {
  const sp = c.ss32 ? c.r32[5] : c.r16[10];
  const v = c.rd32(c.lin(SEG.SS, sp, 4, false));
  if (c.ss32) c.r32[4] = (sp + 4) | 0; else c.r16[8] = (sp + 4) & 0xffff;
  c.r32[5] = v;
}
