// Linear-address memory access: a software TLB in front of the page walker, and the fast paths
// every instruction uses (rd8/16/32, wr8/16/32). A TLB entry is `physical page | flags`; an access
// takes the fast path when (entry & mask) === T_VALID, where the mask folds in the current
// privilege and access kind, so the common case is one load, one AND, one compare.

import { CR0, EXC, PFEC } from './arch.js';
import { CpuFlags } from './flags.js';
import { FAULT } from './state.js';
import { Access, walk, WalkFault, type WalkMem, type WalkResult } from './paging.js';
import type { PhysMem } from '../memory.js';
import { Ept, EptAccess, EPT_MISCONFIG } from '../vmx/ept.js';
import { eptFault } from '../vmx/intercepts.js';
import type { CPU } from './cpu.js';

export const T_VALID = 1;
export const T_NOWRITE_S = 2;   // supervisor write not allowed (read-only page and CR0.WP = 1)
export const T_NOWRITE_U = 4;   // user write not allowed
export const T_NOUSER = 8;      // supervisor-only page
export const T_SLOW = 16;       // not plain RAM (MMIO, above RAM): go through PhysMem
export const T_NODIRTY = 32;    // D bit clear: first write takes the slow path to set it
export const T_NX = 64;         // execute-disable
export const T_GLOBAL = 128;
// Debugger watchpoints on the page (debug/machine-target.ts): in rdMask / wrMask, so watched pages
// take the slow path, where `watch.access` sees the access. Always in the masks: zero cost otherwise.
export const T_WATCH_R = 256;   // a read/access watchpoint: reads take the slow path
export const T_WATCH_W = 512;   // a watchpoint: writes take the slow path
const T_FLAGS = 0xfff;

const TLB_LIST_MAX = 4096;

/** The debugger's watchpoints as the MMU sees them: TLB flags for a linear page, and accesses on watched pages. */
export interface MmuWatch {
  pageFlags(page: number): number;
  /** A slow-path access to [lin, lin+size) passed its translation (called only while `watch` is set). */
  access(lin: number, size: number, write: boolean): void;
}

export class CpuMmu extends CpuFlags {
  mem!: PhysMem;
  ram!: Uint8Array;
  ram16!: Uint16Array;
  ram32!: Int32Array;
  /** Linear page → physical page | T_* flags; 0 = not cached. */
  readonly tlb = new Int32Array(1 << 20);
  /** Pages filled since the last flush, so a flush clears only those. */
  private readonly tlbList = new Int32Array(TLB_LIST_MAX);
  private tlbCount = 0;
  private tlbOverflow = false;
  /** Fast-path masks for the current CPL (see module comment). */
  rdMask = T_VALID | T_SLOW | T_WATCH_R;
  wrMask = T_VALID | T_SLOW | T_NOWRITE_S | T_NODIRTY | T_WATCH_W;
  /** Bit per 32-byte chunk of RAM holding decoded code (index pa >>> 10, bit (pa >>> 5) & 31). */
  codeBits = new Int32Array(0);
  /** Set when a write hit decoded code: the run loop ends the current block. */
  blockStop = false;
  /** Debugger watchpoints, or null (no cost: see T_WATCH_R). */
  watch: MmuWatch | null = null;
  /**
   * Changes whenever a linear code address could fetch differently: TLB entries dropped or replaced,
   * CPL or CS changed (cpu.ts). Chained blocks (blocks.ts) are only followed within one epoch.
   */
  codeEpoch = 0;

  // Exception being raised (see raise()).
  excVector = 0;
  excCode = 0;
  excHasCode = false;

  attachMemory(mem: PhysMem): void {
    this.mem = mem;
    this.ram = mem.ram; this.ram16 = mem.ram16; this.ram32 = mem.ram32;
    this.codeBits = new Int32Array(Math.ceil(mem.size / 1024));
    mem.onCodeWrite = (pa, len) => this.checkCodeWrite(pa, len);
  }

  // ---- faults ----
  /** Abort the current instruction with exception `vector` (error code -1 = none). */
  raise(vector: number, errorCode = -1): never {
    this.excVector = vector;
    this.excHasCode = errorCode >= 0;
    this.excCode = errorCode >= 0 ? errorCode & 0xffff : 0;
    if (vector === EXC.PF) this.excCode = errorCode;
    throw FAULT;
  }
  gp(code: number): never { return this.raise(EXC.GP, code); }
  ud(): never { return this.raise(EXC.UD); }

  // ---- privilege masks ----
  /** Recompute fast-path masks after CPL or CR0.WP changes. */
  updateMasks(): void {
    this.codeEpoch++;
    if (this.cpl === 3) {
      this.rdMask = T_VALID | T_SLOW | T_NOUSER | T_WATCH_R;
      this.wrMask = T_VALID | T_SLOW | T_NOUSER | T_NOWRITE_U | T_NODIRTY | T_WATCH_W;
    } else {
      this.rdMask = T_VALID | T_SLOW | T_WATCH_R;
      this.wrMask = T_VALID | T_SLOW | T_NOWRITE_S | T_NODIRTY | T_WATCH_W;
    }
  }

  // ---- TLB ----
  /** Flush all entries, or all but global ones (MOV CR3 with CR4.PGE). */
  flushTlb(keepGlobal: boolean): void {
    this.codeEpoch++;
    const t = this.tlb;
    if (this.tlbOverflow) {
      if (keepGlobal) { for (let p = 0; p < t.length; p++) if ((t[p] & T_GLOBAL) === 0) t[p] = 0; }
      else t.fill(0);
      this.tlbOverflow = false;
      this.tlbCount = 0;
      if (keepGlobal) for (let p = 0; p < t.length && this.tlbCount < TLB_LIST_MAX; p++) if (t[p] !== 0) this.tlbList[this.tlbCount++] = p;
      return;
    }
    let n = 0;
    for (let k = 0; k < this.tlbCount; k++) {
      const p = this.tlbList[k];
      if (keepGlobal && (t[p] & T_GLOBAL) !== 0) this.tlbList[n++] = p; else t[p] = 0;
    }
    this.tlbCount = n;
  }
  /** INVLPG: drop one linear page (global or not). */
  invlpg(lin: number): void { this.tlb[lin >>> 12] = 0; this.codeEpoch++; }

  /** Translate `lin` for an access, filling the TLB; throws #PF (or, under EPT, a VM exit). Returns the TLB entry. */
  tlbFill(lin: number, access: Access, user: boolean): number {
    const page = lin >>> 12;
    let entry: number;
    const nr = this.nonRoot;
    const ept = nr !== null ? nr.ept : null;
    if (!this.paging) {
      let pa = (lin & ~0xfff) >>> 0;
      if (!this.mem.a20) pa = (pa & ~0x100000) >>> 0;
      if (ept !== null) return this.fillEpt(page, ept, pa, lin, access, T_VALID);
      entry = (pa | T_VALID | (this.mem.isRamPage(pa) ? 0 : T_SLOW)) | 0;
    } else {
      let wm: WalkMem = this.mem;
      if (ept !== null) { this.eptWalk.ept = ept; this.eptWalk.lin = lin; wm = this.eptWalk; }
      const r = walk(wm, this, lin, access, user, { setAD: true });
      if (r instanceof WalkFault) {
        this.pfLinear = lin | 0;
        this.tlb[page] = 0;
        return this.raise(EXC.PF, r.errorCode);
      }
      if (ept !== null) {
        let f = T_VALID;
        if (!r.writable) { f |= T_NOWRITE_U; if ((this.cr0 & CR0.WP) !== 0) f |= T_NOWRITE_S; }
        if (!r.user) f |= T_NOUSER;
        if (!r.dirty && access !== Access.Write) f |= T_NODIRTY;
        if (r.nx) f |= T_NX;
        if (r.global) f |= T_GLOBAL;
        return this.fillEpt(page, ept, Math.floor(r.pa / 4096) * 4096, lin, access, f);
      }
      entry = this.entryFrom(r, access);
    }
    if (this.watch !== null) entry |= this.watch.pageFlags(page);
    if (this.tlb[page] === 0) {
      if (this.tlbCount < TLB_LIST_MAX) this.tlbList[this.tlbCount++] = page; else this.tlbOverflow = true;
    } else this.codeEpoch++;
    this.tlb[page] = entry;
    return entry;
  }

  /** Guest-physical page `gpa` through EPT to a TLB entry with guest flags `f` and EPT permissions folded in. */
  private fillEpt(page: number, ept: Ept, gpa: number, lin: number, access: Access, f: number): number {
    const ea = access === Access.Write ? EptAccess.Write : access === Access.Fetch ? EptAccess.Fetch : EptAccess.Read;
    const hpa = ept.translate(gpa, ea);
    if (hpa < 0) return eptFault(this as unknown as CPU, hpa === EPT_MISCONFIG, gpa + (lin & 0xfff), lin, ea, true);
    const p = ept.perm;
    if ((p & 2) === 0) f |= T_NOWRITE_S | T_NOWRITE_U;
    if ((p & 4) === 0) f |= T_NX;
    if (!ept.dirty && access !== Access.Write) f |= T_NODIRTY;
    const pa = Math.floor(hpa / 4096) * 4096;
    let entry: number;
    if (pa >= 0x100000000 || !this.mem.isRamPage(pa)) entry = (pa >= 0x100000000 ? 0xfffff000 | f | T_SLOW : pa | f | T_SLOW) | 0;
    else entry = (pa | f) | 0;
    if (this.watch !== null) entry |= this.watch.pageFlags(page);
    if (this.tlb[page] === 0) {
      if (this.tlbCount < TLB_LIST_MAX) this.tlbList[this.tlbCount++] = page; else this.tlbOverflow = true;
    } else this.codeEpoch++;
    this.tlb[page] = entry;
    return entry;
  }

  /** Guest paging-structure accesses go through EPT in non-root operation (reused, no allocation). */
  private readonly eptWalk = new EptWalkMem(this);

  /** Memory for loading PAE PDPTEs from CR3: guest-physical through EPT in non-root operation (Vol3C 28.2.1). */
  pdpteMem(): WalkMem {
    const nr = this.nonRoot;
    if (nr === null || nr.ept === null) return this.mem;
    this.eptWalk.ept = nr.ept; this.eptWalk.lin = -1;
    return this.eptWalk;
  }

  private entryFrom(r: WalkResult, access: Access): number {
    let pa = Math.floor(r.pa / 4096) * 4096;
    if (!this.mem.a20 && pa < 0x100000000) pa = (pa & ~0x100000) >>> 0;
    let f = T_VALID;
    if (!r.writable) { f |= T_NOWRITE_U; if ((this.cr0 & CR0.WP) !== 0) f |= T_NOWRITE_S; }
    if (!r.user) f |= T_NOUSER;
    if (!r.dirty && access !== Access.Write) f |= T_NODIRTY;
    if (r.nx) f |= T_NX;
    if (r.global) f |= T_GLOBAL;
    if (pa >= 0x100000000 || !this.mem.isRamPage(pa)) {
      // Not RAM: keep the page frame for MMIO dispatch; above 4 GiB reads float (open bus).
      return (pa >= 0x100000000 ? 0xfffff000 | f | T_SLOW : pa | f | T_SLOW) | 0;
    }
    return (pa | f) | 0;
  }

  /** Physical address for an access (slow path): fills the TLB, throws on #PF. */
  translate(lin: number, access: Access, user: boolean): number {
    let e = this.tlb[lin >>> 12];
    const need = T_VALID | (user ? T_NOUSER : 0) | (access === Access.Write ? (user ? T_NOWRITE_U : T_NOWRITE_S) | T_NODIRTY : 0) | (access === Access.Fetch ? T_NX : 0);
    if ((e & need) !== T_VALID) e = this.tlbFill(lin, access, user);
    return ((e & ~T_FLAGS) >>> 0) + (lin & 0xfff);
  }

  // ---- linear reads at the current privilege ----
  rd8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.rdMask) === T_VALID) return this.ram[(e & ~T_FLAGS) | (lin & 0xfff)];
    return this.rdSlow(lin, 1, this.cpl === 3);
  }
  rd16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.rdMask) === T_VALID && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~T_FLAGS) | (lin & 0xfff);
      return (pa & 1) === 0 ? this.ram16[pa >>> 1] : this.ram[pa] | (this.ram[pa + 1] << 8);
    }
    return this.rdSlow(lin, 2, this.cpl === 3);
  }
  rd32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.rdMask) === T_VALID && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~T_FLAGS) | (lin & 0xfff);
      if ((pa & 3) === 0) return this.ram32[pa >>> 2];
      const m = this.ram;
      return m[pa] | (m[pa + 1] << 8) | (m[pa + 2] << 16) | (m[pa + 3] << 24);
    }
    return this.rdSlow(lin, 4, this.cpl === 3);
  }

  // ---- linear writes at the current privilege ----
  wr8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.wrMask) === T_VALID) {
      const pa = (e & ~T_FLAGS) | (lin & 0xfff);
      if (this.codeBits[pa >>> 10] !== 0) this.checkCodeWrite(pa, 1);
      this.ram[pa] = v;
      return;
    }
    this.wrSlow(lin, 1, v, this.cpl === 3);
  }
  wr16(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.wrMask) === T_VALID && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~T_FLAGS) | (lin & 0xfff);
      if (this.codeBits[pa >>> 10] !== 0) this.checkCodeWrite(pa, 2);
      if ((pa & 1) === 0) this.ram16[pa >>> 1] = v; else { this.ram[pa] = v; this.ram[pa + 1] = v >>> 8; }
      return;
    }
    this.wrSlow(lin, 2, v, this.cpl === 3);
  }
  wr32(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.wrMask) === T_VALID && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~T_FLAGS) | (lin & 0xfff);
      if (this.codeBits[pa >>> 10] !== 0 || this.codeBits[(pa + 3) >>> 10] !== 0) this.checkCodeWrite(pa, 4);
      if ((pa & 3) === 0) { this.ram32[pa >>> 2] = v; return; }
      const m = this.ram;
      m[pa] = v; m[pa + 1] = v >>> 8; m[pa + 2] = v >>> 16; m[pa + 3] = v >>> 24;
      return;
    }
    this.wrSlow(lin, 4, v, this.cpl === 3);
  }

  // ---- supervisor ("implicit") accesses: descriptor tables, TSS, interrupt stacks at CPL 0 ----
  rdSys(lin: number, size: number): number { return this.rdSlow(lin, size, false); }
  wrSys(lin: number, size: number, v: number): void { this.wrSlow(lin, size, v, false); }
  /** Access with an explicit privilege (user = CPL 3), e.g. pushes on a new stack during a privilege change. */
  rdPriv(lin: number, size: number, user: boolean): number { return this.rdSlow(lin, size, user); }
  wrPriv(lin: number, size: number, v: number, user: boolean): void { this.wrSlow(lin, size, v, user); }

  /** General read: page-crossing, MMIO, TLB miss, or permission problems. */
  rdSlow(lin: number, size: number, user: boolean): number {
    lin |= 0;
    if (((lin & 0xfff) + size) > 0x1000) {
      // Crosses a page: translate both pages first (either may fault), then read bytewise.
      const pa0 = this.translate(lin, Access.Read, user);
      const pa1 = this.translate((lin + size - 1) | 0, Access.Read, user);
      if (this.watch !== null) this.watch.access(lin, size, false);
      let v = 0;
      for (let k = 0; k < size; k++) {
        const l = (lin + k) | 0;
        const pa = (l >>> 12) === (lin >>> 12) ? pa0 + k : pa1 - ((lin + size - 1 - l) | 0);
        v |= this.physRead(pa, 1) << (8 * k);
      }
      return size === 4 ? v | 0 : v;
    }
    const pa = this.translate(lin, Access.Read, user);
    if (this.watch !== null) this.watch.access(lin, size, false);
    return this.physRead(pa, size);
  }

  wrSlow(lin: number, size: number, v: number, user: boolean): void {
    lin |= 0;
    if (((lin & 0xfff) + size) > 0x1000) {
      const pa0 = this.translate(lin, Access.Write, user);
      const pa1 = this.translate((lin + size - 1) | 0, Access.Write, user);
      if (this.watch !== null) this.watch.access(lin, size, true);
      for (let k = 0; k < size; k++) {
        const l = (lin + k) | 0;
        const pa = (l >>> 12) === (lin >>> 12) ? pa0 + k : pa1 - ((lin + size - 1 - l) | 0);
        this.physWrite(pa, 1, v >>> (8 * k));
      }
      return;
    }
    const pa = this.translate(lin, Access.Write, user);
    if (this.watch !== null) this.watch.access(lin, size, true);
    this.physWrite(pa, size, v);
  }

  physRead(pa: number, size: number): number {
    if (pa >= 0xfffff000 && pa < 0x100000000 && this.mem.mmioPage[0xfffff] === 0) return size === 4 ? -1 : (1 << (8 * size)) - 1;
    return this.mem.read(pa, size);
  }
  physWrite(pa: number, size: number, v: number): void {
    this.mem.write(pa, size, v); // PhysMem.write reports code writes back through onCodeWrite
  }

  /** A write touched RAM at [pa, pa+len): drop decoded code there if any. Overridden by the CPU. */
  checkCodeWrite(pa: number, len: number): void { void pa; void len; }
}

/** The page walker's view of guest-physical memory under EPT: every paging-structure access is translated. */
class EptWalkMem implements WalkMem {
  ept: Ept | null = null;
  lin = 0;
  constructor(private readonly mmu: CpuMmu) {}
  read(gpa: number, size: number): number {
    // With EPT A/D flags, accesses to guest paging structures are writes as far as EPT is concerned (Vol3C 28.2.4).
    const acc = this.ept!.ad && this.lin !== -1 ? EptAccess.Read | EptAccess.Write : EptAccess.Read;
    const hpa = this.ept!.translate(gpa, acc);
    if (hpa < 0) eptFault(this.mmu as unknown as CPU, hpa === EPT_MISCONFIG, gpa, this.lin, acc, false);
    return this.mmu.mem.read(hpa, size);
  }
  write(gpa: number, size: number, v: number): void {
    const hpa = this.ept!.translate(gpa, EptAccess.Write);
    if (hpa < 0) eptFault(this.mmu as unknown as CPU, hpa === EPT_MISCONFIG, gpa, this.lin, EptAccess.Write, false);
    this.mmu.mem.write(hpa, size, v);
  }
}
