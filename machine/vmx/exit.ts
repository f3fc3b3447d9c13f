// VM exits (Intel SDM Vol3C ch. 27): record the exit information, save the guest state into the
// current VMCS, save MSRs, load the host state, load MSRs — then the processor is in VMX root
// operation and the host's handler (the code at HOST_RIP) runs.
//
// Runs in: VMX non-root operation, from wherever the exit was detected (intercepts.ts, event
// delivery, the MMU's EPT walk, the run loop). The caller then unwinds the instruction: exits
// inside an instruction throw VMEXIT, which the CPU's run loop catches.

import { AR, CR0, CR4, EFLAGS, SEG } from '../cpu/arch.js';
import type { CPU } from '../cpu/cpu.js';
import { Stop } from '../cpu/state.js';
import { loadPdptes } from '../cpu/paging.js';
import { F, type VmcsField } from './vmcs-fields.js';
import type { Vmcs } from './vmcs.js';
import type { VmxUnit } from './vmx-unit.js';
import { ACTIVITY, ENTRY_CTL, EXIT_CTL, INTERRUPTIBILITY, INTR_INFO, INTR_TYPE, PENDING_DBG, PIN } from './controls.js';
import { EXIT_REASON } from './exit-reasons.js';
import { PREEMPTION_TIMER_RATE } from './capabilities.js';

/** Thrown (as this singleton) to unwind the current instruction after a VM exit was performed. */
export class VmExitSignal { readonly kind = 'VmExit'; }
export const VMEXIT = new VmExitSignal();

/**
 * What the detector of an exit knows beyond the reason. Reset after every exit; fields left at
 * their defaults are written as 0 ("undefined" in the SDM's terms for that exit).
 */
export class ExitInfo {
  qualification = 0;
  /** Guest RIP to save: the instruction's own EIP for instruction exits and faults, else the next EIP. */
  rip = 0;
  ripValid = false;
  instrLen = 0;
  instrInfo = 0;
  guestLinear = 0;
  guestPhysical = 0;
  intrInfo = 0;
  intrErrorCode = 0;
  reset(): void {
    this.qualification = 0; this.rip = 0; this.ripValid = false; this.instrLen = 0; this.instrInfo = 0;
    this.guestLinear = 0; this.guestPhysical = 0; this.intrInfo = 0; this.intrErrorCode = 0;
  }
}

const SEGS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'].map((s) => ({
  sel: F[`GUEST_${s}_SELECTOR`], base: F[`GUEST_${s}_BASE`], limit: F[`GUEST_${s}_LIMIT`], ar: F[`GUEST_${s}_AR_BYTES`],
}));
const PDPTE_FIELDS: VmcsField[] = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];

/**
 * Perform a VM exit with basic reason `reason` (Vol3C 27.1-27.5). The caller staged details in
 * u.x. Does not unwind: exits detected inside an instruction must `throw VMEXIT` afterwards.
 * `entryFailure`: a VM-entry failure after the control checks (Vol3C 26.8): only the exit reason
 * and qualification are written, the VM-entry interruption information keeps its valid bit, no
 * guest state or MSRs are saved; the host state is loaded as for an exit.
 */
export function vmExit(u: VmxUnit, reason: number, entryFailure = false): void {
  const c = u.cpu, v = u.current!, x = u.x, nr = u.nr;
  const rip = x.ripValid ? x.rip : c.eip;
  // Virtual time: a VM exit and the host's handling cost one instruction's worth (1 ns), so an
  // instruction the host emulates takes the time it would take bare.
  c.clock.insns++;

  // 27.2: exit information.
  v.set(F.VM_EXIT_REASON, reason);
  v.set(F.EXIT_QUALIFICATION, x.qualification);
  u.record(reason, x.qualification, rip);
  if (entryFailure) {
    c.clock.arm(u.preemptionTimer, Infinity);
    loadHostState(u, v, c, reason);
    x.reset();
    nr.vectoringInfo = 0; nr.vectoringErrorCode = 0; nr.vectoringInstrLen = 0;
    c.nonRoot = null;
    u.exitPending = true;
    c.stop = Stop.VmExit;
    c.blockStop = true;
    return;
  }
  v.set(F.GUEST_LINEAR_ADDRESS, x.guestLinear);
  v.set(F.GUEST_PHYSICAL_ADDRESS, x.guestPhysical);
  v.set(F.VM_EXIT_INTR_INFO, x.intrInfo);
  v.set(F.VM_EXIT_INTR_ERROR_CODE, x.intrErrorCode);
  v.set(F.IDT_VECTORING_INFO_FIELD, nr.vectoringInfo);
  v.set(F.IDT_VECTORING_ERROR_CODE, nr.vectoringErrorCode);
  v.set(F.VM_EXIT_INSTRUCTION_LEN, x.instrLen !== 0 ? x.instrLen : nr.vectoringInstrLen);
  v.set(F.VMX_INSTRUCTION_INFO, x.instrInfo);
  // VM exits clear the valid bit of the VM-entry interruption-information field (Vol3C 24.8.3).
  v.set(F.VM_ENTRY_INTR_INFO_FIELD, v.get32(F.VM_ENTRY_INTR_INFO_FIELD) & ~INTR_INFO.VALID);

  saveGuestState(u, v, c, rip, reason);
  c.clock.arm(u.preemptionTimer, Infinity);
  saveMsrs(u, v);
  loadHostState(u, v, c, reason);
  x.reset();
  nr.vectoringInfo = 0; nr.vectoringErrorCode = 0; nr.vectoringInstrLen = 0;
  c.nonRoot = null;
  u.exitPending = true;
  c.stop = Stop.VmExit;
  c.blockStop = true;
}

/** Vol3C 27.3: save the guest state. */
function saveGuestState(u: VmxUnit, v: Vmcs, c: CPU, rip: number, reason: number): void {
  const nr = u.nr;
  v.set(F.GUEST_CR0, c.cr0);
  v.set(F.GUEST_CR3, c.cr3);
  v.set(F.GUEST_CR4, c.cr4);
  if ((nr.exitCtl & EXIT_CTL.SAVE_DEBUG_CONTROLS) !== 0) {
    v.set(F.GUEST_DR7, c.dr[7]);
    v.set64(F.GUEST_IA32_DEBUGCTL, u.debugCtl, 0);
  }
  v.set(F.GUEST_SYSENTER_CS, c.sysenterCs);
  v.set(F.GUEST_SYSENTER_ESP, c.sysenterEsp);
  v.set(F.GUEST_SYSENTER_EIP, c.sysenterEip);
  if ((nr.exitCtl & EXIT_CTL.SAVE_IA32_PAT) !== 0) v.set64(F.GUEST_IA32_PAT, c.patLo, c.patHi);
  if ((nr.exitCtl & EXIT_CTL.SAVE_IA32_EFER) !== 0) v.set64(F.GUEST_IA32_EFER, c.efer, 0);
  for (let s = 0; s < 8; s++) {
    const f = SEGS[s];
    v.set(f.sel, c.segSel[s]);
    v.set(f.base, c.segBase[s]);
    v.set(f.limit, c.segLimit[s]);
    // A usable segment's AR carries no bits 31:17; an unusable one is saved with bit 16 set (27.3.2).
    v.set(f.ar, c.segAr[s] & (AR.UNUSABLE | 0xf0ff));
  }
  v.set(F.GUEST_GDTR_BASE, c.gdtrBase); v.set(F.GUEST_GDTR_LIMIT, c.gdtrLimit);
  v.set(F.GUEST_IDTR_BASE, c.idtrBase); v.set(F.GUEST_IDTR_LIMIT, c.idtrLimit);
  v.set(F.GUEST_RIP, rip);
  v.set(F.GUEST_RSP, c.r32[4]);
  const fl = c.getEflags();
  v.set(F.GUEST_RFLAGS, fl);
  // 27.3.4: non-register state.
  let intr = 0;
  const shadow = c.shadowNow !== 0 ? c.shadowNow : c.intShadow ? (c.shadowMovSs ? 2 : 1) : 0;
  if (shadow === 1) intr |= INTERRUPTIBILITY.BLOCKING_BY_STI;
  else if (shadow === 2) intr |= INTERRUPTIBILITY.BLOCKING_BY_MOV_SS;
  const nmiBlocked = (nr.pin & PIN.VIRTUAL_NMIS) !== 0 ? nr.virtualNmiBlocked : c.nmiBlocked;
  if (nmiBlocked) intr |= INTERRUPTIBILITY.BLOCKING_BY_NMI;
  v.set(F.GUEST_INTERRUPTIBILITY_INFO, intr);
  const halted = c.halted && reason !== EXIT_REASON.TRIPLE_FAULT;
  v.set(F.GUEST_ACTIVITY_STATE, c.waitForSipi ? ACTIVITY.WAIT_FOR_SIPI : halted ? ACTIVITY.HLT : ACTIVITY.ACTIVE);
  // A pending single-step trap must survive the round trip (26.3.1.5 requires BS then).
  const tf = (fl & EFLAGS.TF) !== 0;
  v.set(F.GUEST_PENDING_DBG_EXCEPTIONS, tf && (intr & 3) !== 0 || tf && halted ? PENDING_DBG.BS : 0);
  if ((nr.exitCtl & EXIT_CTL.SAVE_VMX_PREEMPTION_TIMER_VALUE) !== 0) {
    const left = nr.preemptionDeadline === Infinity ? 0 : Math.max(0, nr.preemptionDeadline - c.clock.nowNs());
    v.set(F.VMX_PREEMPTION_TIMER_VALUE, Math.min(0xffffffff, Math.ceil(left / 2 ** PREEMPTION_TIMER_RATE)));
  }
  if (nr.ept !== null && (c.cr0 & CR0.PG) !== 0 && (c.cr4 & CR4.PAE) !== 0) {
    for (let k = 0; k < 4; k++) v.set64(PDPTE_FIELDS[k], c.pdpteLo[k], c.pdpteHi[k]);
  }
}

/** Vol3C 27.4: the VM-exit MSR-store list: 16-byte entries (index, reserved, value). */
function saveMsrs(u: VmxUnit, v: Vmcs): void {
  const n = v.get(F.VM_EXIT_MSR_STORE_COUNT);
  if (n === 0) return;
  const base = v.get(F.VM_EXIT_MSR_STORE_ADDR);
  for (let k = 0; k < n; k++) {
    const e = base + 16 * k;
    const index = u.mem.read(e, 4);
    const r = u.cpu.hostRdmsr(index);
    if (r === null) { vmxAbort(u, ABORT.SAVING_GUEST_MSRS, `VM-exit MSR-store entry ${k}: MSR 0x${(index >>> 0).toString(16)} cannot be read`); return; }
    u.mem.write(e + 8, 4, r[0]); u.mem.write(e + 12, 4, r[1]);
  }
}

/** Vol3C 27.5: load the host state. */
function loadHostState(u: VmxUnit, v: Vmcs, c: CPU, reason: number): void {
  const nr = u.nr;
  // 27.5.1: CR0 keeps ET and reserved bits; CR3, CR4 as given; DR7 = 400H; DEBUGCTL cleared.
  c.cr0 = (v.get32(F.HOST_CR0) & ~CR0.ET) | CR0.ET;
  c.cr3 = v.get32(F.HOST_CR3);
  c.cr4 = v.get32(F.HOST_CR4);
  c.dr[7] = 0x400;
  u.debugCtl = 0;
  c.sysenterCs = v.get32(F.HOST_IA32_SYSENTER_CS);
  c.sysenterEsp = v.get32(F.HOST_IA32_SYSENTER_ESP);
  c.sysenterEip = v.get32(F.HOST_IA32_SYSENTER_EIP);
  if ((nr.exitCtl & EXIT_CTL.LOAD_IA32_PAT) !== 0) { c.patLo = v.get32(F.HOST_IA32_PAT); c.patHi = v.getHi(F.HOST_IA32_PAT); }
  if ((nr.exitCtl & EXIT_CTL.LOAD_IA32_EFER) !== 0) c.efer = v.get32(F.HOST_IA32_EFER);
  // 27.5.2: segments. CS: flat 32-bit code; others flat data if non-null, else unusable.
  const FLAT = AR.P | AR.S | AR.DB | AR.G | AR.ACCESSED;
  c.setSegCache(SEG.CS, v.get(F.HOST_CS_SELECTOR), 0, 0xffffffff, FLAT | AR.CODE | AR.RW);
  const data = (s: number, f: VmcsField, base: number): void => {
    const sel = v.get(f);
    if (sel === 0) c.setSegCache(s, 0, 0, 0, AR.UNUSABLE);
    else c.setSegCache(s, sel, base, 0xffffffff, FLAT | AR.RW);
  };
  data(SEG.SS, F.HOST_SS_SELECTOR, 0);
  data(SEG.DS, F.HOST_DS_SELECTOR, 0);
  data(SEG.ES, F.HOST_ES_SELECTOR, 0);
  data(SEG.FS, F.HOST_FS_SELECTOR, v.get32(F.HOST_FS_BASE));
  data(SEG.GS, F.HOST_GS_SELECTOR, v.get32(F.HOST_GS_BASE));
  c.setSegCache(SEG.TR, v.get(F.HOST_TR_SELECTOR), v.get32(F.HOST_TR_BASE), 0x67, AR.P | 11);
  c.setSegCache(SEG.LDTR, 0, 0, 0, AR.UNUSABLE);
  c.gdtrBase = v.get32(F.HOST_GDTR_BASE); c.gdtrLimit = 0xffff;
  c.idtrBase = v.get32(F.HOST_IDTR_BASE); c.idtrLimit = 0xffff;
  c.eip = v.get32(F.HOST_RIP);
  c.r32[4] = v.get32(F.HOST_RSP);
  c.flags = EFLAGS.FIXED1; c.lazy = 0;
  c.cpl = 0;
  c.halted = false; c.waitForSipi = false;
  c.intShadow = false; c.shadowMovSs = false; c.shadowNow = 0;
  // An exit caused by an NMI leaves NMIs blocked (27.5.5).
  const nmiExit = reason === EXIT_REASON.EXCEPTION_NMI && ((u.x.intrInfo & INTR_INFO.TYPE_MASK) >>> 8) === INTR_TYPE.NMI;
  if (nmiExit && (nr.pin & PIN.VIRTUAL_NMIS) === 0) c.nmiBlocked = true;
  c.updateMode();
  if ((c.cr0 & CR0.PG) !== 0 && (c.cr4 & CR4.PAE) !== 0) {
    if (!loadPdptes(c.mem, c.cr3, c.pdpteLo, c.pdpteHi)) vmxAbort(u, ABORT.HOST_PDPTE, 'host PDPTEs at HOST_CR3 have reserved bits set');
  }
  // 27.6: the VM-exit MSR-load list.
  const n = v.get(F.VM_EXIT_MSR_LOAD_COUNT);
  const base = v.get(F.VM_EXIT_MSR_LOAD_ADDR);
  for (let k = 0; k < n; k++) {
    const e = base + 16 * k;
    const index = u.mem.read(e, 4);
    if (!c.hostWrmsr(index, u.mem.read(e + 8, 4), u.mem.read(e + 12, 4))) {
      vmxAbort(u, ABORT.LOADING_HOST_MSRS, `VM-exit MSR-load entry ${k}: MSR 0x${(index >>> 0).toString(16)} cannot be written`);
      return;
    }
  }
  void ENTRY_CTL;
}

/** VMX-abort indicators (Vol3C 27.7). */
export const ABORT = { SAVING_GUEST_MSRS: 1, HOST_PDPTE: 2, VMCS_CORRUPTED: 3, LOADING_HOST_MSRS: 4, MACHINE_CHECK: 5 } as const;

/** VMX abort (Vol3C 27.7): the processor writes the abort indicator (bytes 4-7 of the VMCS region) and shuts down. */
export function vmxAbort(u: VmxUnit, indicator: number, why: string): void {
  if (u.current !== null) u.mem.write(u.current.pa + 4, 4, indicator);
  u.haltHost(`VMX abort: ${why}`, 70);
}
