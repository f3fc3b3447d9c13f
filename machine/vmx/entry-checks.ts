// The checks VM entry performs before it loads anything (Intel SDM Vol3C 26.2 and 26.3.1), in the
// SDM's order, one function per section. A failed check throws EntryCheckFailure naming the
// section, the field and what is wrong — more than hardware says ("VM entry with invalid control
// field(s)"), which is the point: the developer sees which check failed.
//
// Runs in: VMX root operation, from VMLAUNCH/VMRESUME (vmx-unit.ts), before guest state is loaded.

import { AR, CR0, CR4, EFER, EFLAGS } from '../cpu/arch.js';
import { MAXPHYADDR } from '../cpu/paging.js';
import { F, type VmcsField } from './vmcs-fields.js';
import type { Vmcs } from './vmcs.js';
import { ctlOk, CR3_TARGET_COUNT, MAX_MSR_LIST, physAddrOk, type VmxCaps, type CtlCap } from './capabilities.js';
import {
  ACTIVITY, ENTRY_CTL, ENTRY_FAIL_QUAL, EPTP, EXIT_CTL, INTERRUPTIBILITY, INTR_INFO, INTR_TYPE, MEMTYPE, PENDING_DBG, PIN,
  PROC, PROC2, VMX_ERROR,
} from './controls.js';

/** Which part of VM entry failed: controls and host state fail the instruction (VMfailValid), guest state exits. */
export const enum CheckArea { Control = 0, Host = 1, Guest = 2 }

export class EntryCheckFailure {
  constructor(
    readonly area: CheckArea,
    /** SDM section, e.g. "26.3.1.2". */
    readonly section: string,
    /** VMCS field(s) concerned. */
    readonly field: string,
    readonly message: string,
    /** For guest-state failures: the exit qualification (Vol3C 26.8). */
    readonly qualification: number = ENTRY_FAIL_QUAL.DEFAULT,
  ) {}
  /** VM-instruction error number for control/host failures (Vol3C 31.4). */
  get vmError(): number {
    return this.area === CheckArea.Control ? VMX_ERROR.ENTRY_INVALID_CONTROL_FIELD : VMX_ERROR.ENTRY_INVALID_HOST_STATE_FIELD;
  }
  toString(): string { return `Vol3C ${this.section}: ${this.field}: ${this.message}`; }
}

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

function fail(area: CheckArea, section: string, field: VmcsField | string, message: string, qual?: number): never {
  throw new EntryCheckFailure(area, section, typeof field === 'string' ? field : field.name, message, qual);
}

/** Physical memory the checks may need to read (the VMCS link pointer's revision identifier). */
export interface CheckMemory { read32(pa: number): number; readonly size: number }

/** The context of one entry: the VMCS, the capabilities, and whether it is VMLAUNCH. */
export interface EntryContext { vmcs: Vmcs; caps: VmxCaps; mem: CheckMemory; revision: number }

// ================================================================ 26.2.1 VMX controls

/** Vol3C 26.2.1.1: VM-execution control fields. */
export function checkExecutionControls(x: EntryContext): void {
  const v = x.vmcs, S = '26.2.1.1', A = CheckArea.Control;
  const pin = v.get32(F.PIN_BASED_VM_EXEC_CONTROL), proc = v.get32(F.CPU_BASED_VM_EXEC_CONTROL);
  ctlCheck(pin, x.caps.truePin, S, F.PIN_BASED_VM_EXEC_CONTROL);
  ctlCheck(proc, x.caps.trueProc, S, F.CPU_BASED_VM_EXEC_CONTROL);
  const proc2 = (proc & PROC.ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
  if ((proc & PROC.ACTIVATE_SECONDARY_CONTROLS) !== 0) ctlCheck(proc2, x.caps.proc2, S, F.SECONDARY_VM_EXEC_CONTROL);
  const n = v.get(F.CR3_TARGET_COUNT);
  if (n > CR3_TARGET_COUNT) fail(A, S, F.CR3_TARGET_COUNT, `${n} exceeds the ${CR3_TARGET_COUNT} CR3-target values supported`);
  if ((proc & PROC.USE_IO_BITMAPS) !== 0) {
    bitmapAddr(v, F.IO_BITMAP_A, S); bitmapAddr(v, F.IO_BITMAP_B, S);
  }
  if ((proc & PROC.USE_MSR_BITMAPS) !== 0) bitmapAddr(v, F.MSR_BITMAP, S);
  // TPR shadow is not supported, so the APIC-virtualization controls that need it are caught by ctlCheck.
  if ((pin & PIN.NMI_EXITING) === 0 && (pin & PIN.VIRTUAL_NMIS) !== 0) {
    fail(A, S, F.PIN_BASED_VM_EXEC_CONTROL, '"virtual NMIs" is 1 but "NMI exiting" is 0');
  }
  if ((pin & PIN.VIRTUAL_NMIS) === 0 && (proc & PROC.NMI_WINDOW_EXITING) !== 0) {
    fail(A, S, F.CPU_BASED_VM_EXEC_CONTROL, '"NMI-window exiting" is 1 but "virtual NMIs" is 0');
  }
  if ((proc2 & PROC2.ENABLE_VPID) !== 0 && v.get(F.VIRTUAL_PROCESSOR_ID) === 0) {
    fail(A, S, F.VIRTUAL_PROCESSOR_ID, '"enable VPID" is 1 but the VPID is 0000H');
  }
  if ((proc2 & PROC2.ENABLE_EPT) !== 0) checkEptp(v.get32(F.EPT_POINTER), v.getHi(F.EPT_POINTER), S);
  if ((proc2 & PROC2.UNRESTRICTED_GUEST) !== 0 && (proc2 & PROC2.ENABLE_EPT) === 0) {
    fail(A, S, F.SECONDARY_VM_EXEC_CONTROL, '"unrestricted guest" is 1 but "enable EPT" is 0');
  }
}

function ctlCheck(value: number, cap: CtlCap, section: string, f: VmcsField): void {
  if (!ctlOk(value, cap)) {
    const missing = cap.must1 & ~value, extra = value & ~cap.may1;
    const what = [missing ? `bits ${hex(missing)} must be 1` : '', extra ? `bits ${hex(extra)} must be 0 (not supported)` : ''].filter(Boolean).join('; ');
    fail(CheckArea.Control, section, f, `${hex(value)}: ${what} (see the capability MSRs)`);
  }
}

function bitmapAddr(v: Vmcs, f: VmcsField, section: string): void {
  const a = v.get(f);
  if (a % 4096 !== 0) fail(CheckArea.Control, section, f, `${hex(a)} is not 4-KByte aligned`);
  if (!physAddrOk(a)) fail(CheckArea.Control, section, f, `${hex(a)} is beyond the physical-address width (${MAXPHYADDR} bits)`);
}

/** EPTP format (Vol3C 24.6.11): memory type UC or WB, page-walk length 4, reserved bits 0 (A/D flags are supported). */
export function eptpProblem(lo: number, hi: number): string | null {
  const type = lo & EPTP.MEMTYPE_MASK;
  if (type !== MEMTYPE.UC && type !== MEMTYPE.WB) return `memory type ${type} is not supported (UC or WB)`;
  if (((lo & EPTP.WALK_LENGTH_MASK) >>> 3) !== 3) return `page-walk length ${((lo & EPTP.WALK_LENGTH_MASK) >>> 3) + 1} is not 4`;
  if ((lo & 0xf80) !== 0) return 'reserved bits 11:7 are not 0';
  if ((hi & ~((1 << (MAXPHYADDR - 32)) - 1)) !== 0) return `bits 63:${MAXPHYADDR} are not 0`;
  return null;
}
function checkEptp(lo: number, hi: number, section: string): void {
  const p = eptpProblem(lo, hi);
  if (p !== null) fail(CheckArea.Control, section, F.EPT_POINTER, p);
}

/** Vol3C 26.2.1.2: VM-exit control fields. */
export function checkExitControls(x: EntryContext): void {
  const v = x.vmcs, S = '26.2.1.2';
  const exit = v.get32(F.VM_EXIT_CONTROLS), pin = v.get32(F.PIN_BASED_VM_EXEC_CONTROL);
  ctlCheck(exit, x.caps.trueExit, S, F.VM_EXIT_CONTROLS);
  if ((pin & PIN.ACTIVATE_VMX_PREEMPTION_TIMER) === 0 && (exit & EXIT_CTL.SAVE_VMX_PREEMPTION_TIMER_VALUE) !== 0) {
    fail(CheckArea.Control, S, F.VM_EXIT_CONTROLS, '"save VMX-preemption timer value" is 1 but the timer is not activated');
  }
  msrList(v, F.VM_EXIT_MSR_STORE_COUNT, F.VM_EXIT_MSR_STORE_ADDR, S);
  msrList(v, F.VM_EXIT_MSR_LOAD_COUNT, F.VM_EXIT_MSR_LOAD_ADDR, S);
}

function msrList(v: Vmcs, count: VmcsField, addr: VmcsField, section: string): void {
  const n = v.get(count);
  if (n === 0) return;
  if (n > MAX_MSR_LIST) fail(CheckArea.Control, section, count, `${n} entries exceed the ${MAX_MSR_LIST} supported`);
  const a = v.get(addr);
  if (a % 16 !== 0) fail(CheckArea.Control, section, addr, `${hex(a)} is not 16-byte aligned`);
  if (!physAddrOk(a + n * 16 - 1)) fail(CheckArea.Control, section, addr, `the list ends beyond the physical-address width`);
}

/** Vol3C 26.2.1.3: VM-entry control fields, including the event-injection fields. */
export function checkEntryControls(x: EntryContext): void {
  const v = x.vmcs, S = '26.2.1.3', A = CheckArea.Control;
  const entry = v.get32(F.VM_ENTRY_CONTROLS);
  ctlCheck(entry, x.caps.trueEntry, S, F.VM_ENTRY_CONTROLS);
  const info = v.get32(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & INTR_INFO.VALID) !== 0) {
    const type = (info & INTR_INFO.TYPE_MASK) >>> INTR_INFO.TYPE_SHIFT, vec = info & INTR_INFO.VECTOR_MASK;
    const f = F.VM_ENTRY_INTR_INFO_FIELD;
    if (type === 1) fail(A, S, f, 'interruption type 1 is reserved');
    // Type 7 (other event) is reserved only without "monitor trap flag" support; it is supported here.
    if (type === INTR_TYPE.OTHER_EVENT && (x.caps.trueProc.may1 & PROC.MONITOR_TRAP_FLAG) === 0) fail(A, S, f, 'interruption type 7 is reserved without monitor trap flag support');
    if (type === INTR_TYPE.OTHER_EVENT && vec !== 0) fail(A, S, f, `other event with vector ${vec} (must be 0: pending MTF VM exit)`);
    if (type === INTR_TYPE.NMI && vec !== 2) fail(A, S, f, `NMI injection with vector ${vec} (must be 2)`);
    if (type === INTR_TYPE.HARDWARE_EXCEPTION && vec > 31) fail(A, S, f, `hardware exception with vector ${vec} (must be 0-31)`);
    const dec = (info & INTR_INFO.ERROR_CODE_VALID) !== 0;
    const pe = (v.get32(F.GUEST_CR0) & CR0.PE) !== 0;
    const proc2 = (v.get32(F.CPU_BASED_VM_EXEC_CONTROL) & PROC.ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
    const ug = (proc2 & PROC2.UNRESTRICTED_GUEST) !== 0;
    const hasCode = type === INTR_TYPE.HARDWARE_EXCEPTION && [8, 10, 11, 12, 13, 14, 17].includes(vec);
    if (dec && ug && !pe) fail(A, S, f, '"deliver error code" is 1 but the guest is in real mode (CR0.PE = 0)');
    if (dec !== (hasCode && (pe || !ug))) {
      fail(A, S, f, dec ? `"deliver error code" is 1 for an event without an error code (type ${type}, vector ${vec})`
        : `"deliver error code" is 0 for exception ${vec}, which has an error code`);
    }
    if ((info & 0x7ffff000) !== 0) fail(A, S, f, 'reserved bits 30:12 are not 0');
    if (dec && (v.get32(F.VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff8000) !== 0) {
      fail(A, S, F.VM_ENTRY_EXCEPTION_ERROR_CODE, 'bits 31:15 are not 0');
    }
    if (type === INTR_TYPE.SOFTWARE_INTERRUPT || type === INTR_TYPE.PRIVILEGED_SOFTWARE_EXCEPTION || type === INTR_TYPE.SOFTWARE_EXCEPTION) {
      const len = v.get(F.VM_ENTRY_INSTRUCTION_LEN);
      if (len < 1 || len > 15) fail(A, S, F.VM_ENTRY_INSTRUCTION_LEN, `${len} is not 1-15 for a software event`);
    }
  }
  msrList(v, F.VM_ENTRY_MSR_LOAD_COUNT, F.VM_ENTRY_MSR_LOAD_ADDR, S);
  if ((entry & (ENTRY_CTL.ENTRY_TO_SMM | ENTRY_CTL.DEACTIVATE_DUAL_MONITOR_TREATMENT)) !== 0) {
    fail(A, S, F.VM_ENTRY_CONTROLS, '"entry to SMM" and "deactivate dual-monitor treatment" must be 0 outside SMM');
  }
}

// ================================================================ 26.2.2-26.2.4 host state

/** Vol3C 26.2.2: host control registers and MSRs. */
export function checkHostControlRegsAndMsrs(x: EntryContext): void {
  const v = x.vmcs, S = '26.2.2', A = CheckArea.Host, c = x.caps;
  const cr0 = v.get32(F.HOST_CR0), cr4 = v.get32(F.HOST_CR4);
  if ((cr0 & c.cr0Fixed0) !== c.cr0Fixed0 || (cr0 & ~c.cr0Fixed1) !== 0) {
    fail(A, S, F.HOST_CR0, `${hex(cr0)} violates IA32_VMX_CR0_FIXED0/1 (PE, NE and PG must be 1)`);
  }
  if ((cr4 & c.cr4Fixed0) !== c.cr4Fixed0 || (cr4 & ~c.cr4Fixed1) !== 0) {
    fail(A, S, F.HOST_CR4, `${hex(cr4)} violates IA32_VMX_CR4_FIXED0/1 (VMXE must be 1; unsupported bits must be 0)`);
  }
  const cr3 = v.get(F.HOST_CR3);
  if (!physAddrOk(cr3)) fail(A, S, F.HOST_CR3, `${hex(cr3)} exceeds the physical-address width`);
  const exit = v.get32(F.VM_EXIT_CONTROLS);
  if ((exit & EXIT_CTL.LOAD_IA32_PAT) !== 0) patCheck(v.get32(F.HOST_IA32_PAT), v.getHi(F.HOST_IA32_PAT), A, S, F.HOST_IA32_PAT);
  if ((exit & EXIT_CTL.LOAD_IA32_EFER) !== 0) {
    const e = v.get32(F.HOST_IA32_EFER);
    if ((e & ~EFER.NXE) !== 0 || v.getHi(F.HOST_IA32_EFER) !== 0) {
      fail(A, S, F.HOST_IA32_EFER, `${hex(e)}: reserved bits set (this IA-32 processor has only EFER.NXE)`);
    }
  }
}

/** A PAT value is valid if each of its 8 entries is a memory type 0, 1, 4, 5, 6 or 7 (Vol3A 11.12.2). */
function patCheck(lo: number, hi: number, area: CheckArea, section: string, f: VmcsField): void {
  for (let k = 0; k < 8; k++) {
    const t = ((k < 4 ? lo : hi) >>> ((k & 3) * 8)) & 0xff;
    if (t === 2 || t === 3 || t > 7) fail(area, section, f, `PA${k} holds invalid memory type ${t}`);
  }
}

/** Vol3C 26.2.3: host segment and descriptor-table registers. */
export function checkHostSegments(x: EntryContext): void {
  const v = x.vmcs, S = '26.2.3', A = CheckArea.Host;
  for (const f of [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR]) {
    if ((v.get(f) & 7) !== 0) fail(A, S, f, `${hex(v.get(f))}: RPL and TI must be 0`);
  }
  if (v.get(F.HOST_CS_SELECTOR) === 0) fail(A, S, F.HOST_CS_SELECTOR, 'must not be 0000H');
  if (v.get(F.HOST_TR_SELECTOR) === 0) fail(A, S, F.HOST_TR_SELECTOR, 'must not be 0000H');
  // "host address-space size" is 0 on this IA-32 processor, so SS must not be null.
  if (v.get(F.HOST_SS_SELECTOR) === 0) fail(A, S, F.HOST_SS_SELECTOR, 'must not be 0000H when "host address-space size" is 0');
}

/** Vol3C 26.2.4: address-space size. On a processor without Intel 64 both controls must be 0. */
export function checkAddressSpaceSize(x: EntryContext): void {
  const v = x.vmcs;
  if ((v.get32(F.VM_EXIT_CONTROLS) & EXIT_CTL.HOST_ADDRESS_SPACE_SIZE) !== 0) {
    fail(CheckArea.Host, '26.2.4', F.VM_EXIT_CONTROLS, '"host address-space size" must be 0: this processor does not support Intel 64');
  }
  if ((v.get32(F.VM_ENTRY_CONTROLS) & ENTRY_CTL.IA32E_MODE_GUEST) !== 0) {
    fail(CheckArea.Host, '26.2.4', F.VM_ENTRY_CONTROLS, '"IA-32e mode guest" must be 0: this processor does not support Intel 64');
  }
}

// ================================================================ 26.3.1 guest state

function secondary(v: Vmcs): number {
  return (v.get32(F.CPU_BASED_VM_EXEC_CONTROL) & PROC.ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
}

/** Vol3C 26.3.1.1: guest control registers, debug registers and MSRs. */
export function checkGuestControlRegs(x: EntryContext): void {
  const v = x.vmcs, S = '26.3.1.1', A = CheckArea.Guest, c = x.caps;
  const cr0 = v.get32(F.GUEST_CR0), cr4 = v.get32(F.GUEST_CR4);
  const ug = (secondary(v) & PROC2.UNRESTRICTED_GUEST) !== 0;
  const fixed0 = ug ? c.cr0Fixed0 & ~(CR0.PE | CR0.PG) : c.cr0Fixed0;
  if ((cr0 & fixed0) !== fixed0 || (cr0 & ~c.cr0Fixed1) !== 0) {
    fail(A, S, F.GUEST_CR0, `${hex(cr0)} violates IA32_VMX_CR0_FIXED0/1 (${ug ? 'NE' : 'PE, NE and PG'} must be 1)`);
  }
  if ((cr0 & CR0.PG) !== 0 && (cr0 & CR0.PE) === 0) fail(A, S, F.GUEST_CR0, 'PG is 1 but PE is 0');
  if ((cr4 & c.cr4Fixed0) !== c.cr4Fixed0 || (cr4 & ~c.cr4Fixed1) !== 0) {
    fail(A, S, F.GUEST_CR4, `${hex(cr4)} violates IA32_VMX_CR4_FIXED0/1 (VMXE must be 1; unsupported bits must be 0)`);
  }
  const entry = v.get32(F.VM_ENTRY_CONTROLS);
  if ((entry & ENTRY_CTL.LOAD_DEBUG_CONTROLS) !== 0 && (v.get32(F.GUEST_IA32_DEBUGCTL) !== 0 || v.getHi(F.GUEST_IA32_DEBUGCTL) !== 0)) {
    fail(A, S, F.GUEST_IA32_DEBUGCTL, 'reserved bits set (this processor implements no IA32_DEBUGCTL features)');
  }
  const cr3 = v.get(F.GUEST_CR3);
  if (!physAddrOk(cr3)) fail(A, S, F.GUEST_CR3, `${hex(cr3)} exceeds the physical-address width`);
  if ((entry & ENTRY_CTL.LOAD_IA32_PAT) !== 0) patCheck(v.get32(F.GUEST_IA32_PAT), v.getHi(F.GUEST_IA32_PAT), A, S, F.GUEST_IA32_PAT);
  if ((entry & ENTRY_CTL.LOAD_IA32_EFER) !== 0) {
    const e = v.get32(F.GUEST_IA32_EFER);
    if ((e & ~EFER.NXE) !== 0 || v.getHi(F.GUEST_IA32_EFER) !== 0) fail(A, S, F.GUEST_IA32_EFER, `${hex(e)}: reserved bits set (LMA/LME need IA-32e mode)`);
  }
}

const SEG_FIELDS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'].map((s) => ({
  name: s, sel: F[`GUEST_${s}_SELECTOR`], base: F[`GUEST_${s}_BASE`], limit: F[`GUEST_${s}_LIMIT`], ar: F[`GUEST_${s}_AR_BYTES`],
}));
const ES = 0, CS = 1, SS = 2, LDTR = 6, TR = 7;

/** Vol3C 26.3.1.2: guest segment registers (selectors, bases, limits, access rights). */
export function checkGuestSegments(x: EntryContext): void {
  const v = x.vmcs, S = '26.3.1.2', A = CheckArea.Guest;
  const rflags = v.get32(F.GUEST_RFLAGS);
  const v86 = (rflags & EFLAGS.VM) !== 0;
  const ug = (secondary(v) & PROC2.UNRESTRICTED_GUEST) !== 0;
  const pe = (v.get32(F.GUEST_CR0) & CR0.PE) !== 0;
  const sel = (k: number): number => v.get(SEG_FIELDS[k].sel);
  const ar = (k: number): number => v.get32(SEG_FIELDS[k].ar);
  const unusable = (k: number): boolean => (ar(k) & AR.UNUSABLE) !== 0;
  const dpl = (k: number): number => (ar(k) & AR.DPL_MASK) >>> AR.DPL_SHIFT;

  if ((sel(TR) & 4) !== 0) fail(A, S, F.GUEST_TR_SELECTOR, 'TI flag must be 0');
  if (!unusable(LDTR) && (sel(LDTR) & 4) !== 0) fail(A, S, F.GUEST_LDTR_SELECTOR, 'TI flag must be 0 for a usable LDTR');
  if (!v86 && !ug && (sel(SS) & 3) !== (sel(CS) & 3)) fail(A, S, F.GUEST_SS_SELECTOR, `RPL ${sel(SS) & 3} differs from CS.RPL ${sel(CS) & 3}`);

  if (v86) {
    for (let k = ES; k <= 5; k++) {
      const s = SEG_FIELDS[k];
      if (v.get(s.base) !== sel(k) * 16) fail(A, S, s.base, `virtual-8086 mode: base ${hex(v.get(s.base))} is not selector × 16`);
      if (v.get(s.limit) !== 0xffff) fail(A, S, s.limit, 'virtual-8086 mode: limit must be 0000FFFFH');
      if (ar(k) !== 0xf3) fail(A, S, s.ar, `virtual-8086 mode: access rights ${hex(ar(k))} must be 000000F3H`);
    }
  } else {
    // CS.
    const csType = ar(CS) & AR.TYPE_MASK;
    const f = SEG_FIELDS[CS].ar;
    if (!(csType === 9 || csType === 11 || csType === 13 || csType === 15 || (ug && csType === 3))) {
      fail(A, S, f, `CS type ${csType} must be an accessed code segment (9, 11, 13, 15${ug ? ', or 3 with unrestricted guest' : ''})`);
    }
    if ((ar(CS) & AR.S) === 0) fail(A, S, f, 'CS.S must be 1');
    if (csType === 3 && dpl(CS) !== 0) fail(A, S, f, 'CS type 3 requires DPL 0');
    if ((csType === 9 || csType === 11) && dpl(CS) !== dpl(SS)) fail(A, S, f, `non-conforming CS: DPL ${dpl(CS)} must equal SS.DPL ${dpl(SS)}`);
    if ((csType === 13 || csType === 15) && dpl(CS) > dpl(SS)) fail(A, S, f, `conforming CS: DPL ${dpl(CS)} must not exceed SS.DPL ${dpl(SS)}`);
    if ((ar(CS) & AR.P) === 0) fail(A, S, f, 'CS.P must be 1');
    if (unusable(CS)) fail(A, S, f, 'CS must be usable');
    arCommon(v, CS, S);
    // SS.
    if (!unusable(SS)) {
      const ssType = ar(SS) & AR.TYPE_MASK, g = SEG_FIELDS[SS].ar;
      if (ssType !== 3 && ssType !== 7) fail(A, S, g, `SS type ${ssType} must be 3 or 7 (read/write, accessed)`);
      if ((ar(SS) & AR.S) === 0) fail(A, S, g, 'SS.S must be 1');
      if ((ar(SS) & AR.P) === 0) fail(A, S, g, 'SS.P must be 1');
      arCommon(v, SS, S);
    }
    if (!ug && dpl(SS) !== (sel(SS) & 3)) fail(A, S, SEG_FIELDS[SS].ar, `SS.DPL ${dpl(SS)} must equal SS.RPL ${sel(SS) & 3}`);
    if ((csType === 3 || !pe) && dpl(SS) !== 0) fail(A, S, SEG_FIELDS[SS].ar, 'SS.DPL must be 0 with CS type 3 or CR0.PE = 0');
    // DS, ES, FS, GS.
    for (const k of [0, 3, 4, 5]) {
      if (unusable(k)) continue;
      const t = ar(k) & AR.TYPE_MASK, g = SEG_FIELDS[k].ar;
      if ((t & 1) === 0) fail(A, S, g, `${SEG_FIELDS[k].name} type ${t} must be accessed`);
      if ((t & 8) !== 0 && (t & 2) === 0) fail(A, S, g, `${SEG_FIELDS[k].name} is an execute-only code segment`);
      if ((ar(k) & AR.S) === 0) fail(A, S, g, `${SEG_FIELDS[k].name}.S must be 1`);
      if (!ug && t <= 11 && dpl(k) < (sel(k) & 3)) fail(A, S, g, `${SEG_FIELDS[k].name}.DPL ${dpl(k)} is below its RPL ${sel(k) & 3}`);
      if ((ar(k) & AR.P) === 0) fail(A, S, g, `${SEG_FIELDS[k].name}.P must be 1`);
      arCommon(v, k, S);
    }
  }
  // TR: a busy TSS (type 11, or 3 for a 16-bit TSS), S = 0, present, usable.
  const trT = ar(TR) & AR.TYPE_MASK, tf = SEG_FIELDS[TR].ar;
  if (trT !== 11 && trT !== 3) fail(A, S, tf, `TR type ${trT} must be a busy TSS (11 or 3)`);
  if ((ar(TR) & AR.S) !== 0) fail(A, S, tf, 'TR.S must be 0');
  if ((ar(TR) & AR.P) === 0) fail(A, S, tf, 'TR.P must be 1');
  if (unusable(TR)) fail(A, S, tf, 'TR must be usable');
  arCommon(v, TR, S);
  // LDTR if usable.
  if (!unusable(LDTR)) {
    const lf = SEG_FIELDS[LDTR].ar;
    if ((ar(LDTR) & AR.TYPE_MASK) !== 2) fail(A, S, lf, `LDTR type ${ar(LDTR) & AR.TYPE_MASK} must be 2`);
    if ((ar(LDTR) & AR.S) !== 0) fail(A, S, lf, 'LDTR.S must be 0');
    if ((ar(LDTR) & AR.P) === 0) fail(A, S, lf, 'LDTR.P must be 1');
    arCommon(v, LDTR, S);
  }
}

/** Reserved access-rights bits and the granularity rule of one segment. */
function arCommon(v: Vmcs, k: number, section: string): void {
  const s = SEG_FIELDS[k];
  const a = v.get32(s.ar), lim = v.get(s.limit);
  if ((a & 0xf00) !== 0) fail(CheckArea.Guest, section, s.ar, `${s.name}: reserved bits 11:8 are not 0`);
  if ((a & 0xfffe0000) !== 0) fail(CheckArea.Guest, section, s.ar, `${s.name}: reserved bits 31:17 are not 0`);
  if ((lim & 0xfff) !== 0xfff && (a & AR.G) !== 0) fail(CheckArea.Guest, section, s.ar, `${s.name}: G must be 0 when limit bits 11:0 (${hex(lim)}) are not all 1`);
  if ((lim & 0xfff00000) !== 0 && (a & AR.G) === 0) fail(CheckArea.Guest, section, s.ar, `${s.name}: G must be 1 when limit bits 31:20 (${hex(lim)}) are not all 0`);
}

/** Vol3C 26.3.1.3: GDTR and IDTR. */
export function checkGuestDescriptorTables(x: EntryContext): void {
  const v = x.vmcs;
  for (const f of [F.GUEST_GDTR_LIMIT, F.GUEST_IDTR_LIMIT]) {
    if ((v.get(f) & 0xffff0000) !== 0) fail(CheckArea.Guest, '26.3.1.3', f, `${hex(v.get(f))}: bits 31:16 must be 0`);
  }
}

/** Vol3C 26.3.1.4: RIP and RFLAGS. */
export function checkGuestRipRflags(x: EntryContext): void {
  const v = x.vmcs, S = '26.3.1.4';
  const fl = v.get32(F.GUEST_RFLAGS);
  if ((fl & 0xffc08028) !== 0) fail(CheckArea.Guest, S, F.GUEST_RFLAGS, `${hex(fl)}: reserved bits (31:22, 15, 5, 3) must be 0`);
  if ((fl & EFLAGS.FIXED1) === 0) fail(CheckArea.Guest, S, F.GUEST_RFLAGS, `${hex(fl)}: bit 1 must be 1`);
  if ((fl & EFLAGS.VM) !== 0 && (v.get32(F.GUEST_CR0) & CR0.PE) === 0) fail(CheckArea.Guest, S, F.GUEST_RFLAGS, 'VM must be 0 when CR0.PE is 0');
  const info = v.get32(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & INTR_INFO.VALID) !== 0 && ((info & INTR_INFO.TYPE_MASK) >>> 8) === INTR_TYPE.EXTERNAL_INTERRUPT && (fl & EFLAGS.IF) === 0) {
    fail(CheckArea.Guest, S, F.GUEST_RFLAGS, 'IF must be 1 to inject an external interrupt');
  }
}

/** Vol3C 26.3.1.5: non-register state (activity, interruptibility, pending debug exceptions, VMCS link pointer). */
export function checkGuestNonRegisterState(x: EntryContext): void {
  const v = x.vmcs, S = '26.3.1.5', A = CheckArea.Guest;
  const act = v.get(F.GUEST_ACTIVITY_STATE), intr = v.get32(F.GUEST_INTERRUPTIBILITY_INFO);
  const info = v.get32(F.VM_ENTRY_INTR_INFO_FIELD), valid = (info & INTR_INFO.VALID) !== 0;
  const type = (info & INTR_INFO.TYPE_MASK) >>> 8, vec = info & 0xff;
  const ssDpl = (v.get32(F.GUEST_SS_AR_BYTES) & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (act > ACTIVITY.WAIT_FOR_SIPI) fail(A, S, F.GUEST_ACTIVITY_STATE, `${act} is not a valid activity state`);
  if (act === ACTIVITY.HLT && ssDpl !== 0) fail(A, S, F.GUEST_ACTIVITY_STATE, 'HLT activity state requires SS.DPL = 0');
  if ((intr & (INTERRUPTIBILITY.BLOCKING_BY_STI | INTERRUPTIBILITY.BLOCKING_BY_MOV_SS)) !== 0 && act !== ACTIVITY.ACTIVE) {
    fail(A, S, F.GUEST_ACTIVITY_STATE, 'must be active while blocking by STI or MOV SS is set');
  }
  if (valid) {
    const okHlt = type === INTR_TYPE.EXTERNAL_INTERRUPT || type === INTR_TYPE.NMI ||
      (type === INTR_TYPE.HARDWARE_EXCEPTION && (vec === 1 || vec === 18)) || type === INTR_TYPE.OTHER_EVENT;
    if (act === ACTIVITY.HLT && !okHlt) fail(A, S, F.GUEST_ACTIVITY_STATE, `cannot inject event type ${type} vector ${vec} into the HLT state`);
    if (act === ACTIVITY.SHUTDOWN && !(type === INTR_TYPE.NMI || (type === INTR_TYPE.HARDWARE_EXCEPTION && vec === 18))) {
      fail(A, S, F.GUEST_ACTIVITY_STATE, 'only NMI or #MC can be injected into the shutdown state');
    }
    if (act === ACTIVITY.WAIT_FOR_SIPI) fail(A, S, F.GUEST_ACTIVITY_STATE, 'no event can be injected into the wait-for-SIPI state');
  }
  const fi = F.GUEST_INTERRUPTIBILITY_INFO;
  if ((intr & 0xffffffe0) !== 0) fail(A, S, fi, `${hex(intr)}: reserved bits 31:5 must be 0`);
  if ((intr & 3) === 3) fail(A, S, fi, 'blocking by STI and by MOV SS cannot both be 1');
  if ((intr & INTERRUPTIBILITY.BLOCKING_BY_STI) !== 0 && (v.get32(F.GUEST_RFLAGS) & EFLAGS.IF) === 0) fail(A, S, fi, 'blocking by STI requires RFLAGS.IF = 1');
  if ((intr & INTERRUPTIBILITY.BLOCKING_BY_SMI) !== 0) fail(A, S, fi, 'blocking by SMI must be 0 outside SMM');
  if ((intr & INTERRUPTIBILITY.ENCLAVE_INTERRUPTION) !== 0) fail(A, S, fi, 'enclave interruption (bit 4) requires SGX, which this processor does not support');
  if (valid && type === INTR_TYPE.EXTERNAL_INTERRUPT && (intr & 3) !== 0) fail(A, S, fi, 'an external interrupt cannot be injected with blocking by STI or MOV SS');
  if (valid && type === INTR_TYPE.NMI) {
    if ((intr & INTERRUPTIBILITY.BLOCKING_BY_MOV_SS) !== 0) fail(A, S, fi, 'an NMI cannot be injected with blocking by MOV SS');
    if ((v.get32(F.PIN_BASED_VM_EXEC_CONTROL) & PIN.VIRTUAL_NMIS) !== 0 && (intr & INTERRUPTIBILITY.BLOCKING_BY_NMI) !== 0) {
      fail(A, S, fi, 'with virtual NMIs, an NMI cannot be injected while blocking by NMI is set');
    }
  }
  const pdbg = v.get32(F.GUEST_PENDING_DBG_EXCEPTIONS), fp = F.GUEST_PENDING_DBG_EXCEPTIONS;
  if ((pdbg & ~(PENDING_DBG.B0_B3 | PENDING_DBG.ENABLED_BREAKPOINT | PENDING_DBG.BS | PENDING_DBG.RTM)) !== 0) {
    fail(A, S, fp, `${hex(pdbg)}: reserved bits must be 0`);
  }
  // Bit 16 (RTM) requires RTM support (CPUID.(EAX=07H,ECX=0):EBX.RTM), which this processor lacks.
  if ((pdbg & PENDING_DBG.RTM) !== 0) fail(A, S, fp, 'RTM (bit 16) set but the processor does not support RTM');
  if ((intr & 3) !== 0 || act === ACTIVITY.HLT) {
    const tf = (v.get32(F.GUEST_RFLAGS) & EFLAGS.TF) !== 0;
    if (tf && (pdbg & PENDING_DBG.BS) === 0) fail(A, S, fp, 'BS must be 1 when RFLAGS.TF = 1 and interrupts are blocked or the guest is halted');
    if (!tf && (pdbg & PENDING_DBG.BS) !== 0) fail(A, S, fp, 'BS must be 0 when RFLAGS.TF = 0');
  }
  // VMCS link pointer: all ones, or a 4-KByte aligned region carrying the revision identifier with
  // bit 31 = the "VMCS shadowing" setting (0: not supported), and not the current VMCS.
  const lo = v.get32(F.VMCS_LINK_POINTER), hi = v.getHi(F.VMCS_LINK_POINTER);
  if (lo !== -1 || hi !== -1) {
    const pa = v.get(F.VMCS_LINK_POINTER);
    const ql = ENTRY_FAIL_QUAL.VMCS_LINK_POINTER;
    if ((pa & 0xfff) !== 0 || !physAddrOk(pa)) fail(A, S, F.VMCS_LINK_POINTER, `${hex(pa)} is neither FFFFFFFF_FFFFFFFFH nor a 4-KByte aligned address in range`, ql);
    if (pa >= x.mem.size || x.mem.read32(pa) !== x.revision) {
      fail(A, S, F.VMCS_LINK_POINTER, `the region at ${hex(pa)} does not carry revision identifier ${hex(x.revision)} with bit 31 = 0`, ql);
    }
    if (pa === v.pa) fail(A, S, F.VMCS_LINK_POINTER, `${hex(pa)} is the current VMCS`, ql);
  }
}

/**
 * Vol3C 26.3.1.6: PDPTEs, when the guest will use PAE paging. With EPT they come from the VMCS
 * fields; without, the caller passes the values it loaded from guest CR3. Reserved bits
 * (2:1, 8:5, 63:MAXPHYADDR) of a present PDPTE fail entry with qualification 2.
 */
export function checkPdptes(lo: Int32Array, hi: Int32Array, fromVmcs: boolean): void {
  for (let k = 0; k < 4; k++) {
    if ((lo[k] & 1) === 0) continue;
    if ((lo[k] & 0x1e6) !== 0 || (hi[k] & ~((1 << (MAXPHYADDR - 32)) - 1)) !== 0) {
      fail(CheckArea.Guest, '26.3.1.6', fromVmcs ? `GUEST_PDPTE${k}` : `PDPTE${k} at guest CR3`,
        `${hex(hi[k])}_${hex(lo[k]).slice(2).padStart(8, '0')}: reserved bits set`, ENTRY_FAIL_QUAL.PDPTE_LOADING);
    }
  }
}

/** Every check of 26.2 (controls, then host state): failures make VMLAUNCH/VMRESUME fail (VMfailValid). */
export function checkControlsAndHost(x: EntryContext): void {
  checkExecutionControls(x);
  checkExitControls(x);
  checkEntryControls(x);
  checkHostControlRegsAndMsrs(x);
  checkHostSegments(x);
  checkAddressSpaceSize(x);
}

/** Every check of 26.3.1 but the PDPTEs: failures are VM exits with reason 33 (entry failure). */
export function checkGuestState(x: EntryContext): void {
  checkGuestControlRegs(x);
  checkGuestSegments(x);
  checkGuestDescriptorTables(x);
  checkGuestRipRflags(x);
  checkGuestNonRegisterState(x);
}

/** CR4 bits set in `cr4` that the capability does not allow (used by MOV to CR4 in VMX operation). */
export function cr4Violation(cr4: number, caps: VmxCaps): number {
  return ((caps.cr4Fixed0 & ~cr4) | (cr4 & ~caps.cr4Fixed1)) | 0;
}
export { CR4 };
