// The model-specific registers this machine implements (SDM Vol4 ch. 2, Table 2-2 "IA-32
// Architectural MSRs"), as one table: number, SDM name, the CPUID feature the MSR depends on, the
// reserved-bit masks WRMSR checks, and how reads and writes reach the CPU state (state.ts).
//
// rdmsr/wrmsr take (c, index) and report failure instead of faulting, so RDMSR/WRMSR (ops/system.ts,
// #GP(0) on failure) and the VMX MSR-load/store areas can both use them. Values are two 32-bit halves.

import { APIC_BASE, CPUID_EDX, CPUID_EXT_EDX, EFER, FEATURE_CONTROL, MEMTYPE, MISC_ENABLE, MSR, MTRRCAP } from './arch.js';
import { featuresEdx, featuresExtEdx, nxAvailable } from './cpuid.js';
import { MAXPHYADDR } from './paging.js';
import type { CPU } from './cpu.js';

/** Result of the last successful rdmsr. */
export const msrOut = { lo: 0, hi: 0 };

/** Physical-address bits above MAXPHYADDR in the high half of an address-carrying MSR (reserved). */
const RSVD_PHYS_HI = ~((1 << (MAXPHYADDR - 32)) - 1);
/** Number of variable-range MTRR pairs (IA32_MTRRCAP.VCNT). */
export const MTRR_VCNT = 8;
/** The fixed-range MTRRs in IA32_MTRRCAP order: their index in state.mtrrFixed (halves 2k, 2k+1). */
const MTRR_FIXED = [
  MSR.IA32_MTRR_FIX64K_00000, MSR.IA32_MTRR_FIX16K_80000, MSR.IA32_MTRR_FIX16K_A0000,
  0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f, // IA32_MTRR_FIX4K_C0000 .. _F8000
];
const MTRR_FIXED_NAMES = [
  'IA32_MTRR_FIX64K_00000', 'IA32_MTRR_FIX16K_80000', 'IA32_MTRR_FIX16K_A0000', 'IA32_MTRR_FIX4K_C0000',
  'IA32_MTRR_FIX4K_C8000', 'IA32_MTRR_FIX4K_D0000', 'IA32_MTRR_FIX4K_D8000', 'IA32_MTRR_FIX4K_E0000',
  'IA32_MTRR_FIX4K_E8000', 'IA32_MTRR_FIX4K_F0000', 'IA32_MTRR_FIX4K_F8000',
];

/** An MSR: `n` is the position within a range entry (MTRRs), 0 otherwise. */
export interface MsrDef {
  readonly index: number;
  readonly name: string;
  /** The MSR exists only if this CPUID.01H:EDX / 80000001H:EDX feature is advertised (0 = always). */
  readonly edx: number;
  readonly extEdx: number;
  /** Bits WRMSR must find clear (else #GP(0)); -1 in both = read-only. */
  readonly rsvdLo: number;
  readonly rsvdHi: number;
  /** Set msrOut. */
  read(c: CPU, n: number): void;
  /** Store an already reserved-bit-checked value; false = invalid value (#GP(0)). */
  write(c: CPU, lo: number, hi: number, n: number): boolean;
}

function out(lo: number, hi: number): void { msrOut.lo = lo | 0; msrOut.hi = hi | 0; }
const RO = (): boolean => false;

// ------------------------------------------------------------------ time-stamp counter
const TWO32 = 0x100000000;

/** The TSC: virtual time in ns (1 GHz; includes time skipped while halted, clock.ts) + IA32_TSC offset. */
export function readTsc(c: CPU): number { return c.clock.nowNs() + c.tscOffset; }
/** IA32_TIME_STAMP_COUNTER write: the counter continues from `value` (SDM Vol3B 17.17). */
export function writeTsc(c: CPU, lo: number, hi: number): void {
  c.tscOffset = (hi >>> 0) * TWO32 + (lo >>> 0) - c.clock.nowNs();
}
/** Split a 64-bit counter value (a JS number, modulo 2^64) into msrOut. */
export function splitTsc(v: number): void {
  if (v < 0) v += TWO32 * TWO32;
  out(v % TWO32, Math.floor(v / TWO32) % TWO32);
}

// ------------------------------------------------------------------ memory types
/** Valid MTRR memory types: UC, WC, WT, WP, WB (SDM Vol3A Table 11-8). */
function mtrrType(t: number): boolean {
  return t === MEMTYPE.UC || t === MEMTYPE.WC || t === MEMTYPE.WT || t === MEMTYPE.WP || t === MEMTYPE.WB;
}
/** Every byte of lo/hi is a valid type (PAT also allows UC-, SDM Vol3A 11.12.2). */
function allTypes(lo: number, hi: number, pat: boolean): boolean {
  for (let k = 0; k < 8; k++) {
    const t = ((k < 4 ? lo : hi) >>> (8 * (k & 3))) & 0xff;
    if (!(mtrrType(t) || (pat && t === MEMTYPE.UC_MINUS))) return false;
  }
  return true;
}

// ------------------------------------------------------------------ the table
/** Writable IA32_MISC_ENABLE bits; the read-only ones (BTS/PEBS unavailable, perfmon, monitor FSM) ignore writes. */
const MISC_WRITABLE = MISC_ENABLE.FAST_STRINGS | MISC_ENABLE.AUTO_THERMAL | MISC_ENABLE.LIMIT_CPUID | MISC_ENABLE.XTPR_DISABLE;
const MISC_RO_ONES = MISC_ENABLE.BTS_UNAVAILABLE | MISC_ENABLE.PEBS_UNAVAILABLE;
const MISC_RO = MISC_RO_ONES | MISC_ENABLE.PERFMON | MISC_ENABLE.MONITOR_FSM;

function def(index: number, name: string, edx: number, extEdx: number, rsvdLo: number, rsvdHi: number,
  read: (c: CPU, n: number) => void, write: (c: CPU, lo: number, hi: number, n: number) => boolean): MsrDef {
  return { index, name, edx, extEdx, rsvdLo, rsvdHi, read, write };
}

export const MSR_TABLE: readonly MsrDef[] = [
  // Pentium-style machine-check address/type: read as 0 (no machine checks), read-only.
  def(MSR.IA32_P5_MC_ADDR, 'IA32_P5_MC_ADDR', 0, 0, -1, -1, () => out(0, 0), RO),
  def(MSR.IA32_P5_MC_TYPE, 'IA32_P5_MC_TYPE', 0, 0, -1, -1, () => out(0, 0), RO),
  def(MSR.IA32_TIME_STAMP_COUNTER, 'IA32_TIME_STAMP_COUNTER', CPUID_EDX.TSC, 0, 0, 0,
    (c) => splitTsc(readTsc(c)), (c, lo, hi) => { writeTsc(c, lo, hi); return true; }),
  // Platform ID [52:50] = 0 (read by microcode loaders).
  def(MSR.IA32_PLATFORM_ID, 'IA32_PLATFORM_ID', 0, 0, -1, -1, () => out(0, 0), RO),
  // BSP [8], x2APIC enable [10] (no x2APIC: reserved), global enable [11], base [35:12].
  def(MSR.IA32_APIC_BASE, 'IA32_APIC_BASE', CPUID_EDX.APIC, 0, 0x6ff, RSVD_PHYS_HI,
    (c) => out(c.apicBase, c.apicBaseHi),
    (c, lo, hi) => {
      c.apicBase = lo >>> 0; c.apicBaseHi = hi;
      // The local APIC device (coming) relocates/enables itself here.
      if (c.hooks.onApicBaseWrite) c.hooks.onApicBaseWrite(lo, hi);
      return true;
    }),
  // Locked with VMX disabled in and outside SMX: the guest CPU reports no VMX (CPUID.1:ECX.VMX = 0),
  // and a locked register makes every WRMSR #GP(0) (SDM Vol3C 23.7).
  def(MSR.IA32_FEATURE_CONTROL, 'IA32_FEATURE_CONTROL', 0, 0, 0, -1,
    (c) => out(c.featureControl, 0),
    (c, lo) => { if ((c.featureControl & FEATURE_CONTROL.LOCK) !== 0) return false; c.featureControl = lo; return true; }),
  // Microcode revision in [63:32]; CPUID(1) reloads it (cpuid.ts). Writes (of 0, by loaders) are stored.
  def(MSR.IA32_BIOS_SIGN_ID, 'IA32_BIOS_SIGN_ID', 0, 0, 0, 0,
    (c) => out(0, c.biosSignId), (c, _lo, hi) => { c.biosSignId = hi; return true; }),
  def(MSR.IA32_MTRRCAP, 'IA32_MTRRCAP', CPUID_EDX.MTRR, 0, -1, -1,
    () => out(MTRR_VCNT | MTRRCAP.FIX | MTRRCAP.WC, 0), RO),
  // SYSENTER: 32-bit values on a processor without long mode; the high half is not used.
  def(MSR.IA32_SYSENTER_CS, 'IA32_SYSENTER_CS', CPUID_EDX.SEP, 0, 0, 0,
    (c) => out(c.sysenterCs, 0), (c, lo) => { c.sysenterCs = lo; return true; }),
  def(MSR.IA32_SYSENTER_ESP, 'IA32_SYSENTER_ESP', CPUID_EDX.SEP, 0, 0, 0,
    (c) => out(c.sysenterEsp, 0), (c, lo) => { c.sysenterEsp = lo; return true; }),
  def(MSR.IA32_SYSENTER_EIP, 'IA32_SYSENTER_EIP', CPUID_EDX.SEP, 0, 0, 0,
    (c) => out(c.sysenterEip, 0), (c, lo) => { c.sysenterEip = lo; return true; }),
  // Machine-check global registers (CPUID MCA) with zero error-reporting banks, no MCG_CTL.
  def(MSR.IA32_MCG_CAP, 'IA32_MCG_CAP', 0, 0, -1, -1, () => out(0, 0), RO),
  def(MSR.IA32_MCG_STATUS, 'IA32_MCG_STATUS', 0, 0, ~7, -1,
    (c) => out(c.mcgStatus, 0), (c, lo) => { c.mcgStatus = lo; return true; }),
  def(MSR.IA32_MISC_ENABLE, 'IA32_MISC_ENABLE', 0, 0, ~(MISC_WRITABLE | MISC_RO), ~MISC_ENABLE.XD_DISABLE_HI,
    (c) => out((c.miscEnable & MISC_WRITABLE) | MISC_RO_ONES, c.miscEnableHi),
    (c, lo, hi) => {
      // XD bit disable exists only on processors with execute-disable.
      if ((hi & MISC_ENABLE.XD_DISABLE_HI) !== 0 && (featuresExtEdx(c) & CPUID_EXT_EDX.NX) === 0) return false;
      c.miscEnable = lo & MISC_WRITABLE; c.miscEnableHi = hi;
      return true;
    }),
  // Variable-range MTRRs: PHYSBASEn (type [7:0], base [35:12]) and PHYSMASKn (valid [11], mask [35:12]).
  ...Array.from({ length: 2 * MTRR_VCNT }, (_, k) => def(MSR.IA32_MTRR_PHYSBASE0 + k,
    `IA32_MTRR_PHYS${k & 1 ? 'MASK' : 'BASE'}${k >> 1}`, CPUID_EDX.MTRR, 0, k & 1 ? 0x7ff : 0xf00, RSVD_PHYS_HI,
    (c, n) => out(c.mtrrVar[2 * n], c.mtrrVar[2 * n + 1]),
    (c, lo, hi, n) => {
      if ((n & 1) === 0 && !mtrrType(lo & 0xff)) return false;
      c.mtrrVar[2 * n] = lo; c.mtrrVar[2 * n + 1] = hi;
      return true;
    })),
  // Fixed-range MTRRs: eight type bytes each.
  ...MTRR_FIXED.map((index, k) => def(index, MTRR_FIXED_NAMES[k], CPUID_EDX.MTRR, 0, 0, 0,
    (c) => out(c.mtrrFixed[2 * k], c.mtrrFixed[2 * k + 1]),
    (c, lo, hi) => {
      if (!allTypes(lo, hi, false)) return false;
      c.mtrrFixed[2 * k] = lo; c.mtrrFixed[2 * k + 1] = hi;
      return true;
    })),
  // PAT: eight entries PA0-PA7, each a 3-bit type (bits 7:3 of each byte reserved); 2 and 3 are invalid.
  def(MSR.IA32_PAT, 'IA32_PAT', CPUID_EDX.PAT, 0, 0xf8f8f8f8 | 0, 0xf8f8f8f8 | 0,
    (c) => out(c.patLo, c.patHi),
    (c, lo, hi) => { if (!allTypes(lo, hi, true)) return false; c.patLo = lo; c.patHi = hi; return true; }),
  // Default type [7:0], fixed-range enable [10], MTRR enable [11].
  def(MSR.IA32_MTRR_DEF_TYPE, 'IA32_MTRR_DEF_TYPE', CPUID_EDX.MTRR, 0, ~0xcff, -1,
    (c) => out(c.mtrrDefType, 0),
    (c, lo) => { if (!mtrrType(lo & 0xff)) return false; c.mtrrDefType = lo; return true; }),
  // EFER exists with NX (or long mode). Only NXE is writable here: SCE (SYSCALL is not advertised),
  // LME and LMA (no long mode) are reserved; NXE is reserved too while XD is disabled.
  def(MSR.IA32_EFER, 'IA32_EFER', 0, CPUID_EXT_EDX.NX, ~EFER.NXE, -1,
    (c) => out(c.efer, 0),
    (c, lo) => { if ((lo & EFER.NXE) !== 0 && !nxAvailable(c)) return false; c.setEfer(lo); return true; }),
];

/** Index → (definition, position within its range). */
const BY_INDEX = new Map<number, { d: MsrDef; n: number }>();
for (const d of MSR_TABLE) BY_INDEX.set(d.index >>> 0, { d, n: 0 });
// Range entries: the position is the offset from the first MSR of the range.
for (let k = 0; k < 2 * MTRR_VCNT; k++) BY_INDEX.get(MSR.IA32_MTRR_PHYSBASE0 + k)!.n = k;

/** The MSR `index` exists on this CPU (its CPUID feature is advertised). */
function lookup(c: CPU, index: number): { d: MsrDef; n: number } | undefined {
  const e = BY_INDEX.get(index >>> 0);
  if (e === undefined) return undefined;
  if (e.d.edx !== 0 && (featuresEdx(c) & e.d.edx) === 0) return undefined;
  if (e.d.extEdx !== 0 && (featuresExtEdx(c) & e.d.extEdx) === 0) return undefined;
  return e;
}

/** Read MSR `index` into msrOut. False if this CPU has no such MSR (RDMSR raises #GP(0)). */
export function rdmsr(c: CPU, index: number): boolean {
  const e = lookup(c, index);
  if (e === undefined) return false;
  e.d.read(c, e.n);
  return true;
}

/**
 * Write MSR `index` with hi:lo. False if the MSR does not exist, is read-only, the value sets
 * reserved bits, or it is invalid for the register (WRMSR raises #GP(0), nothing changed).
 */
export function wrmsr(c: CPU, index: number, lo: number, hi: number): boolean {
  const e = lookup(c, index);
  if (e === undefined) return false;
  const d = e.d;
  if ((lo & d.rsvdLo) !== 0 || (hi & d.rsvdHi) !== 0) return false;
  return d.write(c, lo | 0, hi | 0, e.n);
}

/** RDMSR as a new array [lo, hi], or null if the MSR does not exist (off the hot path, e.g. VMX MSR areas). */
export function readMsr(c: CPU, index: number): [number, number] | null {
  return rdmsr(c, index) ? [msrOut.lo, msrOut.hi] : null;
}

/** SDM name of an MSR (for traces and reports), or its number in hex. */
export function msrName(index: number): string {
  const e = BY_INDEX.get(index >>> 0);
  return e !== undefined ? e.d.name : `MSR ${(index >>> 0).toString(16)}H`;
}
