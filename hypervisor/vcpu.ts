// A virtual CPU as the hypervisor core sees it (XMHF's VCPU): its VMCS, the guest's general-purpose
// registers saved at each VM exit (XMHF's `struct regs`), and the helpers every exit handler needs:
// skip the exiting instruction, inject an event, read guest memory through the guest's paging.
//
// Runs in: VMX root operation, inside the exit handler.

import type { VmxUnit } from '../machine/vmx/vmx-unit.js';
import { F, type VmcsField } from '../machine/vmx/vmcs-fields.js';
import { INTERRUPTIBILITY, INTR_INFO, INTR_TYPE } from '../machine/vmx/controls.js';
import { AR, CR0, CR4, EXC, EXC_HAS_ERROR_CODE } from '../machine/cpu/arch.js';
import { Access, walk, WalkFault, type PagingRegs } from '../machine/cpu/paging.js';

/** GPR indices in `regs` (the order of the ModRM encoding and of the CR-access qualification). */
export const GPR = { EAX: 0, ECX: 1, EDX: 2, EBX: 3, ESP: 4, EBP: 5, ESI: 6, EDI: 7 } as const;

export class VCpu {
  /** Guest EAX..EDI as saved at the last VM exit; ESP is GUEST_RSP. Handlers read and write these. */
  readonly regs = new Int32Array(8);
  /** Basic exit reason and qualification of the exit being handled. */
  reason = 0;
  qualification = 0;
  /** Exits handled on this vCPU. */
  exits = 0;
  private readonly paging: PagingRegs = { cr0: 0, cr3: 0, cr4: 0, efer: 0, pdpteLo: new Int32Array(4), pdpteHi: new Int32Array(4) };

  constructor(readonly id: number, readonly vmx: VmxUnit, readonly vmcsPa: number) {}

  read(f: VmcsField): number { return this.vmx.read(f); }
  write(f: VmcsField, v: number): void { this.vmx.write(f, v); }

  /** Copy the guest GPRs out of the register file at a VM exit (XMHF's exit stub: pushad). */
  saveGprs(): void {
    const r = this.vmx.gprs;
    for (let k = 0; k < 8; k++) this.regs[k] = r[k];
    this.regs[GPR.ESP] = this.read(F.GUEST_RSP);
  }
  /** Put them back before VMRESUME (popad); ESP goes to GUEST_RSP. */
  restoreGprs(): void {
    const r = this.vmx.gprs;
    for (let k = 0; k < 8; k++) if (k !== GPR.ESP) r[k] = this.regs[k];
    this.write(F.GUEST_RSP, this.regs[GPR.ESP]);
  }

  get rip(): number { return this.read(F.GUEST_RIP); }

  /**
   * The exiting instruction was emulated: advance RIP past it and drop STI / MOV SS blocking,
   * which ended with the instruction (as the processor would have).
   */
  skipInstruction(): void {
    const len = this.read(F.VM_EXIT_INSTRUCTION_LEN);
    const realOr16 = (this.read(F.GUEST_CS_AR_BYTES) & AR.DB) === 0;
    const rip = (this.rip + len) >>> 0;
    this.write(F.GUEST_RIP, realOr16 ? rip & 0xffff : rip);
    const intr = this.read(F.GUEST_INTERRUPTIBILITY_INFO);
    if ((intr & (INTERRUPTIBILITY.BLOCKING_BY_STI | INTERRUPTIBILITY.BLOCKING_BY_MOV_SS)) !== 0) {
      this.write(F.GUEST_INTERRUPTIBILITY_INFO, intr & ~(INTERRUPTIBILITY.BLOCKING_BY_STI | INTERRUPTIBILITY.BLOCKING_BY_MOV_SS));
    }
  }

  /** The guest is in protected mode (by its real CR0: error codes are only delivered there). */
  get protectedMode(): boolean { return (this.read(F.GUEST_CR0) & CR0.PE) !== 0; }

  /**
   * Inject a hardware exception on the next VM entry (Vol3C 26.6), as the CPU would deliver it:
   * with an error code for the vectors that have one, in protected mode only.
   */
  injectException(vector: number, errorCode = 0): void {
    const hasCode = this.protectedMode && ((EXC_HAS_ERROR_CODE >> vector) & 1) !== 0;
    let info = vector | (INTR_TYPE.HARDWARE_EXCEPTION << INTR_INFO.TYPE_SHIFT) | INTR_INFO.VALID;
    if (hasCode) { info |= INTR_INFO.ERROR_CODE_VALID; this.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, errorCode); }
    this.write(F.VM_ENTRY_INTR_INFO_FIELD, info);
  }
  injectUd(): void { this.injectException(EXC.UD); }
  injectGp(code = 0): void { this.injectException(EXC.GP, code); }

  /** Re-inject an event that a VM exit interrupted (IDT-vectoring information, Vol3C 27.2.4). */
  reinjectVectoring(): boolean {
    const info = this.read(F.IDT_VECTORING_INFO_FIELD);
    if ((info & INTR_INFO.VALID) === 0) return false;
    this.write(F.VM_ENTRY_INTR_INFO_FIELD, info & ~INTR_INFO.NMI_UNBLOCKING_DUE_TO_IRET);
    if ((info & INTR_INFO.ERROR_CODE_VALID) !== 0) this.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, this.read(F.IDT_VECTORING_ERROR_CODE));
    this.write(F.VM_ENTRY_INSTRUCTION_LEN, this.read(F.VM_EXIT_INSTRUCTION_LEN));
    return true;
  }

  /** Guest paging registers from the VMCS (the real CR0/CR4, not the shadows). */
  pagingRegs(): PagingRegs {
    const p = this.paging;
    p.cr0 = this.read(F.GUEST_CR0); p.cr3 = this.read(F.GUEST_CR3); p.cr4 = this.read(F.GUEST_CR4);
    p.efer = this.read(F.GUEST_IA32_EFER);
    const fields = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];
    if ((p.cr0 & CR0.PG) !== 0 && (p.cr4 & CR4.PAE) !== 0) {
      for (let k = 0; k < 4; k++) { p.pdpteLo[k] = this.vmx.current!.get32(fields[k]); p.pdpteHi[k] = this.vmx.current!.getHi(fields[k]); }
    }
    return p;
  }

  /**
   * Guest-linear → guest-physical through the guest's current paging (no side effects), or null if
   * not mapped. Guest-physical equals host-physical for guest RAM: the EPT is an identity map.
   */
  linearToPhysical(lin: number): number | null {
    const p = this.pagingRegs();
    if ((p.cr0 & CR0.PG) === 0) return lin >>> 0;
    const r = walk(this.vmx.mem, p, lin, Access.Read, false, { setAD: false });
    return r instanceof WalkFault ? null : r.pa;
  }

  /** Read one byte of guest-linear memory (null if unmapped or outside the guest's RAM). */
  readLinearByte(lin: number): number | null {
    const pa = this.linearToPhysical(lin);
    if (pa === null || pa >= this.vmx.mem.firmwareTop) return null;
    return this.vmx.mem.read(pa, 1);
  }

  /** Linear address of CS:RIP of the exiting instruction. */
  get csRipLinear(): number { return (this.read(F.GUEST_CS_BASE) + this.rip) | 0; }
}
