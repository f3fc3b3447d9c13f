// Architectural constants, each defined once under the Intel SDM's own names (Vol. 3A ch. 2-6).

/** EFLAGS bits (SDM Vol1 3.4.3). */
export const EFLAGS = {
  CF: 1 << 0, PF: 1 << 2, AF: 1 << 4, ZF: 1 << 6, SF: 1 << 7, TF: 1 << 8, IF: 1 << 9, DF: 1 << 10,
  OF: 1 << 11, IOPL: 3 << 12, NT: 1 << 14, RF: 1 << 16, VM: 1 << 17, AC: 1 << 18, VIF: 1 << 19,
  VIP: 1 << 20, ID: 1 << 21,
  /** Bit 1 is reserved and always reads as 1. */
  FIXED1: 1 << 1,
} as const;
/** The six arithmetic status flags. */
export const OSZAPC = EFLAGS.OF | EFLAGS.SF | EFLAGS.ZF | EFLAGS.AF | EFLAGS.PF | EFLAGS.CF;
export const IOPL_SHIFT = 12;

/** CR0 bits (SDM Vol3A 2.5). */
export const CR0 = {
  PE: 1 << 0, MP: 1 << 1, EM: 1 << 2, TS: 1 << 3, ET: 1 << 4, NE: 1 << 5, WP: 1 << 16, AM: 1 << 18,
  NW: 1 << 29, CD: 1 << 30, PG: 1 << 31,
} as const;

/** CR4 bits (SDM Vol3A 2.5). */
export const CR4 = {
  VME: 1 << 0, PVI: 1 << 1, TSD: 1 << 2, DE: 1 << 3, PSE: 1 << 4, PAE: 1 << 5, MCE: 1 << 6,
  PGE: 1 << 7, PCE: 1 << 8, OSFXSR: 1 << 9, OSXMMEXCPT: 1 << 10, UMIP: 1 << 11, LA57: 1 << 12,
  VMXE: 1 << 13, SMXE: 1 << 14, FSGSBASE: 1 << 16, PCIDE: 1 << 17, OSXSAVE: 1 << 18, SMEP: 1 << 20,
  SMAP: 1 << 21, PKE: 1 << 22,
} as const;

/** IA32_EFER bits (SDM Vol3A 2.2.1). */
export const EFER = { SCE: 1 << 0, LME: 1 << 8, LMA: 1 << 10, NXE: 1 << 11 } as const;

/** Exception vectors (SDM Vol3A 6.3.1, Table 6-1). */
export const EXC = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13,
  PF: 14, MF: 16, AC: 17, MC: 18, XM: 19, VE: 20,
} as const;
export const EXC_NAMES: Record<number, string> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS',
  11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM', 20: '#VE',
};
/** Exceptions that push an error code (SDM Vol3A Table 6-1). */
export const EXC_HAS_ERROR_CODE = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17);
/** Contributory exceptions for the double-fault rules (SDM Vol3A Table 6-4/6-5). */
export const EXC_CONTRIBUTORY = (1 << 0) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13);

/** #PF error code bits (SDM Vol3A 4.7). */
export const PFEC = { P: 1 << 0, W: 1 << 1, U: 1 << 2, RSVD: 1 << 3, I: 1 << 4, PK: 1 << 5 } as const;

/** Paging-structure entry bits (SDM Vol3A 4.3, 4.4). */
export const PTE = {
  P: 1 << 0, RW: 1 << 1, US: 1 << 2, PWT: 1 << 3, PCD: 1 << 4, A: 1 << 5, D: 1 << 6, PS: 1 << 7,
  G: 1 << 8, PAT4K: 1 << 7, PATLARGE: 1 << 12,
} as const;

/** Segment register numbers as encoded in instructions (sreg field). */
export const SEG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5, LDTR: 6, TR: 7 } as const;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'];
/** Pseudo-segment used by the decoder for "no memory operand". */
export const SEG_NONE = 8;

/**
 * Segment access rights in the VMCS "access rights" format (SDM Vol3C 24.4.1, Table 24-2), which is
 * also descriptor bytes 5-6 shifted down: so hidden segment state can be copied to/from a VMCS as is.
 */
export const AR = {
  TYPE_MASK: 0xf, ACCESSED: 1 << 0, /** data: writable, code: readable */ RW: 1 << 1,
  /** data: expand-down, code: conforming */ DC: 1 << 2, CODE: 1 << 3, S: 1 << 4, DPL_SHIFT: 5,
  DPL_MASK: 3 << 5, P: 1 << 7, AVL: 1 << 12, L: 1 << 13, DB: 1 << 14, G: 1 << 15, UNUSABLE: 1 << 16,
} as const;

/** System descriptor types (S = 0), SDM Vol3A Table 3-2. */
export const SYS_TYPE = {
  TSS16_AVAIL: 1, LDT: 2, TSS16_BUSY: 3, CALL_GATE16: 4, TASK_GATE: 5, INT_GATE16: 6, TRAP_GATE16: 7,
  TSS32_AVAIL: 9, TSS32_BUSY: 11, CALL_GATE32: 12, INT_GATE32: 14, TRAP_GATE32: 15,
} as const;

/** Model-specific registers this machine implements (SDM Vol4). */
export const MSR = {
  IA32_P5_MC_ADDR: 0x0, IA32_P5_MC_TYPE: 0x1, IA32_TIME_STAMP_COUNTER: 0x10, IA32_PLATFORM_ID: 0x17,
  IA32_APIC_BASE: 0x1b, IA32_FEATURE_CONTROL: 0x3a, IA32_BIOS_SIGN_ID: 0x8b, IA32_MTRRCAP: 0xfe,
  IA32_SYSENTER_CS: 0x174, IA32_SYSENTER_ESP: 0x175, IA32_SYSENTER_EIP: 0x176,
  IA32_MCG_CAP: 0x179, IA32_MCG_STATUS: 0x17a, IA32_MISC_ENABLE: 0x1a0,
  IA32_MTRR_PHYSBASE0: 0x200, IA32_MTRR_PHYSMASK0: 0x201, IA32_MTRR_FIX64K_00000: 0x250, IA32_MTRR_FIX16K_80000: 0x258,
  IA32_MTRR_FIX16K_A0000: 0x259, IA32_MTRR_FIX4K_C0000: 0x268, IA32_MTRR_FIX4K_F8000: 0x26f,
  IA32_PAT: 0x277, IA32_MTRR_DEF_TYPE: 0x2ff,
  IA32_VMX_BASIC: 0x480,
  IA32_EFER: 0xc0000080,
} as const;

/** 8-bit register number → byte index in the register file (AL CL DL BL AH CH DH BH). */
export const REG8_INDEX = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);
export const REG = { EAX: 0, ECX: 1, EDX: 2, EBX: 3, ESP: 4, EBP: 5, ESI: 6, EDI: 7 } as const;
export const REG32_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
export const REG16_NAMES = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
export const REG8_NAMES = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];

/** DR6 (SDM Vol3B 17.2.3): B0-B3, BD, BS, BT are writable; the reserved bits read as 1 except bit 12. */
export const DR6 = { B0: 1 << 0, BD: 1 << 13, BS: 1 << 14, BT: 1 << 15, FIXED1: 0xffff0ff0 | 0, WRITABLE: 0xe00f } as const;
/** DR7 (SDM Vol3B 17.2.4): bit 10 reads as 1; bits 11, 12, 14, 15 are reserved (0). */
export const DR7 = { GD: 1 << 13, FIXED1: 1 << 10, RESERVED0: 0xd800 } as const;

/** CPUID.01H:EDX feature flags (SDM Vol2 CPUID, Table 3-11). */
export const CPUID_EDX = {
  FPU: 1 << 0, VME: 1 << 1, DE: 1 << 2, PSE: 1 << 3, TSC: 1 << 4, MSR: 1 << 5, PAE: 1 << 6, MCE: 1 << 7,
  CX8: 1 << 8, APIC: 1 << 9, SEP: 1 << 11, MTRR: 1 << 12, PGE: 1 << 13, MCA: 1 << 14, CMOV: 1 << 15,
  PAT: 1 << 16, PSE36: 1 << 17, PSN: 1 << 18, CLFSH: 1 << 19, DS: 1 << 21, ACPI: 1 << 22, MMX: 1 << 23,
  FXSR: 1 << 24, SSE: 1 << 25, SSE2: 1 << 26, SS: 1 << 27, HTT: 1 << 28, TM: 1 << 29, PBE: 1 << 31,
} as const;
/** CPUID.01H:ECX feature flags (SDM Vol2 CPUID, Table 3-10). */
export const CPUID_ECX = {
  SSE3: 1 << 0, MONITOR: 1 << 3, VMX: 1 << 5, SMX: 1 << 6, PCID: 1 << 17, XSAVE: 1 << 26, OSXSAVE: 1 << 27,
} as const;
/** CPUID.80000001H:EDX (SDM Vol2 CPUID). */
export const CPUID_EXT_EDX = { SYSCALL: 1 << 11, NX: 1 << 20, LM: 1 << 29 } as const;

/** IA32_APIC_BASE bits (SDM Vol3A 10.4.4). */
export const APIC_BASE = { BSP: 1 << 8, EXTD: 1 << 10, EN: 1 << 11 } as const;
/** IA32_FEATURE_CONTROL bits (SDM Vol4 Table 2-2). */
export const FEATURE_CONTROL = { LOCK: 1 << 0, VMX_IN_SMX: 1 << 1, VMX_OUTSIDE_SMX: 1 << 2 } as const;
/** IA32_MISC_ENABLE bits (SDM Vol4 Table 2-2); XD_DISABLE is bit 34 (bit 2 of the high half). */
export const MISC_ENABLE = {
  FAST_STRINGS: 1 << 0, AUTO_THERMAL: 1 << 3, PERFMON: 1 << 7, BTS_UNAVAILABLE: 1 << 11,
  PEBS_UNAVAILABLE: 1 << 12, EIST: 1 << 16, MONITOR_FSM: 1 << 18, LIMIT_CPUID: 1 << 22, XTPR_DISABLE: 1 << 23,
  XD_DISABLE_HI: 1 << 2,
} as const;
/** Memory types of the PAT and the MTRRs (SDM Vol3A 11.3, 11.12): UC- (7) is valid in the PAT only. */
export const MEMTYPE = { UC: 0, WC: 1, WT: 4, WP: 5, WB: 6, UC_MINUS: 7 } as const;
/** IA32_MTRRCAP (SDM Vol3A 11.11.1): VCNT in bits 7:0, FIX, WC. */
export const MTRRCAP = { FIX: 1 << 8, WC: 1 << 10 } as const;

/** x87 FPU status word (SDM Vol1 8.1.3, Figure 8-4): exception flags, SF, ES, C0-C3, TOP, B. */
export const FSW = {
  IE: 1 << 0, DE: 1 << 1, ZE: 1 << 2, OE: 1 << 3, UE: 1 << 4, PE: 1 << 5, SF: 1 << 6, ES: 1 << 7,
  C0: 1 << 8, C1: 1 << 9, C2: 1 << 10, TOP_SHIFT: 11, TOP_MASK: 7 << 11, C3: 1 << 14, B: 1 << 15,
  /** The six exception flags (same bit positions as the FCW masks). */
  EXC_MASK: 0x3f,
} as const;
/** x87 FPU control word (SDM Vol1 8.1.5, Figure 8-6). Bit 6 reads as 1; bits 7, 13-15 are reserved. */
export const FCW = {
  IM: 1 << 0, DM: 1 << 1, ZM: 1 << 2, OM: 1 << 3, UM: 1 << 4, PM: 1 << 5, PC_SHIFT: 8, RC_SHIFT: 10,
  X: 1 << 12, WRITABLE: 0x1f3f, FIXED1: 1 << 6,
  /** After FNINIT (SDM Vol2 FINIT) and after RESET (Vol3A Table 9-1). */
  INIT: 0x037f, RESET: 0x0040,
} as const;
/** x87 rounding control (FCW.RC, SDM Vol1 Table 4-8) and precision control (FCW.PC, Table 8-2). */
export const FRC = { NEAREST: 0, DOWN: 1, UP: 2, CHOP: 3 } as const;
export const FPC = { SINGLE: 0, DOUBLE: 2, EXTENDED: 3 } as const;
/** x87 tag values (SDM Vol1 8.1.7). */
export const FTAG = { VALID: 0, ZERO: 1, SPECIAL: 2, EMPTY: 3 } as const;
/** MXCSR after RESET, and the MXCSR_MASK assumed when FXSAVE stores 0 there (SDM Vol1 10.2.3, 11.6.6). */
export const MXCSR = { DEFAULT: 0x1f80, DEFAULT_MASK: 0xffbf } as const;
