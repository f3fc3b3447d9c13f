// The processor's working copy of the current VMCS's controls during VMX non-root operation,
// decoded once at VM entry so the "does this exit?" checks (intercepts.ts) cost a field load and
// a bit test. The CPU's `nonRoot` field points at this object exactly while the processor is in
// VMX non-root operation, and is null otherwise (bare runs and VMX root operation pay one null
// check per sensitive instruction).

import { F } from './vmcs-fields.js';
import type { Vmcs } from './vmcs.js';
import { PROC, PROC2 } from './controls.js';
import { Ept } from './ept.js';
import type { PhysMem } from '../memory.js';
import type { VmxUnit } from './vmx-unit.js';

export class NonRoot {
  pin = 0;
  proc = 0;
  proc2 = 0;
  exitCtl = 0;
  entryCtl = 0;
  exceptionBitmap = 0;
  pfecMask = 0;
  pfecMatch = 0;
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  cr3TargetCount = 0;
  readonly cr3Targets = new Int32Array(4);
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  /** TSC offset as a (signed) number; exact for |offset| < 2^53. */
  tscOffset = 0;
  /** EPT in use, or null. */
  ept: Ept | null = null;
  vpid = 0;
  /** Virtual-NMI blocking (with "virtual NMIs" = 1), Vol3C 25.3. */
  virtualNmiBlocked = false;
  /** An MTF VM exit is pending at the next instruction boundary (after an injected event, Vol3C 25.5.2, 26.6.2). */
  mtfPending = false;
  /** Clock instruction count at which the VMX-preemption timer fires (Infinity = not active). */
  preemptionDeadline = Infinity;

  // Event being delivered through the IDT when a VM exit may occur (IDT-vectoring information,
  // Vol3C 27.2.4): set by event delivery, cleared when delivery completes.
  vectoringInfo = 0;
  vectoringErrorCode = 0;
  vectoringInstrLen = 0;
  /** Guest RIP to save if an exit interrupts that delivery (the event's own RIP, Vol3C 27.3.3). */
  vectoringRip = 0;

  private readonly eptObj: Ept;

  constructor(readonly unit: VmxUnit, mem: PhysMem) {
    this.eptObj = new Ept(mem);
  }

  /** Decode the controls of `v` (called by VM entry after the checks passed). */
  load(v: Vmcs): void {
    this.pin = v.get32(F.PIN_BASED_VM_EXEC_CONTROL);
    this.proc = v.get32(F.CPU_BASED_VM_EXEC_CONTROL);
    this.proc2 = (this.proc & PROC.ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
    this.exitCtl = v.get32(F.VM_EXIT_CONTROLS);
    this.entryCtl = v.get32(F.VM_ENTRY_CONTROLS);
    this.exceptionBitmap = v.get32(F.EXCEPTION_BITMAP);
    this.pfecMask = v.get32(F.PAGE_FAULT_ERROR_CODE_MASK);
    this.pfecMatch = v.get32(F.PAGE_FAULT_ERROR_CODE_MATCH);
    this.cr0Mask = v.get32(F.CR0_GUEST_HOST_MASK);
    this.cr0Shadow = v.get32(F.CR0_READ_SHADOW);
    this.cr4Mask = v.get32(F.CR4_GUEST_HOST_MASK);
    this.cr4Shadow = v.get32(F.CR4_READ_SHADOW);
    this.cr3TargetCount = v.get(F.CR3_TARGET_COUNT);
    this.cr3Targets[0] = v.get32(F.CR3_TARGET_VALUE0);
    this.cr3Targets[1] = v.get32(F.CR3_TARGET_VALUE1);
    this.cr3Targets[2] = v.get32(F.CR3_TARGET_VALUE2);
    this.cr3Targets[3] = v.get32(F.CR3_TARGET_VALUE3);
    this.ioBitmapA = v.get(F.IO_BITMAP_A);
    this.ioBitmapB = v.get(F.IO_BITMAP_B);
    this.msrBitmap = v.get(F.MSR_BITMAP);
    this.tscOffset = (this.proc & PROC.USE_TSC_OFFSETTING) !== 0 ? v.getHi(F.TSC_OFFSET) * 0x100000000 + (v.get32(F.TSC_OFFSET) >>> 0) : 0;
    this.vpid = (this.proc2 & PROC2.ENABLE_VPID) !== 0 ? v.get(F.VIRTUAL_PROCESSOR_ID) : 0;
    if ((this.proc2 & PROC2.ENABLE_EPT) !== 0) {
      this.eptObj.load(v.get32(F.EPT_POINTER), v.getHi(F.EPT_POINTER));
      this.ept = this.eptObj;
    } else {
      this.ept = null;
    }
    this.vectoringInfo = 0;
  }

  /** Guest view of CR0: owned bits (mask = 1) read from the shadow (Vol3C 25.3 "MOV from CR0"). */
  cr0View(cr0: number): number { return (cr0 & ~this.cr0Mask) | (this.cr0Shadow & this.cr0Mask); }
  cr4View(cr4: number): number { return (cr4 & ~this.cr4Mask) | (this.cr4Shadow & this.cr4Mask); }
}
