// The VMX capability MSRs (Vol3D App. A) of this processor, computed from the sets of controls
// and features the machine implements, so that what the MSRs report and what VM entry accepts
// can never disagree: entry-checks.ts checks controls against these same values.

import { CR0, CR4 } from '../cpu/arch.js';
import {
  ENTRY_CTL, ENTRY_CTL_DEFAULT1, EXIT_CTL, EXIT_CTL_DEFAULT1, MEMTYPE, PIN, PIN_DEFAULT1, PROC, PROC2, PROC_DEFAULT1, VMX_MSR,
} from './controls.js';
import { VMCS_FIELDS, type VmcsField } from './vmcs-fields.js';
import { MAXPHYADDR } from '../cpu/paging.js';

/** VMCS revision identifier of this implementation (IA32_VMX_BASIC bits 30:0). */
export const VMCS_REVISION = 0x7473; // "ts"
/** Size of the VMXON region and of a VMCS region in bytes (IA32_VMX_BASIC bits 44:32). */
export const VMCS_REGION_SIZE = 4096;
/** VMX-preemption timer rate: the timer counts down by 1 every 2^X TSC ticks (IA32_VMX_MISC bits 4:0). */
export const PREEMPTION_TIMER_RATE = 5;
/** Number of CR3-target values supported (IA32_VMX_MISC bits 24:16). */
export const CR3_TARGET_COUNT = 4;
/** Largest MSR-load/store list: 512 × (N + 1) entries, N = IA32_VMX_MISC bits 27:25. */
export const MAX_MSR_LIST = 512;

/** Controls this processor implements (each also needs its default1 bits, which are always supported). */
export const SUPPORTED = {
  pin: PIN.EXTERNAL_INTERRUPT_EXITING | PIN.NMI_EXITING | PIN.VIRTUAL_NMIS | PIN.ACTIVATE_VMX_PREEMPTION_TIMER,
  proc: PROC.INTERRUPT_WINDOW_EXITING | PROC.USE_TSC_OFFSETTING | PROC.HLT_EXITING | PROC.INVLPG_EXITING |
    PROC.MWAIT_EXITING | PROC.RDPMC_EXITING | PROC.RDTSC_EXITING | PROC.CR3_LOAD_EXITING | PROC.CR3_STORE_EXITING |
    PROC.NMI_WINDOW_EXITING | PROC.MOV_DR_EXITING | PROC.UNCONDITIONAL_IO_EXITING | PROC.USE_IO_BITMAPS |
    PROC.MONITOR_TRAP_FLAG | PROC.USE_MSR_BITMAPS | PROC.MONITOR_EXITING | PROC.PAUSE_EXITING |
    PROC.ACTIVATE_SECONDARY_CONTROLS,
  proc2: PROC2.ENABLE_EPT | PROC2.DESCRIPTOR_TABLE_EXITING | PROC2.ENABLE_VPID | PROC2.WBINVD_EXITING |
    PROC2.UNRESTRICTED_GUEST,
  // No "host address-space size" and no "IA-32e mode guest": this is an IA-32 processor (Vol3C 26.2.4).
  exit: EXIT_CTL.SAVE_DEBUG_CONTROLS | EXIT_CTL.ACKNOWLEDGE_INTERRUPT_ON_EXIT | EXIT_CTL.SAVE_IA32_PAT |
    EXIT_CTL.LOAD_IA32_PAT | EXIT_CTL.SAVE_IA32_EFER | EXIT_CTL.LOAD_IA32_EFER | EXIT_CTL.SAVE_VMX_PREEMPTION_TIMER_VALUE,
  entry: ENTRY_CTL.LOAD_DEBUG_CONTROLS | ENTRY_CTL.LOAD_IA32_PAT | ENTRY_CTL.LOAD_IA32_EFER,
} as const;

/** Default1 bits that the TRUE capability MSRs allow to be 0 (Vol3D A.3.1-A.5). */
const TRUE_ALLOWED0_CLEAR = {
  pin: 0,
  proc: PROC.CR3_LOAD_EXITING | PROC.CR3_STORE_EXITING,
  exit: EXIT_CTL.SAVE_DEBUG_CONTROLS,
  entry: ENTRY_CTL.LOAD_DEBUG_CONTROLS,
} as const;

/** A control capability: bits that must be 1 (allowed-0 settings clear) and bits that may be 1. */
export interface CtlCap { must1: number; may1: number }

export interface VmxCaps {
  pin: CtlCap; proc: CtlCap; proc2: CtlCap; exit: CtlCap; entry: CtlCap;
  truePin: CtlCap; trueProc: CtlCap; trueExit: CtlCap; trueEntry: CtlCap;
  cr0Fixed0: number; cr0Fixed1: number; cr4Fixed0: number; cr4Fixed1: number;
  /** Each capability MSR as [low, high] 32-bit halves. */
  msrs: Map<number, [number, number]>;
}

/**
 * Compute the capabilities for a processor whose CR4 accepts `cr4Supported` (outside VMX operation).
 * The TRUE MSRs are what VM entry checks (IA32_VMX_BASIC bit 55 = 1).
 */
export function computeCaps(cr4Supported: number): VmxCaps {
  const cap = (must1: number, may1: number): CtlCap => ({ must1: must1 | 0, may1: (may1 | must1) | 0 });
  const pin = cap(PIN_DEFAULT1, SUPPORTED.pin);
  const proc = cap(PROC_DEFAULT1, SUPPORTED.proc);
  const proc2 = cap(0, SUPPORTED.proc2);
  const exit = cap(EXIT_CTL_DEFAULT1, SUPPORTED.exit);
  const entry = cap(ENTRY_CTL_DEFAULT1, SUPPORTED.entry);
  const truePin = cap(PIN_DEFAULT1 & ~TRUE_ALLOWED0_CLEAR.pin, SUPPORTED.pin);
  const trueProc = cap(PROC_DEFAULT1 & ~TRUE_ALLOWED0_CLEAR.proc, SUPPORTED.proc);
  const trueExit = cap(EXIT_CTL_DEFAULT1 & ~TRUE_ALLOWED0_CLEAR.exit, SUPPORTED.exit);
  const trueEntry = cap(ENTRY_CTL_DEFAULT1 & ~TRUE_ALLOWED0_CLEAR.entry, SUPPORTED.entry);
  // True default1 bits that remain 1 still need to be allowed as 1.
  for (const c of [truePin, trueProc, trueExit, trueEntry]) c.may1 |= c.must1;

  // CR0: PE, NE and PG are fixed to 1 (relaxed for PE/PG by "unrestricted guest"); no bit is fixed to 0.
  const cr0Fixed0 = CR0.PE | CR0.NE | CR0.PG;
  const cr0Fixed1 = -1;
  const cr4Fixed0 = CR4.VMXE;
  const cr4Fixed1 = cr4Supported | CR4.VMXE;

  const msrs = new Map<number, [number, number]>();
  const ctl = (c: CtlCap): [number, number] => [c.must1, c.may1];
  const BASIC_HI = (VMCS_REGION_SIZE & 0x1fff) // bits 44:32 region size
    | (MEMTYPE.WB << (50 - 32))                   // bits 53:50 memory type for VMCS/structures
    | (1 << (54 - 32))                            // INS/OUTS exits report VM-exit instruction information
    | (1 << (55 - 32));                           // TRUE capability MSRs exist
  msrs.set(VMX_MSR.IA32_VMX_BASIC, [VMCS_REVISION, BASIC_HI]);
  msrs.set(VMX_MSR.IA32_VMX_PINBASED_CTLS, ctl(pin));
  msrs.set(VMX_MSR.IA32_VMX_PROCBASED_CTLS, ctl(proc));
  msrs.set(VMX_MSR.IA32_VMX_EXIT_CTLS, ctl(exit));
  msrs.set(VMX_MSR.IA32_VMX_ENTRY_CTLS, ctl(entry));
  msrs.set(VMX_MSR.IA32_VMX_MISC, [
    PREEMPTION_TIMER_RATE
      | (1 << 6) | (1 << 7) | (1 << 8)            // activity states HLT, shutdown, wait-for-SIPI
      | (CR3_TARGET_COUNT << 16)
      | (((MAX_MSR_LIST / 512) - 1) << 25),
    0,                                            // MSEG revision identifier
  ]);
  msrs.set(VMX_MSR.IA32_VMX_CR0_FIXED0, [cr0Fixed0 | 0, 0]);
  msrs.set(VMX_MSR.IA32_VMX_CR0_FIXED1, [cr0Fixed1, 0]);
  msrs.set(VMX_MSR.IA32_VMX_CR4_FIXED0, [cr4Fixed0, 0]);
  msrs.set(VMX_MSR.IA32_VMX_CR4_FIXED1, [cr4Fixed1, 0]);
  // Highest index of the fields this processor supports (Vol3D A.9): fields of unsupported features do not exist.
  const maxIndex = Math.max(...VMCS_FIELDS.filter(fieldSupported).map((f) => f.index));
  msrs.set(VMX_MSR.IA32_VMX_VMCS_ENUM, [maxIndex << 1, 0]);
  msrs.set(VMX_MSR.IA32_VMX_PROCBASED_CTLS2, ctl(proc2));
  msrs.set(VMX_MSR.IA32_VMX_EPT_VPID_CAP, [EPT_CAP_LO, EPT_CAP_HI]);
  msrs.set(VMX_MSR.IA32_VMX_TRUE_PINBASED_CTLS, ctl(truePin));
  msrs.set(VMX_MSR.IA32_VMX_TRUE_PROCBASED_CTLS, ctl(trueProc));
  msrs.set(VMX_MSR.IA32_VMX_TRUE_EXIT_CTLS, ctl(trueExit));
  msrs.set(VMX_MSR.IA32_VMX_TRUE_ENTRY_CTLS, ctl(trueEntry));
  return { pin, proc, proc2, exit, entry, truePin, trueProc, trueExit, trueEntry, cr0Fixed0: cr0Fixed0 | 0, cr0Fixed1, cr4Fixed0, cr4Fixed1, msrs };
}

/** IA32_VMX_EPT_VPID_CAP (Vol3D A.10). */
export const EPT_CAP = {
  PAGE_WALK_4: 1 << 6, MEMTYPE_UC: 1 << 8, MEMTYPE_WB: 1 << 14, PDE_2MB: 1 << 16, PDPTE_1GB: 1 << 17,
  INVEPT: 1 << 20, ACCESSED_DIRTY: 1 << 21, INVEPT_SINGLE_CONTEXT: 1 << 25, INVEPT_ALL_CONTEXT: 1 << 26,
  // High half (bits 63:32).
  INVVPID: 1 << 0, INVVPID_INDIVIDUAL_ADDRESS: 1 << 8, INVVPID_SINGLE_CONTEXT: 1 << 9, INVVPID_ALL_CONTEXT: 1 << 10,
  INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS: 1 << 11,
} as const;
const EPT_CAP_LO = EPT_CAP.PAGE_WALK_4 | EPT_CAP.MEMTYPE_UC | EPT_CAP.MEMTYPE_WB | EPT_CAP.PDE_2MB | EPT_CAP.PDPTE_1GB |
  EPT_CAP.INVEPT | EPT_CAP.ACCESSED_DIRTY | EPT_CAP.INVEPT_SINGLE_CONTEXT | EPT_CAP.INVEPT_ALL_CONTEXT;
const EPT_CAP_HI = EPT_CAP.INVVPID | EPT_CAP.INVVPID_INDIVIDUAL_ADDRESS | EPT_CAP.INVVPID_SINGLE_CONTEXT |
  EPT_CAP.INVVPID_ALL_CONTEXT | EPT_CAP.INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS;

/** True if a physical address fits the processor's physical-address width (Vol3C 26.2.1.1 "physical-address width"). */
export function physAddrOk(pa: number): boolean { return pa >= 0 && pa < 2 ** MAXPHYADDR; }

/** Check a control value against a capability: every must-1 bit set, no bit outside may-1. */
export function ctlOk(v: number, c: CtlCap): boolean {
  return ((v & c.must1) === c.must1) && ((v & ~c.may1) === 0);
}

/**
 * The control whose support makes a field exist (Vol3D App. B footnotes: "this field exists only on
 * processors that support the 1-setting of ..."), as [control set, bit]; fields not listed always exist.
 */
const FIELD_NEEDS: Record<string, [keyof typeof SUPPORTED, number]> = {
  VIRTUAL_PROCESSOR_ID: ['proc2', PROC2.ENABLE_VPID],
  POSTED_INTR_NOTIFICATION_VECTOR: ['pin', PIN.PROCESS_POSTED_INTERRUPTS],
  POSTED_INTR_DESC_ADDR: ['pin', PIN.PROCESS_POSTED_INTERRUPTS],
  EPTP_INDEX: ['proc2', PROC2.EPT_VIOLATION_VE],
  VIRT_EXCEPTION_INFO_ADDR: ['proc2', PROC2.EPT_VIOLATION_VE],
  GUEST_INTR_STATUS: ['proc2', PROC2.VIRTUAL_INTERRUPT_DELIVERY],
  EOI_EXIT_BITMAP0: ['proc2', PROC2.VIRTUAL_INTERRUPT_DELIVERY],
  EOI_EXIT_BITMAP1: ['proc2', PROC2.VIRTUAL_INTERRUPT_DELIVERY],
  EOI_EXIT_BITMAP2: ['proc2', PROC2.VIRTUAL_INTERRUPT_DELIVERY],
  EOI_EXIT_BITMAP3: ['proc2', PROC2.VIRTUAL_INTERRUPT_DELIVERY],
  GUEST_PML_INDEX: ['proc2', PROC2.ENABLE_PML],
  PML_ADDRESS: ['proc2', PROC2.ENABLE_PML],
  VIRTUAL_APIC_PAGE_ADDR: ['proc', PROC.USE_TPR_SHADOW],
  TPR_THRESHOLD: ['proc', PROC.USE_TPR_SHADOW],
  APIC_ACCESS_ADDR: ['proc2', PROC2.VIRTUALIZE_APIC_ACCESSES],
  VM_FUNCTION_CONTROLS: ['proc2', PROC2.ENABLE_VM_FUNCTIONS],
  EPTP_LIST_ADDRESS: ['proc2', PROC2.ENABLE_VM_FUNCTIONS],
  EPT_POINTER: ['proc2', PROC2.ENABLE_EPT],
  GUEST_PDPTE0: ['proc2', PROC2.ENABLE_EPT], GUEST_PDPTE1: ['proc2', PROC2.ENABLE_EPT],
  GUEST_PDPTE2: ['proc2', PROC2.ENABLE_EPT], GUEST_PDPTE3: ['proc2', PROC2.ENABLE_EPT],
  VMREAD_BITMAP: ['proc2', PROC2.VMCS_SHADOWING],
  VMWRITE_BITMAP: ['proc2', PROC2.VMCS_SHADOWING],
  XSS_EXIT_BITMAP: ['proc2', PROC2.ENABLE_XSAVES_XRSTORS],
  ENCLS_EXITING_BITMAP: ['proc2', PROC2.ENABLE_ENCLS_EXITING],
  SUB_PAGE_PERMISSION_TABLE_POINTER: ['proc2', 1 << 23],
  TSC_MULTIPLIER: ['proc2', PROC2.USE_TSC_SCALING],
  PLE_GAP: ['proc2', PROC2.PAUSE_LOOP_EXITING],
  PLE_WINDOW: ['proc2', PROC2.PAUSE_LOOP_EXITING],
  SECONDARY_VM_EXEC_CONTROL: ['proc', PROC.ACTIVATE_SECONDARY_CONTROLS],
  GUEST_IA32_PERF_GLOBAL_CTRL: ['entry', ENTRY_CTL.LOAD_IA32_PERF_GLOBAL_CTRL],
  HOST_IA32_PERF_GLOBAL_CTRL: ['exit', EXIT_CTL.LOAD_IA32_PERF_GLOBAL_CTRL],
  GUEST_IA32_BNDCFGS: ['entry', ENTRY_CTL.LOAD_IA32_BNDCFGS],
  GUEST_IA32_RTIT_CTL: ['entry', 1 << 18],
  VMX_PREEMPTION_TIMER_VALUE: ['pin', PIN.ACTIVATE_VMX_PREEMPTION_TIMER],
  GUEST_IA32_PAT: ['entry', ENTRY_CTL.LOAD_IA32_PAT], HOST_IA32_PAT: ['exit', EXIT_CTL.LOAD_IA32_PAT],
  GUEST_IA32_EFER: ['entry', ENTRY_CTL.LOAD_IA32_EFER], HOST_IA32_EFER: ['exit', EXIT_CTL.LOAD_IA32_EFER],
};

/** True if the field exists on this processor (VMREAD/VMWRITE of the others fail with error 12). */
export function fieldSupported(f: VmcsField): boolean {
  const need = FIELD_NEEDS[f.name];
  return need === undefined || (SUPPORTED[need[0]] & need[1]) !== 0;
}
