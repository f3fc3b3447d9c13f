// VM entries (Intel SDM Vol3C ch. 26): the checks of VMLAUNCH/VMRESUME themselves (26.1), the
// control and host-state checks (26.2) that make the instruction fail, the guest-state checks
// (26.3.1) that make it "succeed" into an immediate VM exit, loading the guest state (26.3.2),
// MSR loading (26.4), event injection (26.6) — then the processor is in VMX non-root operation.
//
// Runs in: VMX root operation (the hypervisor's call to vmlaunch()/vmresume()).

import { AR, CR0, CR4, EFLAGS, SEG } from '../cpu/arch.js';
import type { CPU } from '../cpu/cpu.js';
import { Stop } from '../cpu/state.js';
import { EventKind } from '../cpu/exceptions.js';
import { loadPdptes } from '../cpu/paging.js';
import { F, type VmcsField } from './vmcs-fields.js';
import { LaunchState, type Vmcs } from './vmcs.js';
import type { VmxUnit } from './vmx-unit.js';
import { VM_SUCCEED } from './vmx-unit.js';
import {
  ACTIVITY, ENTRY_CTL, ENTRY_FAIL_QUAL, INTERRUPTIBILITY, INTR_INFO, INTR_TYPE, PIN, PROC, PROC2, VMX_ERROR,
} from './controls.js';
import { CheckArea, checkControlsAndHost, checkGuestState, checkPdptes, EntryCheckFailure, type EntryContext } from './entry-checks.js';
import { EXIT_REASON, EXIT_REASON_ENTRY_FAILURE } from './exit-reasons.js';
import { vmExit, VMEXIT } from './exit.js';
import { PREEMPTION_TIMER_RATE, VMCS_REVISION } from './capabilities.js';

const SEGS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'].map((s) => ({
  sel: F[`GUEST_${s}_SELECTOR`], base: F[`GUEST_${s}_BASE`], limit: F[`GUEST_${s}_LIMIT`], ar: F[`GUEST_${s}_AR_BYTES`],
}));
const PDPTE_FIELDS: VmcsField[] = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];

/** The last entry-check failure, for dumps ("which check failed"). */
export let lastEntryFailure: EntryCheckFailure | null = null;

/** VMLAUNCH (launch = true) or VMRESUME. Returns the VMX status of the instruction. */
export function vmEntry(u: VmxUnit, launch: boolean): number {
  const v = u.current;
  const c = u.cpu;
  // 26.1: checks by the instruction itself.
  if (v === null) return -1; // VMfailInvalid
  if (c.intShadow && c.shadowMovSs) return VMX_ERROR.ENTRY_EVENTS_BLOCKED_BY_MOV_SS;
  if (launch && v.launch !== LaunchState.Clear) return VMX_ERROR.VMLAUNCH_NONCLEAR_VMCS;
  if (!launch && v.launch !== LaunchState.Launched) return VMX_ERROR.VMRESUME_NONLAUNCHED_VMCS;
  if (!launch && v.launchedBeforeVmxoff) return VMX_ERROR.VMRESUME_AFTER_VMXOFF;

  const ctx: EntryContext = {
    vmcs: v, caps: u.caps, revision: VMCS_REVISION,
    mem: { read32: (pa) => u.mem.read(pa, 4), size: u.mem.size },
  };
  // 26.2: controls and host state — a failure fails the instruction.
  try {
    checkControlsAndHost(ctx);
  } catch (e) {
    if (!(e instanceof EntryCheckFailure)) throw e;
    lastEntryFailure = e;
    return e.vmError;
  }
  // 26.3.1: guest state — a failure is a VM exit with reason 33 and the entry-failure bit.
  u.nr.load(v); // the exit path needs the exit controls
  nmiBlockedBefore = c.nmiBlocked;
  try {
    checkGuestState(ctx);
  } catch (e) {
    if (!(e instanceof EntryCheckFailure)) throw e;
    lastEntryFailure = e;
    entryFailure(u, v, EXIT_REASON.ENTRY_FAIL_GUEST_STATE, e.qualification);
    return VM_SUCCEED;
  }
  lastEntryFailure = null;
  // 26.3.2: load the guest state.
  const pdpteProblem = loadGuestState(u, v, c);
  if (pdpteProblem !== null) {
    lastEntryFailure = pdpteProblem;
    entryFailure(u, v, EXIT_REASON.ENTRY_FAIL_GUEST_STATE, ENTRY_FAIL_QUAL.PDPTE_LOADING);
    return VM_SUCCEED;
  }
  // 26.4: the VM-entry MSR-load list.
  const n = v.get(F.VM_ENTRY_MSR_LOAD_COUNT), base = v.get(F.VM_ENTRY_MSR_LOAD_ADDR);
  for (let k = 0; k < n; k++) {
    const e = base + 16 * k;
    // Entry format (Vol3C 24.8.2, Table 24-12): index, reserved (must be 0), data. A failure exits with the entry number.
    if (u.mem.read(e + 4, 4) !== 0 || !c.hostWrmsr(u.mem.read(e, 4), u.mem.read(e + 8, 4), u.mem.read(e + 12, 4))) {
      lastEntryFailure = new EntryCheckFailure(CheckArea.Guest, '26.4', 'VM_ENTRY_MSR_LOAD_ADDR', `entry ${k + 1}: MSR 0x${(u.mem.read(e, 4) >>> 0).toString(16)} cannot be loaded`);
      entryFailure(u, v, EXIT_REASON.ENTRY_FAIL_MSR_LOADING, k + 1);
      return VM_SUCCEED;
    }
  }
  if (launch) v.launch = LaunchState.Launched;
  enterNonRoot(u, v, c);
  u.entries++;
  // 26.6: event injection — delivered through the guest's IDT now, in the guest context.
  const info = v.get32(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & INTR_INFO.VALID) !== 0) {
    // Type 7 (other event) vector 0: an MTF VM exit is pending before the first instruction (Vol3C 26.6.2).
    if (((info & INTR_INFO.TYPE_MASK) >>> INTR_INFO.TYPE_SHIFT) === INTR_TYPE.OTHER_EVENT) { u.nr.mtfPending = true; return VM_SUCCEED; }
    try {
      injectEvent(u, v, c, info);
      // With the monitor trap flag, an MTF VM exit is pending after the injected event's delivery (25.5.2).
      if ((u.nr.proc & PROC.MONITOR_TRAP_FLAG) !== 0 && c.nonRoot !== null) u.nr.mtfPending = true;
    } catch (e) {
      if (e !== VMEXIT) throw e;
    }
  }
  return VM_SUCCEED;
}

/** A VM-entry failure after the controls passed: load the host state as a VM exit would (26.8). */
function entryFailure(u: VmxUnit, v: Vmcs, reason: number, qual: number): void {
  const c = u.cpu;
  u.x.reset();
  u.x.qualification = qual;
  u.x.rip = v.get32(F.GUEST_RIP); u.x.ripValid = true;
  c.nonRoot = u.nr;
  vmExit(u, reason | EXIT_REASON_ENTRY_FAILURE, true);
  // "The state of blocking by NMI is what it was before VM entry" (26.8), even if guest state was loaded.
  c.nmiBlocked = nmiBlockedBefore;
}
/** NMI blocking when VM entry began (restored by an entry failure). */
let nmiBlockedBefore = false;

/** Vol3C 26.3.2: load the guest state into the processor. Returns a failure for bad PDPTEs, else null. */
function loadGuestState(u: VmxUnit, v: Vmcs, c: CPU): EntryCheckFailure | null {
  const nr = u.nr;
  const entryCtl = v.get32(F.VM_ENTRY_CONTROLS);
  c.cr0 = v.get32(F.GUEST_CR0) | CR0.ET;
  c.cr3 = v.get32(F.GUEST_CR3);
  c.cr4 = v.get32(F.GUEST_CR4);
  if ((entryCtl & ENTRY_CTL.LOAD_DEBUG_CONTROLS) !== 0) {
    c.dr[7] = v.get32(F.GUEST_DR7) | 0x400;
    u.debugCtl = v.get32(F.GUEST_IA32_DEBUGCTL);
  }
  c.sysenterCs = v.get32(F.GUEST_SYSENTER_CS);
  c.sysenterEsp = v.get32(F.GUEST_SYSENTER_ESP);
  c.sysenterEip = v.get32(F.GUEST_SYSENTER_EIP);
  if ((entryCtl & ENTRY_CTL.LOAD_IA32_PAT) !== 0) { c.patLo = v.get32(F.GUEST_IA32_PAT); c.patHi = v.getHi(F.GUEST_IA32_PAT); }
  if ((entryCtl & ENTRY_CTL.LOAD_IA32_EFER) !== 0) c.efer = v.get32(F.GUEST_IA32_EFER);
  c.flags = (v.get32(F.GUEST_RFLAGS) & ~EFLAGS.FIXED1) | EFLAGS.FIXED1; c.lazy = 0;
  // Segments (26.3.2.2): unusable ones keep only what the SDM says is loaded; the CPU treats them as unusable.
  for (let s = 0; s < 8; s++) {
    const f = SEGS[s];
    const ar = v.get32(f.ar);
    c.setSegCache(s, v.get(f.sel), v.get32(f.base), v.get(f.limit), (ar & AR.UNUSABLE) !== 0 ? AR.UNUSABLE | (ar & 0xf0ff) : ar);
  }
  c.gdtrBase = v.get32(F.GUEST_GDTR_BASE); c.gdtrLimit = v.get(F.GUEST_GDTR_LIMIT);
  c.idtrBase = v.get32(F.GUEST_IDTR_BASE); c.idtrLimit = v.get(F.GUEST_IDTR_LIMIT);
  c.eip = v.get32(F.GUEST_RIP);
  c.r32[4] = v.get32(F.GUEST_RSP);
  // CPL is SS.DPL (Vol3C 26.3.2.2); updateMode derives real/V86 from CR0.PE and RFLAGS.VM.
  c.cpl = (c.segAr[SEG.SS] & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  c.updateMode();
  // 26.3.2.4: PDPTEs for PAE paging — from the VMCS with EPT, else from guest CR3.
  if ((c.cr0 & CR0.PG) !== 0 && (c.cr4 & CR4.PAE) !== 0) {
    const ept = (v.get32(F.CPU_BASED_VM_EXEC_CONTROL) >>> 31) !== 0 && (v.get32(F.SECONDARY_VM_EXEC_CONTROL) & PROC2.ENABLE_EPT) !== 0;
    if (ept) {
      for (let k = 0; k < 4; k++) { c.pdpteLo[k] = v.get32(PDPTE_FIELDS[k]); c.pdpteHi[k] = v.getHi(PDPTE_FIELDS[k]); }
      try { checkPdptes(c.pdpteLo, c.pdpteHi, true); } catch (e) { if (e instanceof EntryCheckFailure) return e; throw e; }
    } else {
      const lo = new Int32Array(4), hi = new Int32Array(4);
      for (let k = 0; k < 4; k++) { lo[k] = c.mem.read(((c.cr3 & ~0x1f) >>> 0) + 8 * k, 4); hi[k] = c.mem.read(((c.cr3 & ~0x1f) >>> 0) + 8 * k + 4, 4); }
      try { checkPdptes(lo, hi, false); } catch (e) { if (e instanceof EntryCheckFailure) return e; throw e; }
      loadPdptes(c.mem, c.cr3, c.pdpteLo, c.pdpteHi);
    }
  }
  // 26.3.2.5: non-register state.
  const intr = v.get32(F.GUEST_INTERRUPTIBILITY_INFO);
  c.intShadow = (intr & (INTERRUPTIBILITY.BLOCKING_BY_STI | INTERRUPTIBILITY.BLOCKING_BY_MOV_SS)) !== 0;
  c.shadowMovSs = (intr & INTERRUPTIBILITY.BLOCKING_BY_MOV_SS) !== 0;
  c.shadowNow = 0;
  const pin = v.get32(F.PIN_BASED_VM_EXEC_CONTROL);
  if ((pin & PIN.VIRTUAL_NMIS) !== 0) nr.virtualNmiBlocked = (intr & INTERRUPTIBILITY.BLOCKING_BY_NMI) !== 0;
  else c.nmiBlocked = (intr & INTERRUPTIBILITY.BLOCKING_BY_NMI) !== 0;
  const act = v.get(F.GUEST_ACTIVITY_STATE);
  c.halted = act === ACTIVITY.HLT;
  if (act === ACTIVITY.SHUTDOWN || act === ACTIVITY.WAIT_FOR_SIPI) c.halted = true; // only NMI/INIT/SIPI can leave these
  c.waitForSipi = act === ACTIVITY.WAIT_FOR_SIPI;
  return null;
}

/** Switch the CPU to non-root operation with the decoded controls (the TLB is flushed when its tag changes). */
function enterNonRoot(u: VmxUnit, v: Vmcs, c: CPU): void {
  const nr = u.nr;
  // Without VPID, VM entries invalidate the linear mappings of VPID 0 (Vol3C 28.3.3.3); with EPT,
  // combined mappings are tagged by EPTP as well.
  const tag = nr.vpid === 0 ? -1 : (nr.vpid * 4096 + (nr.ept !== null ? v.get32(F.EPT_POINTER) >>> 12 : 0));
  if (tag === -1 || tag !== u.tlbTag) c.flushTlb(false);
  u.tlbTag = tag;
  const pin = nr.pin;
  // The timer counts TSC ticks (virtual nanoseconds here); a clock timer at its deadline lets a
  // halted guest's machine skip ahead to it (Vol3C 25.5.1).
  nr.preemptionDeadline = (pin & PIN.ACTIVATE_VMX_PREEMPTION_TIMER) !== 0
    ? c.clock.nowNs() + v.get(F.VMX_PREEMPTION_TIMER_VALUE) * 2 ** PREEMPTION_TIMER_RATE : Infinity;
  c.clock.arm(u.preemptionTimer, nr.preemptionDeadline);
  nr.mtfPending = false;
  c.nonRoot = nr;
  c.stop = Stop.None;
  c.updateMasks();
}

/** Vol3C 26.6: deliver the injected event through the guest IDT. */
function injectEvent(u: VmxUnit, v: Vmcs, c: CPU, info: number): void {
  const nr = u.nr;
  const vec = info & INTR_INFO.VECTOR_MASK, type = (info & INTR_INFO.TYPE_MASK) >>> INTR_INFO.TYPE_SHIFT;
  const code = (info & INTR_INFO.ERROR_CODE_VALID) !== 0 ? v.get32(F.VM_ENTRY_EXCEPTION_ERROR_CODE) : -1;
  const len = v.get(F.VM_ENTRY_INSTRUCTION_LEN);
  c.halted = false;
  let kind: EventKind;
  switch (type) {
    case INTR_TYPE.EXTERNAL_INTERRUPT: kind = EventKind.External; break;
    case INTR_TYPE.NMI:
      kind = EventKind.Nmi;
      if ((nr.pin & PIN.VIRTUAL_NMIS) !== 0) nr.virtualNmiBlocked = true; else c.nmiBlocked = true;
      break;
    case INTR_TYPE.HARDWARE_EXCEPTION: kind = EventKind.Fault; break;
    case INTR_TYPE.SOFTWARE_INTERRUPT: kind = EventKind.Software; break;
    case INTR_TYPE.PRIVILEGED_SOFTWARE_EXCEPTION: kind = EventKind.Icebp; break;
    default: kind = EventKind.SoftException; break;
  }
  // Software events push the address after the instruction, faults the instruction's own address;
  // event delivery records the event as IDT-vectoring information while it is being delivered.
  const soft = type === INTR_TYPE.SOFTWARE_INTERRUPT || type === INTR_TYPE.PRIVILEGED_SOFTWARE_EXCEPTION || type === INTR_TYPE.SOFTWARE_EXCEPTION;
  c.prevEip = c.eip;
  if (soft) c.eip = (c.eip + len) & c.ipMask;
  c.deliverInjected(vec, kind, code);
}
