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
  IA32_MTRR_PHYSBASE0: 0x200, IA32_MTRR_FIX64K_00000: 0x250, IA32_MTRR_FIX16K_80000: 0x258,
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
