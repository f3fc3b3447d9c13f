// The debuggable target: the one interface the GDB stub (gdb-stub.ts) and the monitor commands
// (monitor.ts) use. Implemented over the Machine by MachineTarget (machine-target.ts); tests may
// implement it over anything. Browser-safe (no Node APIs).
//
// Addresses: "linear" is the guest's linear address space (segment base + offset, translated through
// the guest's current paging without side effects); "physical" is guest-physical RAM (host-physical
// when no EPT is in use). The register file is the list below, in order; the program counter the
// debugger sees (`eip`) is the LINEAR address of CS:EIP, so breakpoints, `x/i $pc` and stepping work
// in real mode and with non-zero CS bases; the architectural EIP is `eip_offset`.

import type { RunResult } from '../machine/machine.js';

/** One register of the target's register file. */
export interface RegInfo {
  readonly name: string;
  readonly bits: 16 | 32 | 80;
  /** GDB target-description type and group. */
  readonly type: string;
  readonly group: 'general' | 'float' | 'system' | 'segment';
}

const r = (name: string, type = 'int32', group: RegInfo['group'] = 'general', bits: RegInfo['bits'] = 32): RegInfo => ({ name, bits, type, group });
const SEG8 = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'];

/**
 * The register file, in GDB's i386 order for the first 32 (org.gnu.gdb.i386.core: GPRs, eip, eflags,
 * segment selectors, st0-st7, x87 control registers), then this machine's system state.
 */
export const REGISTERS: readonly RegInfo[] = [
  ...['eax', 'ecx', 'edx', 'ebx'].map((n) => r(n)),
  r('esp', 'data_ptr'), r('ebp', 'data_ptr'), r('esi'), r('edi'),
  r('eip', 'code_ptr'), r('eflags', 'i386_eflags'),
  ...['cs', 'ss', 'ds', 'es', 'fs', 'gs'].map((n) => r(n, 'int32', 'segment')),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((k) => r(`st${k}`, 'i387_ext', 'float', 80)),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((n) => r(n, 'int', 'float')),
  // System state (feature org.tsvisor.i386.system), unsigned.
  r('eip_offset', 'uint32', 'system'),
  ...['cr0', 'cr2', 'cr3', 'cr4', 'efer'].map((n) => r(n, 'uint32', 'system')),
  ...['dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7'].map((n) => r(n, 'uint32', 'system')),
  ...['gdtr_base', 'gdtr_limit', 'idtr_base', 'idtr_limit', 'ldtr', 'tr'].map((n) => r(n, 'uint32', 'system')),
  ...SEG8.flatMap((s) => [r(`${s}_base`, 'uint32', 'system'), r(`${s}_limit`, 'uint32', 'system'), r(`${s}_ar`, 'uint32', 'system')]),
];
/** Index of a register by name. */
export const REG_INDEX: Readonly<Record<string, number>> = Object.fromEntries(REGISTERS.map((x, k) => [x.name, k]));
/** Number of registers in org.gnu.gdb.i386.core (the rest are system state). */
export const CORE_REGS = 32;

export type PointKind = 'sw' | 'hw' | 'write' | 'read' | 'access';
export type MemSpace = 'linear' | 'physical' | 'host';

/** Why the target stopped. */
export type StopEvent =
  | { kind: 'breakpoint'; addr: number; hw: boolean }
  | { kind: 'watch'; type: 'write' | 'read' | 'access'; addr: number }
  | { kind: 'step' }
  /** Ctrl-C, or the debugger attached to a running machine. */
  | { kind: 'interrupt' }
  /** Before the first instruction (--gdb-wait). */
  | { kind: 'initial' }
  /** The machine stopped for good (triple fault, hypervisor halt, guest exit...): it cannot continue. */
  | { kind: 'ended'; result: RunResult };

/** Whose registers the debugger shows: the CPU's, or the guest's from the current VMCS (the CPU is in the host state). */
export type RegView = 'cpu' | 'vmcs-guest';

export interface DebugTarget {
  // ---- registers
  readonly registers: readonly RegInfo[];
  /** Register `index` as little-endian bytes of its width. */
  readRegister(index: number): Uint8Array;
  /** Write register `index` from little-endian bytes; false if it cannot be written. */
  writeRegister(index: number, bytes: Uint8Array): boolean;
  /** Where registers come from right now (see RegView). */
  regView(): RegView;

  // ---- memory (no side effects on the guest: no A/D bits, no faults, no device reads)
  /**
   * Read up to `len` bytes; the result is shorter if it reaches an inaccessible byte. Spaces:
   * guest-linear, guest-physical (through the EPT when in use), host-physical (the machine's RAM).
   */
  readMemory(addr: number, len: number, space: MemSpace): Uint8Array;
  /** Write bytes; returns how many were written (stops at the first inaccessible byte). */
  writeMemory(addr: number, data: Uint8Array, space: MemSpace): number;
  /** Linear → physical through the guest's current paging (and EPT), or null if not mapped. */
  translate(lin: number): number | null;

  // ---- breakpoints and watchpoints (never visible to the guest)
  insertPoint(kind: PointKind, addr: number, len: number): boolean;
  removePoint(kind: PointKind, addr: number, len: number): boolean;
  clearPoints(): void;

  // ---- execution
  /** Let the target run (step = one instruction, or one event delivered). */
  resume(step: boolean): void;
  /** Run for up to `budget` instructions; a StopEvent if it stopped, null if it is still running. */
  runFor(budget: number): StopEvent | null;
  /** Stop a running target at the current instruction boundary. */
  interrupt(): StopEvent;
  readonly running: boolean;
  /** The target waits for external input (halted, interrupts enabled, no timer armed). */
  readonly idle: boolean;
  /** The last stop. */
  readonly lastStop: StopEvent;
  /** The machine's final result once it ended. */
  readonly ended: RunResult | null;

  // ---- inspection for the monitor
  /** Run a monitor command (text in, text out). */
  monitor(line: string): string;
}
