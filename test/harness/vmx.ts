// Test harness for the VMX tests: a machine, a minimal host set up by hand through the VMX unit
// (GDT/TSS/identity paging, VMXON, VMCLEAR, VMPTRLD) and a VALID VMCS for a flat 32-bit paged
// guest at CPL 0, plus the SDM's constants written out independently of machine/vmx/ (control
// bits: Vol3C 24.6-24.8; exit reasons: Vol3D App. C; VM-instruction errors: Vol3C 31.4).
//
// Guest memory map (identity paged; the first 4 MiB with 4-KiB pages so tests can unmap one):
//   0x1000 code, 0x9000 data page, 0x10000 GDT, 0x11000 IDT, 0x12000 TSS, 0x13000 page directory,
//   0x14000 page table, 0x20000 exception handlers (16 bytes per vector: HLT), stack below 0x80000.
// Host memory: 0x100000 and up (GDT, page directory, TSS, VMXON region, VMCS regions, bitmaps, EPT).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, type RunResult } from '../../machine/machine.js';
import { F, VMCS_FIELDS, type VmcsField } from '../../machine/vmx/vmcs-fields.js';
import type { VmxUnit } from '../../machine/vmx/vmx-unit.js';
import { SEG } from '../../machine/cpu/arch.js';

// ------------------------------------------------------------------ SDM constants (written out here)
/** Primary processor-based controls (Vol3C Table 24-6). */
export const P = {
  INTR_WINDOW: 1 << 2, TSC_OFFSET: 1 << 3, HLT: 1 << 7, INVLPG: 1 << 9, MWAIT: 1 << 10, RDPMC: 1 << 11,
  RDTSC: 1 << 12, CR3_LOAD: 1 << 15, CR3_STORE: 1 << 16, TPR_SHADOW: 1 << 21, NMI_WINDOW: 1 << 22, MOV_DR: 1 << 23,
  UNCOND_IO: 1 << 24, IO_BITMAPS: 1 << 25, MTF: 1 << 27, MSR_BITMAPS: 1 << 28, MONITOR: 1 << 29, PAUSE: 1 << 30,
  SECONDARY: 1 << 31,
} as const;
/** Secondary processor-based controls (Vol3C Table 24-7). */
export const P2 = {
  APIC_ACCESSES: 1 << 0, EPT: 1 << 1, DESC_TABLE: 1 << 2, RDTSCP: 1 << 3, VPID: 1 << 5, WBINVD: 1 << 6,
  UNRESTRICTED: 1 << 7, PML: 1 << 17, TSC_SCALING: 1 << 25,
} as const;
/** Pin-based controls (Vol3C Table 24-5). */
export const PIN_C = { EXT_INTR: 1 << 0, NMI: 1 << 3, VIRTUAL_NMIS: 1 << 5, PREEMPTION: 1 << 6, POSTED: 1 << 7 } as const;
/** VM-exit controls (Vol3C Table 24-13). */
export const EXIT_C = {
  SAVE_DEBUG: 1 << 2, HOST_64: 1 << 9, ACK_INTR: 1 << 15, SAVE_PAT: 1 << 18, LOAD_PAT: 1 << 19, SAVE_EFER: 1 << 20,
  LOAD_EFER: 1 << 21, SAVE_TIMER: 1 << 22,
} as const;
/** VM-entry controls (Vol3C Table 24-15). */
export const ENTRY_C = { LOAD_DEBUG: 1 << 2, IA32E: 1 << 9, SMM: 1 << 10, DUAL: 1 << 11, LOAD_PAT: 1 << 14, LOAD_EFER: 1 << 15 } as const;
/** Basic exit reasons (Vol3D Table C-1). */
export const R = {
  EXC_NMI: 0, EXT_INTR: 1, TRIPLE_FAULT: 2, INTR_WINDOW: 7, NMI_WINDOW: 8, TASK_SWITCH: 9, CPUID: 10, HLT: 12,
  INVD: 13, INVLPG: 14, RDPMC: 15, RDTSC: 16, VMCALL: 18, VMCLEAR: 19, VMLAUNCH: 20, VMPTRLD: 21, VMPTRST: 22,
  VMREAD: 23, VMRESUME: 24, VMWRITE: 25, VMXOFF: 26, VMXON: 27, CR: 28, DR: 29, IO: 30, RDMSR: 31, WRMSR: 32,
  BAD_GUEST: 33, MSR_LOADING: 34, MTF: 37, PAUSE: 40, GDTR_IDTR: 46, LDTR_TR: 47, EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49, PREEMPTION: 52, WBINVD: 54,
} as const;
export const ENTRY_FAILURE = 0x80000000;
/** Interruption-information fields (Vol3C Tables 24-16, 24-19, 24-20): valid, error-code valid, types. */
export const II = { VALID: 0x80000000, EC: 1 << 11, EXT: 0 << 8, NMI: 2 << 8, HW: 3 << 8, SWI: 4 << 8, PSE: 5 << 8, SWE: 6 << 8, OTHER: 7 << 8 } as const;
/** Capability MSRs (Vol3D App. A). */
export const MSR_VMX = {
  BASIC: 0x480, PIN: 0x481, PROC: 0x482, EXIT: 0x483, ENTRY: 0x484, MISC: 0x485, CR0_F0: 0x486, CR0_F1: 0x487,
  CR4_F0: 0x488, CR4_F1: 0x489, ENUM: 0x48a, PROC2: 0x48b, EPT_VPID: 0x48c, TRUE_PIN: 0x48d, TRUE_PROC: 0x48e,
  TRUE_EXIT: 0x48f, TRUE_ENTRY: 0x490,
} as const;

// ------------------------------------------------------------------ memory map
export const GUEST_CODE = 0x1000, GUEST_DATA = 0x9000, GDT = 0x10000, IDT = 0x11000, TSS = 0x12000;
export const GUEST_PD = 0x13000, GUEST_PT = 0x14000, HANDLERS = 0x20000, GUEST_STACK = 0x80000;
export const HOST_GDT = 0x100000, HOST_PD = 0x101000, HOST_TSS = 0x102000, VMXON = 0x103000, VMCS = 0x104000;
export const VMCS2 = 0x105000, IO_A = 0x106000, IO_B = 0x107000, MSR_BITMAP = 0x108000, MSR_AREA = 0x109000;
export const HOST_STACK = 0x10e000, HOST_CODE = 0x10f000, EPT_PML4 = 0x110000, EPT_PDPT = 0x111000, EPT_PD = 0x112000, EPT_PT = 0x113000;
/** Access rights (VMCS format, Vol3C Table 24-2) of the guest's flat segments. */
export const AR_CODE = 0xc09b, AR_DATA = 0xc093, AR_TSS = 0x8b, AR_UNUSABLE = 0x10000;
/** CR0 = PE | ET | NE | PG, CR4 = PSE | VMXE. */
export const GUEST_CR0 = 0x80000031, GUEST_CR4 = 0x2010;

// ------------------------------------------------------------------ assembler
const asmCache = new Map<string, Uint8Array>();
/** Assemble 32-bit code at `org` with nasm. */
export function asm(src: string, org = GUEST_CODE, bits = 32): Uint8Array {
  const key = `${bits}:${org}:${src}`;
  const hit = asmCache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'tsv-vmx-'));
  try {
    writeFileSync(join(dir, 'a.asm'), `bits ${bits}\norg 0x${org.toString(16)}\n${src}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
    const b = readFileSync(join(dir, 'a.bin'));
    asmCache.set(key, b);
    return b;
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

// ------------------------------------------------------------------ the rig
export interface Exit {
  reason: number; qual: number; len: number; intrInfo: number; intrErr: number; idtInfo: number; idtErr: number;
  instrInfo: number; gla: number; gpa: number; rip: number; rsp: number; rflags: number; intr: number; activity: number;
  /** Every VMCS field at the time of the exit, by name. */
  f: Record<string, number>;
  /** EAX..EDI at the exit (the guest's, ESP excepted). */
  gprs: number[];
  /** Retired instructions at the exit. */
  insns: number;
}

export interface RigOptions {
  /** Extra primary controls (HLT exiting is on by default). */
  proc?: number; proc2?: number; pin?: number; exit?: number; entry?: number;
  /** Guest code (bytes or nasm source). */
  code?: Uint8Array | string;
  /** Build EPT (identity, 4-KiB pages in the first 2 MiB) and turn on "enable EPT". */
  ept?: boolean;
  /** Leave "HLT exiting" off (the guest really halts). */
  noHlt?: boolean;
}

/** Controls from a TRUE capability MSR: its must-be-1 bits plus `want` (the way a VMM adjusts them, Vol3D A.2). */
export function ctl(vmx: VmxUnit, msr: number, want: number): number {
  const [lo] = vmx.rdmsr(msr);
  return (lo | want) | 0;
}

export class Rig {
  readonly m: Machine;
  readonly vmx: VmxUnit;
  readonly exits: Exit[] = [];
  /** Decide after each exit: return true to resume (after adjusting the VMCS), false to stop. */
  onExit: (e: Exit, rig: Rig) => boolean = () => false;
  result: RunResult | null = null;

  constructor(o: RigOptions = {}) {
    this.m = new Machine({ memBytes: 16 << 20, onSerial: () => {} });
    this.vmx = this.m.vmx;
    this.hostSetup();
    this.guestTables();
    this.defaultVmcs(o);
    if (o.code !== undefined) this.code(o.code);
    this.vmx.onVmExit(() => this.handler());
  }

  wr(pa: number, size: number, v: number): void { this.m.mem.write(pa, size, v); }
  rd(pa: number, size = 4): number { return this.m.mem.read(pa, size) >>> 0; }

  /** VMWRITE through the instruction semantics (64-bit fields: both halves, Vol3C 24.11.2). */
  w(f: VmcsField, v: number): void {
    const hi = Math.floor(v / 0x100000000);
    let s = this.vmx.vmwrite(f.encoding, v % 0x100000000);
    if (s === 0 && (f.encoding >> 13) === 1) s = this.vmx.vmwrite(f.encoding | 1, hi);
    if (s !== 0) throw new Error(`VMWRITE ${f.name} failed: ${s}`);
  }
  r(f: VmcsField): number { return this.vmx.read(f); }

  code(c: Uint8Array | string): void { this.m.mem.load(GUEST_CODE, typeof c === 'string' ? asm(c) : c); }

  /** Host: flat GDT (08 code, 10 data, 18 TSS), 4-MiB identity paging, VMXON, VMCLEAR, VMPTRLD. */
  private hostSetup(): void {
    const vmx = this.vmx;
    this.wr(HOST_GDT + 8, 4, 0x0000ffff); this.wr(HOST_GDT + 12, 4, 0x00cf9a00);
    this.wr(HOST_GDT + 16, 4, 0x0000ffff); this.wr(HOST_GDT + 20, 4, 0x00cf9200);
    this.wr(HOST_GDT + 24, 4, 0x67 | ((HOST_TSS & 0xffff) << 16)); this.wr(HOST_GDT + 28, 4, ((HOST_TSS >>> 16) & 0xff) | 0x8900);
    for (let k = 0; k < 1024; k++) this.wr(HOST_PD + 4 * k, 4, ((k << 22) | 0x83) | 0);
    vmx.lgdt(HOST_GDT, 0x1f);
    vmx.writeCr(4, 0x2010);      // PSE | VMXE
    vmx.writeCr(3, HOST_PD);
    vmx.writeCr(0, 0x80000031);  // PG | NE | ET | PE
    vmx.loadSegment(SEG.CS, 0x08);
    for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) vmx.loadSegment(s, 0x10);
    vmx.loadSegment(SEG.TR, 0x18);
    vmx.wrmsr(0x3a, 5, 0); // IA32_FEATURE_CONTROL: lock | enable VMX outside SMX
    const rev = vmx.rdmsr(MSR_VMX.BASIC)[0] & 0x7fffffff;
    this.wr(VMXON, 4, rev); this.wr(VMCS, 4, rev); this.wr(VMCS2, 4, rev);
    this.must(vmx.vmxon(VMXON), 'VMXON');
    this.must(vmx.vmclear(VMCS), 'VMCLEAR');
    this.must(vmx.vmptrld(VMCS), 'VMPTRLD');
  }

  private must(s: number, what: string): void { if (s !== 0) throw new Error(`${what} failed: ${s}`); }

  /** Guest GDT (08 code, 10 data, 18 TSS busy, 20 code DPL3, 28 data DPL3), IDT → handlers, paging. */
  private guestTables(): void {
    this.wr(GDT + 8, 4, 0x0000ffff); this.wr(GDT + 12, 4, 0x00cf9b00);
    this.wr(GDT + 16, 4, 0x0000ffff); this.wr(GDT + 20, 4, 0x00cf9300);
    this.wr(GDT + 24, 4, 0x67 | ((TSS & 0xffff) << 16)); this.wr(GDT + 28, 4, ((TSS >>> 16) & 0xff) | 0x8b00);
    this.wr(GDT + 32, 4, 0x0000ffff); this.wr(GDT + 36, 4, 0x00cffb00);
    this.wr(GDT + 40, 4, 0x0000ffff); this.wr(GDT + 44, 4, 0x00cff300);
    this.wr(TSS + 4, 4, GUEST_STACK); this.wr(TSS + 8, 4, 0x10); // ESP0, SS0
    for (let v = 0; v < 256; v++) {
      const h = HANDLERS + v * 16;
      this.wr(IDT + v * 8, 4, (h & 0xffff) | (0x08 << 16));
      this.wr(IDT + v * 8 + 4, 4, (h & 0xffff0000) | 0xee00); // 32-bit interrupt gate, DPL 3, present
      this.wr(h, 1, 0xf4); // HLT
    }
    this.wr(GUEST_PD, 4, GUEST_PT | 0x07);
    for (let k = 1; k < 4; k++) this.wr(GUEST_PD + 4 * k, 4, (k << 22) | 0x87);
    for (let k = 0; k < 1024; k++) this.wr(GUEST_PT + 4 * k, 4, (k << 12) | 0x07);
  }

  /** Identity EPT for the 16 MiB: PML4 → PDPT → PD; PD[0] → PT with 4-KiB pages, PD[1..7] 2-MiB pages. RWX, WB. */
  buildEpt(): number {
    this.wr(EPT_PML4, 4, EPT_PDPT | 7);
    this.wr(EPT_PDPT, 4, EPT_PD | 7);
    this.wr(EPT_PD, 4, EPT_PT | 7);
    for (let k = 1; k < 8; k++) this.wr(EPT_PD + 8 * k, 4, (k << 21) | 0x80 | (6 << 3) | 7);
    for (let k = 0; k < 512; k++) this.wr(EPT_PT + 8 * k, 4, (k << 12) | (6 << 3) | 7);
    return EPT_PML4 | (3 << 3) | 6; // EPTP: WB, walk length 4
  }

  private defaultVmcs(o: RigOptions): void {
    const vmx = this.vmx, F_ = F;
    const proc2 = (o.proc2 ?? 0) | (o.ept ? P2.EPT : 0);
    const procWant = (o.noHlt ? 0 : P.HLT) | (o.proc ?? 0) | (proc2 !== 0 ? P.SECONDARY : 0);
    this.w(F_.PIN_BASED_VM_EXEC_CONTROL, ctl(vmx, MSR_VMX.TRUE_PIN, o.pin ?? 0));
    this.w(F_.CPU_BASED_VM_EXEC_CONTROL, ctl(vmx, MSR_VMX.TRUE_PROC, procWant));
    this.w(F_.SECONDARY_VM_EXEC_CONTROL, proc2);
    this.w(F_.VM_EXIT_CONTROLS, ctl(vmx, MSR_VMX.TRUE_EXIT, o.exit ?? 0));
    this.w(F_.VM_ENTRY_CONTROLS, ctl(vmx, MSR_VMX.TRUE_ENTRY, o.entry ?? 0));
    if (o.ept) this.w(F_.EPT_POINTER, this.buildEpt());
    this.w(F_.IO_BITMAP_A, IO_A); this.w(F_.IO_BITMAP_B, IO_B); this.w(F_.MSR_BITMAP, MSR_BITMAP);
    // VMCS link pointer FFFFFFFF_FFFFFFFFH (no shadow VMCS), as two 32-bit VMWRITEs.
    this.vmx.vmwrite(F_.VMCS_LINK_POINTER.encoding, -1); this.vmx.vmwrite(F_.VMCS_LINK_POINTER.encoding | 1, -1);
    // Host state.
    this.w(F_.HOST_CR0, 0x80000031); this.w(F_.HOST_CR3, HOST_PD); this.w(F_.HOST_CR4, 0x2010);
    this.w(F_.HOST_CS_SELECTOR, 0x08); this.w(F_.HOST_TR_SELECTOR, 0x18);
    for (const f of [F_.HOST_SS_SELECTOR, F_.HOST_DS_SELECTOR, F_.HOST_ES_SELECTOR, F_.HOST_FS_SELECTOR, F_.HOST_GS_SELECTOR]) this.w(f, 0x10);
    this.w(F_.HOST_TR_BASE, HOST_TSS); this.w(F_.HOST_GDTR_BASE, HOST_GDT); this.w(F_.HOST_IDTR_BASE, 0);
    this.w(F_.HOST_RSP, HOST_STACK); this.w(F_.HOST_RIP, HOST_CODE);
    this.w(F_.HOST_IA32_PAT, 0x0007040600070406); // power-on PAT (Vol3A 11.12.4)
    this.wr(HOST_CODE, 1, 0xf4);
    // Guest state.
    this.w(F_.GUEST_CR0, GUEST_CR0); this.w(F_.GUEST_CR3, GUEST_PD); this.w(F_.GUEST_CR4, GUEST_CR4);
    this.w(F_.GUEST_DR7, 0x400);
    this.w(F_.GUEST_IA32_PAT, 0x0007040600070406);
    this.seg('CS', 0x08, 0, 0xffffffff, AR_CODE);
    for (const s of ['SS', 'DS', 'ES', 'FS', 'GS']) this.seg(s, 0x10, 0, 0xffffffff, AR_DATA);
    this.seg('LDTR', 0, 0, 0, AR_UNUSABLE);
    this.seg('TR', 0x18, TSS, 0x67, AR_TSS);
    this.w(F_.GUEST_GDTR_BASE, GDT); this.w(F_.GUEST_GDTR_LIMIT, 0x2f);
    this.w(F_.GUEST_IDTR_BASE, IDT); this.w(F_.GUEST_IDTR_LIMIT, 0x7ff);
    this.w(F_.GUEST_RIP, GUEST_CODE); this.w(F_.GUEST_RSP, GUEST_STACK); this.w(F_.GUEST_RFLAGS, 2);
  }

  seg(s: string, sel: number, base: number, limit: number, ar: number): void {
    this.w(F[`GUEST_${s}_SELECTOR`], sel); this.w(F[`GUEST_${s}_BASE`], base);
    this.w(F[`GUEST_${s}_LIMIT`], limit); this.w(F[`GUEST_${s}_AR_BYTES`], ar);
  }

  /** Snapshot of the exit as the host sees it (VMREADs and registers). */
  snapshot(): Exit {
    const f: Record<string, number> = {};
    for (const fl of VMCS_FIELDS) f[fl.name] = this.vmx.read(fl);
    return {
      reason: f.VM_EXIT_REASON >>> 0, qual: f.EXIT_QUALIFICATION >>> 0, len: f.VM_EXIT_INSTRUCTION_LEN,
      intrInfo: f.VM_EXIT_INTR_INFO >>> 0, intrErr: f.VM_EXIT_INTR_ERROR_CODE >>> 0, idtInfo: f.IDT_VECTORING_INFO_FIELD >>> 0,
      idtErr: f.IDT_VECTORING_ERROR_CODE >>> 0, instrInfo: f.VMX_INSTRUCTION_INFO >>> 0, gla: f.GUEST_LINEAR_ADDRESS >>> 0,
      gpa: f.GUEST_PHYSICAL_ADDRESS, rip: f.GUEST_RIP >>> 0, rsp: f.GUEST_RSP >>> 0, rflags: f.GUEST_RFLAGS >>> 0,
      intr: f.GUEST_INTERRUPTIBILITY_INFO, activity: f.GUEST_ACTIVITY_STATE, f,
      gprs: Array.from(this.vmx.gprs, (x) => x >>> 0), insns: this.m.clock.insns,
    };
  }

  private handler(): void {
    const e = this.snapshot();
    this.exits.push(e);
    if (this.exits.length < 64 && this.onExit(e, this)) {
      const s = this.vmx.vmresume();
      if (s !== 0) throw new Error(`VMRESUME failed: ${s}`);
      return;
    }
    this.vmx.haltHost('test: stop after exit', 0);
  }

  /** Skip the exiting instruction and resume (for instruction exits). */
  skip(e: Exit): true { this.w(F.GUEST_RIP, (e.rip + e.len) >>> 0); return true; }

  /** VMLAUNCH; throws unless it succeeded (VMsucceed). */
  launch(): void { const s = this.vmx.vmlaunch(); if (s !== 0) throw new Error(`VMLAUNCH failed: ${s}`); }

  /** Run the machine (after launch) until the host stops it or `budget` instructions. */
  run(budget = 200_000): RunResult | null { this.result = this.m.runSlice(budget); return this.result; }

  /** VMLAUNCH, run, and return the first exit. */
  go(budget = 200_000): Exit {
    this.launch();
    this.run(budget);
    if (this.exits.length === 0) throw new Error(`no VM exit (result: ${JSON.stringify(this.result)})`);
    return this.exits[0];
  }

  /** Read a dword of the guest's stack at the exit (ESP + k·4). */
  stack(e: Exit, k: number): number { return this.rd(e.rsp + 4 * k); }
}

export const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** An interrupt controller under the test's control: `pending` = the vector it will deliver, or -1. */
export class FakeIntc {
  pending = -1;
  acks = 0;
  hasInterrupt(): boolean { return this.pending >= 0; }
  acknowledge(): number { const v = this.pending; this.pending = -1; this.acks++; return v; }
}
