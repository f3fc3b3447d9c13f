// The CPUID model: what the guest CPU reports (SDM Vol2 CPUID). It describes exactly what the
// machine implements, and it is the one place that data lives: CR4 (ops/system.ts), the MSRs
// (msr.ts) and the CPUID instruction all ask this module which features exist.
//
// The processor: GenuineIntel, family 6, a 32-bit-only i686 with PAE and NX, x87 and FXSAVE but no
// MMX/SSE, no VMX (the hypervisor is outside the guest, it is never a VMX feature of the guest CPU).
// Basic leaves 0-2 and extended leaves 80000000H-80000008H. The machine may change the features
// before the CPU is set up through `cpuidOptions` (e.g. a future `--cpuid-features` flag).

import { APIC_BASE, CPUID_ECX, CPUID_EDX, CPUID_EXT_EDX, CR4, MISC_ENABLE } from './arch.js';
import { MAXPHYADDR } from './paging.js';
import type { CPU } from './cpu.js';

export interface CpuidOptions {
  /** 12-character vendor string (leaf 0 EBX, EDX, ECX). */
  vendor: string;
  family: number;
  model: number;
  stepping: number;
  /** CPUID.01H:EDX and ECX feature flags (arch.ts CPUID_EDX / CPUID_ECX). */
  edx: number;
  ecx: number;
  /** CPUID.80000001H:EDX (arch.ts CPUID_EXT_EDX). */
  extEdx: number;
  /**
   * A local APIC is present (CPUID.01H:EDX.APIC and IA32_APIC_BASE). Default true: the local APIC
   * device is being written; the machine sets this to false while it has none.
   */
  apic: boolean;
  /** Processor brand string (leaves 80000002H-80000004H), at most 47 characters. */
  brand: string;
}

/**
 * Leaf 1 EDX. FPU: x87 (with FXSAVE/FXRSTOR: FXSR). DE: CR4.DE and the DR4/DR5 #UD. PSE, PAE, PGE,
 * PAT: paging.ts. TSC, MSR: RDTSC/RDMSR/WRMSR. MCE: CR4.MCE is accepted; this machine never raises
 * a machine check. MCA: IA32_MCG_CAP/IA32_MCG_STATUS with zero error-reporting banks (msr.ts; Linux
 * refuses its MCE device without MCA, a message no family-6 PC prints). CX8: CMPXCHG8B. APIC: only
 * with cpuidOptions.apic (the machine's flag), and it also follows IA32_APIC_BASE.EN (SDM Vol3A 10.4.3).
 * SEP: SYSENTER/SYSEXIT. MTRR: the MTRR MSRs (stored, no effect on an emulator). CMOV. CLFSH: CLFLUSH,
 * line size in leaf 1 EBX. Not advertised: VME (no V86 extensions), PSE-36, PSN, MMX, SSE, SSE2,
 * HTT, DS, ACPI, TM, PBE.
 */
export const DEFAULT_EDX = CPUID_EDX.FPU | CPUID_EDX.DE | CPUID_EDX.PSE | CPUID_EDX.TSC | CPUID_EDX.MSR | CPUID_EDX.PAE |
  CPUID_EDX.MCE | CPUID_EDX.MCA | CPUID_EDX.CX8 | CPUID_EDX.APIC | CPUID_EDX.SEP | CPUID_EDX.MTRR | CPUID_EDX.PGE | CPUID_EDX.CMOV |
  CPUID_EDX.PAT | CPUID_EDX.CLFSH | CPUID_EDX.FXSR;
/** Leaf 1 ECX: nothing (in particular no VMX, SMX, MONITOR, XSAVE, SSE3). */
export const DEFAULT_ECX = 0;
/** Leaf 80000001H EDX: execute-disable (NX, with EFER.NXE in PAE paging). No SYSCALL, no long mode. */
export const DEFAULT_EXT_EDX = CPUID_EXT_EDX.NX;

/** The options installDefaultCpuid uses; the machine may change them before building the CPU. */
export const cpuidOptions: CpuidOptions = {
  vendor: 'GenuineIntel',
  family: 6,
  model: 15,
  stepping: 1,
  edx: DEFAULT_EDX,
  ecx: DEFAULT_ECX,
  extEdx: DEFAULT_EXT_EDX,
  apic: true,
  brand: 'tsvisor virtual CPU',
};

/** Highest basic and extended leaves. */
export const MAX_BASIC_LEAF = 2;
export const MAX_EXT_LEAF = 0x80000008;
/** Linear-address width (32-bit only CPU) reported in leaf 80000008H. */
export const LINEAR_ADDRESS_BITS = 32;
/** CLFLUSH line size in 8-byte units (leaf 1 EBX[15:8]): 64-byte lines, matching the leaf 2 descriptors. */
export const CLFLUSH_LINE_QWORDS = 8;
/** No microcode update is loaded: IA32_BIOS_SIGN_ID[63:32] after CPUID(1) (SDM Vol3A 9.11.7). */
export const MICROCODE_REVISION = 0;

/**
 * Leaf 2 descriptors (SDM Vol2 CPUID, Table 3-12): 01H ITLB 4K 4-way 32 entries, 02H ITLB 4M fully
 * associative 2 entries, 03H DTLB 4K 4-way 64 entries, 04H DTLB 4M 4-way 8 entries, 2CH L1 data
 * 32 KB 8-way 64-byte lines, 30H L1 code 32 KB 8-way 64-byte lines, 7DH L2 2 MB 8-way 64-byte lines.
 * AL = 01H (execute once).
 */
const LEAF2: Leaf = [0x03020101, 0x7d302c04, 0, 0];
/** Leaf 80000006H ECX: L2 size in KB [31:16], associativity [15:12] (6 = 8-way), line size [7:0]. */
const L2_INFO = (2048 << 16) | (6 << 12) | 64;

export type Leaf = [number, number, number, number];

/** Family/model/stepping signature (leaf 1 EAX; also EDX after RESET, SDM Vol3A 9.1.4). */
export function signature(o: CpuidOptions): number {
  const extFamily = o.family > 15 ? o.family - 15 : 0;
  const family = o.family > 15 ? 15 : o.family;
  return (extFamily << 20) | ((o.model >> 4) << 16) | (family << 8) | ((o.model & 15) << 4) | (o.stepping & 15);
}

/** Four characters of `s` from `at`, little endian, NUL-padded. */
function chars4(s: string, at: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) v |= (at + k < s.length ? s.charCodeAt(at + k) & 0xff : 0) << (8 * k);
  return v;
}

/** Build the leaf table for `o`. Leaves inside the ranges that are not listed read as zeros. */
export function buildCpuidLeaves(o: CpuidOptions): Map<number, Leaf> {
  if (o.vendor.length !== 12) throw new Error('CPUID vendor must be 12 characters');
  if (o.brand.length > 47) throw new Error('CPUID brand string is at most 47 characters');
  const m = new Map<number, Leaf>();
  m.set(0, [MAX_BASIC_LEAF, chars4(o.vendor, 0), chars4(o.vendor, 8), chars4(o.vendor, 4)]);
  // Leaf 1 EBX: brand index 0, CLFLUSH line size, 1 logical processor, initial APIC ID 0.
  const ebx1 = (o.edx & CPUID_EDX.CLFSH ? CLFLUSH_LINE_QWORDS << 8 : 0) | (1 << 16);
  const edx1 = o.apic ? o.edx | CPUID_EDX.APIC : o.edx & ~CPUID_EDX.APIC;
  m.set(1, [signature(o), ebx1, o.ecx, edx1]);
  m.set(2, LEAF2.slice() as Leaf);
  m.set(0x80000000, [MAX_EXT_LEAF, 0, 0, 0]);
  m.set(0x80000001, [0, 0, 0, o.extEdx]);
  for (let k = 0; k < 3; k++) {
    const at = k * 16;
    m.set(0x80000002 + k, [chars4(o.brand, at), chars4(o.brand, at + 4), chars4(o.brand, at + 8), chars4(o.brand, at + 12)]);
  }
  m.set(0x80000005, [0, 0, 0, 0]);
  m.set(0x80000006, [0, 0, L2_INFO, 0]);
  m.set(0x80000007, [0, 0, 0, 0]);
  // Address sizes: physical bits [7:0] (= paging.ts MAXPHYADDR), linear bits [15:8].
  m.set(0x80000008, [MAXPHYADDR | (LINEAR_ADDRESS_BITS << 8), 0, 0, 0]);
  return m;
}

/** Give `cpu` the CPUID model of `o` (default: cpuidOptions). The machine calls this once. */
export function installDefaultCpuid(cpu: CPU, o: CpuidOptions = cpuidOptions): void {
  cpu.cpuidLeaves = buildCpuidLeaves(o);
}

/** The CPU's leaf table; a CPU that was never given one (bare test CPUs) gets the default. */
function leaves(c: CPU): Map<number, Leaf> {
  if (c.cpuidLeaves.size === 0) installDefaultCpuid(c);
  return c.cpuidLeaves;
}

// Static feature words as installed (not the dynamic view CPUID gives, see cpuidQuery).
export function featuresEdx(c: CPU): number { const l = leaves(c).get(1); return l !== undefined ? l[3] : 0; }
export function featuresEcx(c: CPU): number { const l = leaves(c).get(1); return l !== undefined ? l[2] : 0; }
export function featuresExtEdx(c: CPU): number { const l = leaves(c).get(0x80000001); return l !== undefined ? l[3] : 0; }

/** Execute-disable is available: advertised and not turned off by IA32_MISC_ENABLE.XD_DISABLE (SDM Vol4). */
export function nxAvailable(c: CPU): boolean {
  return (featuresExtEdx(c) & CPUID_EXT_EDX.NX) !== 0 && (c.miscEnableHi & MISC_ENABLE.XD_DISABLE_HI) === 0;
}

/**
 * CR4 bits MOV to CR4 accepts: each needs its CPUID feature (SDM Vol3A 2.5: setting a bit the
 * processor does not support is #GP(0)). PCE exists on every family-6 processor (no CPUID flag).
 * Never valid here: UMIP, LA57, FSGSBASE, PCIDE, SMEP, SMAP, PKE (no leaf 7, no long mode).
 */
export function cr4ValidBits(c: CPU): number {
  const edx = featuresEdx(c), ecx = featuresEcx(c);
  let m: number = CR4.PCE;
  if (edx & CPUID_EDX.VME) m |= CR4.VME | CR4.PVI;
  if (edx & CPUID_EDX.TSC) m |= CR4.TSD;
  if (edx & CPUID_EDX.DE) m |= CR4.DE;
  if (edx & CPUID_EDX.PSE) m |= CR4.PSE;
  if (edx & CPUID_EDX.PAE) m |= CR4.PAE;
  if (edx & CPUID_EDX.MCE) m |= CR4.MCE;
  if (edx & CPUID_EDX.PGE) m |= CR4.PGE;
  if (edx & CPUID_EDX.FXSR) m |= CR4.OSFXSR;
  if (edx & CPUID_EDX.SSE) m |= CR4.OSXMMEXCPT;
  if (ecx & CPUID_ECX.VMX) m |= CR4.VMXE;
  if (ecx & CPUID_ECX.SMX) m |= CR4.SMXE;
  if (ecx & CPUID_ECX.XSAVE) m |= CR4.OSXSAVE;
  return m;
}

/** Result of the last cpuidQuery: EAX, EBX, ECX, EDX. */
export const cpuidOut = new Int32Array(4);

/**
 * CPUID for leaf `eax` (subleaf `ecx`, unused by the leaves reported) into cpuidOut, with the
 * dynamic parts: APIC flag from IA32_APIC_BASE.EN, NX hidden by IA32_MISC_ENABLE.XD_DISABLE, the
 * maximum basic leaf limited to 2 by IA32_MISC_ENABLE.LIMIT_CPUID, and IA32_BIOS_SIGN_ID loaded by
 * leaf 1. A leaf above the highest basic or extended leaf returns the highest basic leaf's data.
 */
export function cpuidQuery(c: CPU, eax: number, ecx: number): void {
  void ecx;
  const m = leaves(c);
  const l0 = m.get(0);
  let maxBasic = l0 !== undefined ? l0[0] >>> 0 : 0;
  if ((c.miscEnable & MISC_ENABLE.LIMIT_CPUID) !== 0 && maxBasic > 2) maxBasic = 2;
  const lx = m.get(0x80000000);
  const maxExt = lx !== undefined ? lx[0] >>> 0 : 0;
  let leaf = eax >>> 0;
  if (leaf >= 0x80000000 ? leaf > maxExt : leaf > maxBasic) leaf = maxBasic;
  const v = m.get(leaf);
  const out = cpuidOut;
  if (v === undefined) { out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0; return; }
  out[0] = v[0]; out[1] = v[1]; out[2] = v[2]; out[3] = v[3];
  if (leaf === 0) out[0] = maxBasic;
  else if (leaf === 1) {
    if ((c.apicBase & APIC_BASE.EN) === 0) out[3] &= ~CPUID_EDX.APIC;
    c.biosSignId = MICROCODE_REVISION;
  } else if (leaf === 0x80000001) {
    if ((c.miscEnableHi & MISC_ENABLE.XD_DISABLE_HI) !== 0) out[3] &= ~CPUID_EXT_EDX.NX;
  }
}

/** CPUID as a new array [EAX, EBX, ECX, EDX] (for callers off the hot path, e.g. the VMX host side). */
export function cpuidLeaf(c: CPU, eax: number, ecx = 0): [number, number, number, number] {
  cpuidQuery(c, eax, ecx);
  return [cpuidOut[0], cpuidOut[1], cpuidOut[2], cpuidOut[3]];
}
