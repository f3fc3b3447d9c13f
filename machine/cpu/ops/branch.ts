// Near control transfers: Jcc, JMP, CALL, RET (near), LOOP/LOOPcc, JCXZ/JECXZ.
// EIP already points at the next instruction when a handler runs. A target beyond the CS limit
// faults on the branch itself (#GP(0)), as the SDM's pseudo-code for each instruction says.

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { SEG } from '../arch.js';

/** Jump to `t` (already truncated to the operand size) after the CS limit check. */
function jumpTo(c: CPU, t: number): void {
  if ((t >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
  c.eip = t;
}
function rel(c: CPU, i: Insn): number { return i.o32 ? (c.eip + i.imm) | 0 : (c.eip + i.imm) & 0xffff; }

export function op_70_7F_jccJb(c: CPU, i: Insn): void { if (c.cond(i.cc)) jumpTo(c, rel(c, i)); }
export function op_0F80_8F_jccJz(c: CPU, i: Insn): void { if (c.cond(i.cc)) jumpTo(c, rel(c, i)); }
export function op_EB_jmpJb(c: CPU, i: Insn): void { jumpTo(c, rel(c, i)); }
export function op_E9_jmpJz(c: CPU, i: Insn): void { jumpTo(c, rel(c, i)); }

export function op_E8_callJz16(c: CPU, i: Insn): void {
  const t = rel(c, i);
  if ((t >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
  c.push16(c.eip);
  c.eip = t;
}
export function op_E8_callJz32(c: CPU, i: Insn): void {
  const t = rel(c, i);
  if ((t >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
  c.push32(c.eip);
  c.eip = t;
}
export function op_FF_2_callEv16(c: CPU, i: Insn): void {
  const t = c.readE16(i);
  if (t > c.segLimit[SEG.CS]) c.gp(0);
  c.push16(c.eip);
  c.eip = t;
}
export function op_FF_2_callEv32(c: CPU, i: Insn): void {
  const t = c.readE32(i);
  if ((t >>> 0) > c.segLimit[SEG.CS]) c.gp(0);
  c.push32(c.eip);
  c.eip = t;
}
export function op_FF_4_jmpEv16(c: CPU, i: Insn): void { jumpTo(c, c.readE16(i)); }
export function op_FF_4_jmpEv32(c: CPU, i: Insn): void { jumpTo(c, c.readE32(i)); }

// RET: read the return address first, check it, then release the stack.
export function op_C3_ret16(c: CPU): void { const t = c.peekStack(0, 2); if (t > c.segLimit[SEG.CS]) c.gp(0); c.adjustSp(2); c.eip = t; }
export function op_C3_ret32(c: CPU): void { const t = c.peekStack(0, 4); if ((t >>> 0) > c.segLimit[SEG.CS]) c.gp(0); c.adjustSp(4); c.eip = t; }
export function op_C2_retIw16(c: CPU, i: Insn): void { const t = c.peekStack(0, 2); if (t > c.segLimit[SEG.CS]) c.gp(0); c.adjustSp(2 + (i.imm & 0xffff)); c.eip = t; }
export function op_C2_retIw32(c: CPU, i: Insn): void { const t = c.peekStack(0, 4); if ((t >>> 0) > c.segLimit[SEG.CS]) c.gp(0); c.adjustSp(4 + (i.imm & 0xffff)); c.eip = t; }

// LOOP family: the counter is CX or ECX by address size; the branch target by operand size.
function decCount(c: CPU, i: Insn): number {
  if (i.a32) { const v = (c.r32[1] - 1) | 0; c.r32[1] = v; return v; }
  const v = (c.r16[2] - 1) & 0xffff; c.r16[2] = v; return v;
}
export function op_E2_loop(c: CPU, i: Insn): void { if (decCount(c, i) !== 0) jumpTo(c, rel(c, i)); }
export function op_E1_loope(c: CPU, i: Insn): void { if (decCount(c, i) !== 0 && c.getZF() !== 0) jumpTo(c, rel(c, i)); }
export function op_E0_loopne(c: CPU, i: Insn): void { if (decCount(c, i) !== 0 && c.getZF() === 0) jumpTo(c, rel(c, i)); }
export function op_E3_jecxz(c: CPU, i: Insn): void {
  const zero = i.a32 ? c.r32[1] === 0 : c.r16[2] === 0;
  if (zero) jumpTo(c, rel(c, i));
}
