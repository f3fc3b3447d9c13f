// Building a vCPU's VMCS, as XMHF's vmx_initunrestrictedguestVMCS does: execution controls (what
// exits), host state (where the processor returns on a VM exit), guest state (where the guest
// starts). Every control value is checked against the TRUE capability MSRs first, the way a
// careful VMM adjusts "default1" bits (Vol3D A.2): required bits set, unsupported ones refused.
//
// Runs in: VMX root operation, before VMLAUNCH.

import { F } from '../machine/vmx/vmcs-fields.js';
import { ENTRY_CTL, EXIT_CTL, PROC, PROC2, VMX_MSR } from '../machine/vmx/controls.js';
import { AR, CR0, CR4, SEG } from '../machine/cpu/arch.js';
import type { CapturedState, VmxUnit } from '../machine/vmx/vmx-unit.js';

/** Settings the core chose for the guest's controls. */
export interface ControlChoice {
  proc: number; proc2: number; exit: number; entry: number; pin: number;
  exceptionBitmap: number; vpid: number;
  eptp: [number, number]; ioBitmapA: number; ioBitmapB: number; msrBitmap: number;
  cr0Mask: number; cr0Shadow: number; cr4Mask: number; cr4Shadow: number;
}

/** Adjust a wanted control value to a capability MSR pair [must-be-1, may-be-1]; throws on an unsupported bit. */
export function adjustControls(vmx: VmxUnit, msr: number, want: number, what: string): number {
  const [must1, may1] = vmx.rdmsr(msr);
  const missing = want & ~may1;
  if (missing !== 0) throw new Error(`the processor does not support ${what} bits 0x${(missing >>> 0).toString(16)} (${VMX_MSR_NAME(msr)})`);
  return (want | must1) | 0;
}
function VMX_MSR_NAME(msr: number): string {
  return Object.entries(VMX_MSR).find(([, v]) => v === msr)?.[0] ?? `MSR 0x${msr.toString(16)}`;
}

/** Write the execution, exit and entry control fields. */
export function writeControls(vmx: VmxUnit, c: ControlChoice): void {
  vmx.write(F.PIN_BASED_VM_EXEC_CONTROL, c.pin);
  vmx.write(F.CPU_BASED_VM_EXEC_CONTROL, c.proc);
  vmx.write(F.SECONDARY_VM_EXEC_CONTROL, c.proc2);
  vmx.write(F.VM_EXIT_CONTROLS, c.exit);
  vmx.write(F.VM_ENTRY_CONTROLS, c.entry);
  vmx.write(F.EXCEPTION_BITMAP, c.exceptionBitmap);
  vmx.write(F.PAGE_FAULT_ERROR_CODE_MASK, 0);
  vmx.write(F.PAGE_FAULT_ERROR_CODE_MATCH, 0);
  vmx.write(F.CR3_TARGET_COUNT, 0);
  vmx.write(F.IO_BITMAP_A, c.ioBitmapA);
  vmx.write(F.IO_BITMAP_B, c.ioBitmapB);
  vmx.write(F.MSR_BITMAP, c.msrBitmap);
  vmx.write(F.EPT_POINTER, c.eptp[1] * 0x100000000 + (c.eptp[0] >>> 0));
  vmx.write(F.VIRTUAL_PROCESSOR_ID, c.vpid);
  vmx.write(F.CR0_GUEST_HOST_MASK, c.cr0Mask);
  vmx.write(F.CR0_READ_SHADOW, c.cr0Shadow);
  vmx.write(F.CR4_GUEST_HOST_MASK, c.cr4Mask);
  vmx.write(F.CR4_READ_SHADOW, c.cr4Shadow);
  vmx.write(F.VM_EXIT_MSR_STORE_COUNT, 0);
  vmx.write(F.VM_EXIT_MSR_LOAD_COUNT, 0);
  vmx.write(F.VM_ENTRY_MSR_LOAD_COUNT, 0);
  vmx.write(F.VM_ENTRY_INTR_INFO_FIELD, 0);
  vmx.write64(F.VMCS_LINK_POINTER, -1, -1); // all ones: no shadow VMCS
}

/** The controls the core wants: exits only for what it must own; EPT + unrestricted guest + VPID. */
export function wantedControls(vmx: VmxUnit): { pin: number; proc: number; proc2: number; exit: number; entry: number } {
  return {
    pin: adjustControls(vmx, VMX_MSR.IA32_VMX_TRUE_PINBASED_CTLS, 0, 'pin-based'),
    proc: adjustControls(vmx, VMX_MSR.IA32_VMX_TRUE_PROCBASED_CTLS,
      PROC.USE_IO_BITMAPS | PROC.USE_MSR_BITMAPS | PROC.ACTIVATE_SECONDARY_CONTROLS, 'primary processor-based'),
    proc2: adjustControls(vmx, VMX_MSR.IA32_VMX_PROCBASED_CTLS2,
      PROC2.ENABLE_EPT | PROC2.UNRESTRICTED_GUEST | PROC2.ENABLE_VPID, 'secondary processor-based'),
    exit: adjustControls(vmx, VMX_MSR.IA32_VMX_TRUE_EXIT_CTLS,
      EXIT_CTL.SAVE_IA32_PAT | EXIT_CTL.LOAD_IA32_PAT | EXIT_CTL.SAVE_IA32_EFER | EXIT_CTL.LOAD_IA32_EFER | EXIT_CTL.SAVE_DEBUG_CONTROLS, 'VM-exit'),
    entry: adjustControls(vmx, VMX_MSR.IA32_VMX_TRUE_ENTRY_CTLS,
      ENTRY_CTL.LOAD_IA32_PAT | ENTRY_CTL.LOAD_IA32_EFER | ENTRY_CTL.LOAD_DEBUG_CONTROLS, 'VM-entry'),
  };
}

/** Host state: whatever the host's registers hold now (set up by the core), and where exits land. */
export function writeHostState(vmx: VmxUnit, hostRip: number, hostRsp: number, hostTrBase: number): void {
  const c = vmx.cpu;
  vmx.write(F.HOST_CR0, c.cr0);
  vmx.write(F.HOST_CR3, c.cr3);
  vmx.write(F.HOST_CR4, c.cr4);
  vmx.write(F.HOST_ES_SELECTOR, c.segSel[SEG.ES]);
  vmx.write(F.HOST_CS_SELECTOR, c.segSel[SEG.CS]);
  vmx.write(F.HOST_SS_SELECTOR, c.segSel[SEG.SS]);
  vmx.write(F.HOST_DS_SELECTOR, c.segSel[SEG.DS]);
  vmx.write(F.HOST_FS_SELECTOR, c.segSel[SEG.FS]);
  vmx.write(F.HOST_GS_SELECTOR, c.segSel[SEG.GS]);
  vmx.write(F.HOST_TR_SELECTOR, c.segSel[SEG.TR]);
  vmx.write(F.HOST_FS_BASE, 0);
  vmx.write(F.HOST_GS_BASE, 0);
  vmx.write(F.HOST_TR_BASE, hostTrBase);
  vmx.write(F.HOST_GDTR_BASE, c.gdtrBase);
  vmx.write(F.HOST_IDTR_BASE, c.idtrBase);
  vmx.write(F.HOST_IA32_SYSENTER_CS, 0);
  vmx.write(F.HOST_IA32_SYSENTER_ESP, 0);
  vmx.write(F.HOST_IA32_SYSENTER_EIP, 0);
  const [patLo, patHi] = vmx.rdmsr(0x277);
  vmx.write(F.HOST_IA32_PAT, (patHi >>> 0) * 0x100000000 + (patLo >>> 0));
  const [efer] = vmx.rdmsr(0xc0000080);
  vmx.write(F.HOST_IA32_EFER, efer >>> 0);
  vmx.write(F.HOST_RSP, hostRsp);
  vmx.write(F.HOST_RIP, hostRip);
}

const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'];

/**
 * Guest state from the state the boot loader left the processor in. CR0 and CR4 get the bits VMX
 * operation forces (NE, VMXE); the guest keeps seeing its own values through the read shadows.
 */
export function writeGuestState(vmx: VmxUnit, s: CapturedState, cr0Forced: number, cr4Forced: number): void {
  vmx.write(F.GUEST_CR0, s.cr0 | cr0Forced);
  vmx.write(F.GUEST_CR3, s.cr3);
  vmx.write(F.GUEST_CR4, s.cr4 | cr4Forced);
  vmx.write(F.GUEST_DR7, s.dr7);
  vmx.write(F.GUEST_IA32_DEBUGCTL, 0);
  vmx.write(F.GUEST_IA32_PAT, (s.patHi >>> 0) * 0x100000000 + (s.patLo >>> 0));
  vmx.write(F.GUEST_IA32_EFER, s.efer >>> 0);
  vmx.write(F.GUEST_SYSENTER_CS, s.sysenterCs);
  vmx.write(F.GUEST_SYSENTER_ESP, s.sysenterEsp);
  vmx.write(F.GUEST_SYSENTER_EIP, s.sysenterEip);
  const realMode = (s.cr0 & CR0.PE) === 0;
  s.segs.forEach((g, k) => {
    const n = SEG_NAMES[k];
    let ar = g.ar;
    // Usable segments are accessed (VM entry requires it for CS/SS/DS.. types, Vol3C 26.3.1.2).
    if ((ar & AR.UNUSABLE) === 0 && (ar & AR.S) !== 0) ar |= AR.ACCESSED;
    if (realMode && k === SEG.SS) ar &= ~AR.DPL_MASK;
    vmx.write(F[`GUEST_${n}_SELECTOR`], g.sel);
    vmx.write(F[`GUEST_${n}_BASE`], g.base);
    vmx.write(F[`GUEST_${n}_LIMIT`], g.limit);
    vmx.write(F[`GUEST_${n}_AR_BYTES`], ar);
  });
  vmx.write(F.GUEST_GDTR_BASE, s.gdtrBase); vmx.write(F.GUEST_GDTR_LIMIT, s.gdtrLimit);
  vmx.write(F.GUEST_IDTR_BASE, s.idtrBase); vmx.write(F.GUEST_IDTR_LIMIT, s.idtrLimit);
  vmx.write(F.GUEST_RIP, s.rip);
  vmx.write(F.GUEST_RSP, s.rsp);
  vmx.write(F.GUEST_RFLAGS, s.rflags);
  vmx.write(F.GUEST_INTERRUPTIBILITY_INFO, (s.blockingBySti ? 1 : 0) | (s.blockingByMovSs ? 2 : 0));
  vmx.write(F.GUEST_ACTIVITY_STATE, 0);
  vmx.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
  const pdpte = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];
  for (let k = 0; k < 4; k++) vmx.write(pdpte[k], (s.pdpteHi[k] >>> 0) * 0x100000000 + (s.pdpteLo[k] >>> 0));
  void CR4;
}

/**
 * The processor state after INIT (Vol3A 9.1.1, Table 9-1): real mode at F000:FFF0 (CS base
 * FFFF0000H), caches disabled, segments with 64-KiB limits. An application processor's guest waits
 * in this state (activity wait-for-SIPI) until a SIPI gives it a start address.
 */
export function initState(): CapturedState {
  const data = { sel: 0, base: 0, limit: 0xffff, ar: AR.P | AR.S | AR.RW | AR.ACCESSED };
  return {
    cr0: CR0.CD | CR0.NW | CR0.ET, cr3: 0, cr4: 0, dr7: 0x400, efer: 0, patLo: 0x00070406, patHi: 0x00070406,
    sysenterCs: 0, sysenterEsp: 0, sysenterEip: 0,
    segs: [data, { sel: 0xf000, base: 0xffff0000 | 0, limit: 0xffff, ar: AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED }, data, data, data, data,
      { sel: 0, base: 0, limit: 0xffff, ar: AR.P | 2 }, { sel: 0, base: 0, limit: 0xffff, ar: AR.P | 11 }],
    gdtrBase: 0, gdtrLimit: 0xffff, idtrBase: 0, idtrLimit: 0xffff,
    rip: 0xfff0, rsp: 0, rflags: 2, cpl: 0, blockingBySti: false, blockingByMovSs: false,
    pdpteLo: [0, 0, 0, 0], pdpteHi: [0, 0, 0, 0],
  };
}

/**
 * Put vCPU state for SIPI `vector` into the VMCS: real mode at vector×100H:0000 (Vol3A 8.4.4.1),
 * activity "active".
 */
export function writeSipiState(vmx: VmxUnit, vector: number): void {
  vmx.write(F.GUEST_CS_SELECTOR, vector << 8);
  vmx.write(F.GUEST_CS_BASE, vector << 12);
  vmx.write(F.GUEST_RIP, 0);
  vmx.write(F.GUEST_ACTIVITY_STATE, 0);
}
