// VMX instructions executed by x86 code (VMCALL VMLAUNCH VMRESUME VMXOFF VMREAD VMWRITE VMPTRLD
// VMPTRST VMCLEAR VMXON). x86 code on this machine never runs in VMX root operation (the
// hypervisor is TypeScript, see machine/vmx/vmx-unit.ts), so for it these are either VM exits —
// in VMX non-root operation, after the #UD checks that have priority (Vol3C 25.1.1) — or #UD.

import type { CPU } from '../cpu.js';
import type { Insn } from '../insn.js';
import { EFLAGS } from '../arch.js';
import { Mode } from '../state.js';
import { EXIT_REASON } from '../../vmx/exit-reasons.js';
import { descriptorInstrInfo, vmxInstructionExits } from '../../vmx/intercepts.js';

/** VMCALL exits in non-root operation whatever the CPL or mode (SDM Vol2 VMCALL); else #UD. */
export function op_0F01_C1_vmcall(c: CPU, i: Insn): void {
  if (c.nonRoot === null) c.ud();
  vmxInstructionExits(c, i, EXIT_REASON.VMCALL);
}

/**
 * The other VMX instructions: #UD outside VMX operation, in real mode (CR0.PE = 0) or virtual-8086
 * mode; in non-root operation they exit, with the displacement as qualification and the operand
 * layout as VM-exit instruction information (Vol3C 27.2.1, 27.2.5).
 */
function vmxInsn(c: CPU, i: Insn, reason: number): void {
  if (c.nonRoot === null || c.mode === Mode.Real || (c.flags & EFLAGS.VM) !== 0) c.ud();
  const info = descriptorInstrInfo(i, 0) | (i.reg << 28);
  vmxInstructionExits(c, i, reason, i.mod === 3 ? 0 : i.disp, info);
}

export function op_0F01_C2_vmlaunch(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMLAUNCH); }
export function op_0F01_C3_vmresume(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMRESUME); }
export function op_0F01_C4_vmxoff(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMXOFF); }
export function op_0F78_vmread(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMREAD); }
export function op_0F79_vmwrite(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMWRITE); }
export function op_0FC7_6_vmptrld(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMPTRLD); }
export function op_0FC7_7_vmptrst(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMPTRST); }
export function op_66_0FC7_6_vmclear(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMCLEAR); }
export function op_F3_0FC7_6_vmxon(c: CPU, i: Insn): void { vmxInsn(c, i, EXIT_REASON.VMXON); }
