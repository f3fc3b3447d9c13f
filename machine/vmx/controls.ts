// VMX control bits, exit-qualification formats, event-information formats and VM-instruction
// error numbers: the SDM's tables as data, each defined once under the SDM's own names
// (Intel SDM Vol3C ch. 24-27, Vol3D App. A). Everything else derives from these.

/** Pin-based VM-execution controls (Vol3C 24.6.1, Table 24-5). */
export const PIN = {
  EXTERNAL_INTERRUPT_EXITING: 1 << 0, NMI_EXITING: 1 << 3, VIRTUAL_NMIS: 1 << 5,
  ACTIVATE_VMX_PREEMPTION_TIMER: 1 << 6, PROCESS_POSTED_INTERRUPTS: 1 << 7,
} as const;
/** Bits that read as 1 in the non-TRUE capability MSR ("default1", Vol3D A.3.1). */
export const PIN_DEFAULT1 = 0x00000016;

/** Primary processor-based VM-execution controls (Vol3C 24.6.2, Table 24-6). */
export const PROC = {
  INTERRUPT_WINDOW_EXITING: 1 << 2, USE_TSC_OFFSETTING: 1 << 3, HLT_EXITING: 1 << 7, INVLPG_EXITING: 1 << 9,
  MWAIT_EXITING: 1 << 10, RDPMC_EXITING: 1 << 11, RDTSC_EXITING: 1 << 12, CR3_LOAD_EXITING: 1 << 15,
  CR3_STORE_EXITING: 1 << 16, ACTIVATE_TERTIARY_CONTROLS: 1 << 17, CR8_LOAD_EXITING: 1 << 19, CR8_STORE_EXITING: 1 << 20,
  USE_TPR_SHADOW: 1 << 21, NMI_WINDOW_EXITING: 1 << 22, MOV_DR_EXITING: 1 << 23, UNCONDITIONAL_IO_EXITING: 1 << 24,
  USE_IO_BITMAPS: 1 << 25, MONITOR_TRAP_FLAG: 1 << 27, USE_MSR_BITMAPS: 1 << 28, MONITOR_EXITING: 1 << 29,
  PAUSE_EXITING: 1 << 30, ACTIVATE_SECONDARY_CONTROLS: 1 << 31,
} as const;
export const PROC_DEFAULT1 = 0x0401e172;

/** Secondary processor-based VM-execution controls (Vol3C 24.6.2, Table 24-7). */
export const PROC2 = {
  VIRTUALIZE_APIC_ACCESSES: 1 << 0, ENABLE_EPT: 1 << 1, DESCRIPTOR_TABLE_EXITING: 1 << 2, ENABLE_RDTSCP: 1 << 3,
  VIRTUALIZE_X2APIC_MODE: 1 << 4, ENABLE_VPID: 1 << 5, WBINVD_EXITING: 1 << 6, UNRESTRICTED_GUEST: 1 << 7,
  APIC_REGISTER_VIRTUALIZATION: 1 << 8, VIRTUAL_INTERRUPT_DELIVERY: 1 << 9, PAUSE_LOOP_EXITING: 1 << 10,
  RDRAND_EXITING: 1 << 11, ENABLE_INVPCID: 1 << 12, ENABLE_VM_FUNCTIONS: 1 << 13, VMCS_SHADOWING: 1 << 14,
  ENABLE_ENCLS_EXITING: 1 << 15, RDSEED_EXITING: 1 << 16, ENABLE_PML: 1 << 17, EPT_VIOLATION_VE: 1 << 18,
  CONCEAL_VMX_FROM_PT: 1 << 19, ENABLE_XSAVES_XRSTORS: 1 << 20, MODE_BASED_EXECUTE_CONTROL_FOR_EPT: 1 << 22,
  USE_TSC_SCALING: 1 << 25,
} as const;

/** VM-exit controls (Vol3C 24.7.1, Table 24-13). */
export const EXIT_CTL = {
  SAVE_DEBUG_CONTROLS: 1 << 2, HOST_ADDRESS_SPACE_SIZE: 1 << 9, LOAD_IA32_PERF_GLOBAL_CTRL: 1 << 12,
  ACKNOWLEDGE_INTERRUPT_ON_EXIT: 1 << 15, SAVE_IA32_PAT: 1 << 18, LOAD_IA32_PAT: 1 << 19, SAVE_IA32_EFER: 1 << 20,
  LOAD_IA32_EFER: 1 << 21, SAVE_VMX_PREEMPTION_TIMER_VALUE: 1 << 22, CLEAR_IA32_BNDCFGS: 1 << 23,
  CONCEAL_VMX_FROM_PT: 1 << 24,
} as const;
export const EXIT_CTL_DEFAULT1 = 0x00036dff;

/** VM-entry controls (Vol3C 24.8.1, Table 24-15). */
export const ENTRY_CTL = {
  LOAD_DEBUG_CONTROLS: 1 << 2, IA32E_MODE_GUEST: 1 << 9, ENTRY_TO_SMM: 1 << 10,
  DEACTIVATE_DUAL_MONITOR_TREATMENT: 1 << 11, LOAD_IA32_PERF_GLOBAL_CTRL: 1 << 13, LOAD_IA32_PAT: 1 << 14,
  LOAD_IA32_EFER: 1 << 15, LOAD_IA32_BNDCFGS: 1 << 16, CONCEAL_VMX_FROM_PT: 1 << 17,
} as const;
export const ENTRY_CTL_DEFAULT1 = 0x000011ff;

/** Interruption-information formats (Vol3C 24.8.3 Table 24-16, 24.9.2 Tables 24-19/24-20). */
export const INTR_INFO = {
  VECTOR_MASK: 0xff, TYPE_SHIFT: 8, TYPE_MASK: 7 << 8, ERROR_CODE_VALID: 1 << 11,
  NMI_UNBLOCKING_DUE_TO_IRET: 1 << 12, VALID: 1 << 31,
} as const;
/** Interruption types (bits 10:8). */
export const INTR_TYPE = {
  EXTERNAL_INTERRUPT: 0, NMI: 2, HARDWARE_EXCEPTION: 3, SOFTWARE_INTERRUPT: 4,
  PRIVILEGED_SOFTWARE_EXCEPTION: 5, SOFTWARE_EXCEPTION: 6, OTHER_EVENT: 7,
} as const;

/** Guest interruptibility state (Vol3C 24.4.2, Table 24-3). */
export const INTERRUPTIBILITY = {
  BLOCKING_BY_STI: 1 << 0, BLOCKING_BY_MOV_SS: 1 << 1, BLOCKING_BY_SMI: 1 << 2, BLOCKING_BY_NMI: 1 << 3,
  ENCLAVE_INTERRUPTION: 1 << 4,
} as const;

/** Guest activity states (Vol3C 24.4.2). */
export const ACTIVITY = { ACTIVE: 0, HLT: 1, SHUTDOWN: 2, WAIT_FOR_SIPI: 3 } as const;

/** Pending debug exceptions field bits (Vol3C 24.4.2, Table 24-4). */
export const PENDING_DBG = { B0_B3: 0xf, ENABLED_BREAKPOINT: 1 << 12, BS: 1 << 14, RTM: 1 << 16 } as const;

/** Exit qualification for control-register accesses (Vol3C 27.2.1, Table 27-3). */
export const QUAL_CR = {
  CR_MASK: 0xf, ACCESS_SHIFT: 4, ACCESS_MASK: 3 << 4, LMSW_MEMORY: 1 << 6, GPR_SHIFT: 8, GPR_MASK: 0xf << 8,
  LMSW_DATA_SHIFT: 16,
} as const;
export const CR_ACCESS = { MOV_TO_CR: 0, MOV_FROM_CR: 1, CLTS: 2, LMSW: 3 } as const;

/** Exit qualification for MOV DR (Vol3C 27.2.1, Table 27-4). */
export const QUAL_DR = { DR_MASK: 7, DIRECTION_FROM_DR: 1 << 4, GPR_SHIFT: 8 } as const;

/** Exit qualification for I/O instructions (Vol3C 27.2.1, Table 27-5). */
export const QUAL_IO = {
  SIZE_MASK: 7, DIRECTION_IN: 1 << 3, STRING: 1 << 4, REP: 1 << 5, OPERAND_IMMEDIATE: 1 << 6, PORT_SHIFT: 16,
} as const;

/** Exit qualification for EPT violations (Vol3C 27.2.1, Table 27-7). */
export const QUAL_EPT = {
  READ: 1 << 0, WRITE: 1 << 1, FETCH: 1 << 2, READABLE: 1 << 3, WRITABLE: 1 << 4, EXECUTABLE: 1 << 5,
  GLA_VALID: 1 << 7, GLA_TRANSLATED: 1 << 8, NMI_UNBLOCKING_DUE_TO_IRET: 1 << 12,
} as const;

/** Exit qualification for task switches (Vol3C 27.2.1, Table 27-2): source in bits 31:30. */
export const QUAL_TASK_SWITCH = { SOURCE_SHIFT: 30, CALL: 0, IRET: 1, JMP: 2, IDT_GATE: 3 } as const;

/** Exit qualification for VM-entry failures due to guest state (Vol3C 26.8, 27.2.1). */
export const ENTRY_FAIL_QUAL = { DEFAULT: 0, PDPTE_LOADING: 2, NMI_INJECTION: 3, VMCS_LINK_POINTER: 4 } as const;

/** VM-instruction error numbers (Vol3C 31.4, Table 31-1). */
export const VMX_ERROR = {
  VMCALL_IN_VMX_ROOT: 1, VMCLEAR_INVALID_ADDRESS: 2, VMCLEAR_VMXON_POINTER: 3, VMLAUNCH_NONCLEAR_VMCS: 4,
  VMRESUME_NONLAUNCHED_VMCS: 5, VMRESUME_AFTER_VMXOFF: 6, ENTRY_INVALID_CONTROL_FIELD: 7,
  ENTRY_INVALID_HOST_STATE_FIELD: 8, VMPTRLD_INVALID_ADDRESS: 9, VMPTRLD_VMXON_POINTER: 10,
  VMPTRLD_INCORRECT_REVISION: 11, VMREAD_VMWRITE_UNSUPPORTED_COMPONENT: 12, VMWRITE_READ_ONLY_COMPONENT: 13,
  VMXON_IN_VMX_ROOT: 15, ENTRY_EVENTS_BLOCKED_BY_MOV_SS: 26, INVALID_OPERAND_INVEPT_INVVPID: 28,
} as const;
export const VMX_ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(VMX_ERROR).map(([k, v]) => [v, k]));

/** EPT paging-structure entry bits and EPTP fields (Vol3C 28.2.2, 24.6.11). */
export const EPT = {
  READ: 1 << 0, WRITE: 1 << 1, EXECUTE: 1 << 2, MEMTYPE_SHIFT: 3, MEMTYPE_MASK: 7 << 3, IGNORE_PAT: 1 << 6,
  PAGE_SIZE: 1 << 7, ACCESSED: 1 << 8, DIRTY: 1 << 9,
} as const;
export const EPTP = { MEMTYPE_MASK: 7, WALK_LENGTH_SHIFT: 3, WALK_LENGTH_MASK: 7 << 3, ENABLE_AD: 1 << 6 } as const;
/** Memory types (Vol3A 11.3). */
export const MEMTYPE = { UC: 0, WC: 1, WT: 4, WP: 5, WB: 6 } as const;

/** INVEPT / INVVPID types (Vol3C 30.3). */
export const INVEPT_TYPE = { SINGLE_CONTEXT: 1, ALL_CONTEXT: 2 } as const;
export const INVVPID_TYPE = { INDIVIDUAL_ADDRESS: 0, SINGLE_CONTEXT: 1, ALL_CONTEXT: 2, SINGLE_CONTEXT_RETAINING_GLOBALS: 3 } as const;

/** The VMX capability MSRs (Vol3D App. A, Vol4 Table 2-2). */
export const VMX_MSR = {
  IA32_VMX_BASIC: 0x480, IA32_VMX_PINBASED_CTLS: 0x481, IA32_VMX_PROCBASED_CTLS: 0x482, IA32_VMX_EXIT_CTLS: 0x483,
  IA32_VMX_ENTRY_CTLS: 0x484, IA32_VMX_MISC: 0x485, IA32_VMX_CR0_FIXED0: 0x486, IA32_VMX_CR0_FIXED1: 0x487,
  IA32_VMX_CR4_FIXED0: 0x488, IA32_VMX_CR4_FIXED1: 0x489, IA32_VMX_VMCS_ENUM: 0x48a, IA32_VMX_PROCBASED_CTLS2: 0x48b,
  IA32_VMX_EPT_VPID_CAP: 0x48c, IA32_VMX_TRUE_PINBASED_CTLS: 0x48d, IA32_VMX_TRUE_PROCBASED_CTLS: 0x48e,
  IA32_VMX_TRUE_EXIT_CTLS: 0x48f, IA32_VMX_TRUE_ENTRY_CTLS: 0x490, IA32_VMX_VMFUNC: 0x491,
} as const;
export const VMX_MSR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(VMX_MSR).map(([k, v]) => [v, k]));

/** Names of the set bits of `v` in a bit table, for dumps. */
export function bitNames(v: number, table: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(table)) if (bit !== 0 && (bit & (bit - 1)) === 0 && (v & bit) !== 0) out.push(name);
  return out;
}
