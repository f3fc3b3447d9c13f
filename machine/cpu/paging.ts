// Page-table walks (SDM Vol3A ch. 4): 32-bit paging (4 KiB, and 4 MiB with CR4.PSE) and PAE paging
// (4 KiB and 2 MiB, NX with EFER.NXE). One walker serves the CPU (which sets accessed/dirty bits
// and faults) and the debugger (which only looks): see `WalkOptions`.

import { CR0, CR4, EFER, PFEC, PTE } from './arch.js';

/** Physical-address width: i686 with PAE = 36 bits (reported by CPUID leaf 80000008H, see cpuid.ts). */
export const MAXPHYADDR = 36;

/** Result of a successful walk. */
export interface WalkResult {
  /** Physical address (may exceed 2^32 with PAE; a JS number, exact). */
  pa: number;
  /** Accumulated permissions: writable / user over every level, and execute-disable. */
  writable: boolean; user: boolean; nx: boolean; global: boolean;
  /** The final entry already has D = 1. */
  dirty: boolean;
  /** Page size in bytes (4 KiB, 2 MiB, 4 MiB). */
  pageSize: number;
}

/** One level of a walk, for the debugger's `walk` command. */
export interface WalkStep { level: string; entryAddr: number; entryLo: number; entryHi: number; }

/** Physical memory as the page walker sees it: host-physical RAM, or guest-physical through EPT. */
export interface WalkMem { read(pa: number, size: number): number; write(pa: number, size: number, v: number): void }

export interface PagingRegs { cr0: number; cr3: number; cr4: number; efer: number; pdpteLo: Int32Array; pdpteHi: Int32Array }

export const enum Access { Read = 0, Write = 1, Fetch = 2 }

export interface WalkOptions {
  /** Set accessed/dirty bits as the CPU does (false for debugger look-ups). */
  setAD: boolean;
  /** Record each level here (debugger). */
  steps?: WalkStep[];
}

/** A failed walk: the #PF error code (P, W, U, RSVD, I bits). */
export class WalkFault { constructor(public errorCode: number) {} }

const RSVD_HI_MASK_PAE = ~((1 << (MAXPHYADDR - 32)) - 1) & 0x7fffffff; // bits 36..62 of the high dword

/**
 * Translate linear address `lin` under the given paging registers. Returns the walk result, or a
 * WalkFault with the #PF error code. Does not check CR0.PG (callers only walk with paging on).
 */
export function walk(mem: WalkMem, r: PagingRegs, lin: number, access: Access, user: boolean, opt: WalkOptions): WalkResult | WalkFault {
  lin >>>= 0;
  const write = access === Access.Write;
  const fetch = access === Access.Fetch;
  const baseCode = (write ? PFEC.W : 0) | (user ? PFEC.U : 0);
  const nxe = (r.efer & EFER.NXE) !== 0;

  if ((r.cr4 & CR4.PAE) === 0) {
    // 32-bit paging: PDE at CR3[31:12] + lin[31:22]*4.
    const pdeAddr = ((r.cr3 & ~0xfff) >>> 0) + ((lin >>> 22) << 2);
    let pde = mem.read(pdeAddr, 4);
    opt.steps?.push({ level: 'PDE', entryAddr: pdeAddr, entryLo: pde, entryHi: 0 });
    if ((pde & PTE.P) === 0) return new WalkFault(baseCode);
    if ((pde & PTE.PS) !== 0 && (r.cr4 & CR4.PSE) !== 0) {
      // 4 MiB page. Bits 20:13 hold PA bits 39:32 with PSE-36, which CPUID does not advertise: they must be 0.
      if ((pde & 0x3fe000) !== 0) return new WalkFault(baseCode | PFEC.P | PFEC.RSVD);
      const res = finish(lin, access, user, r, pde, pde, false, (pde & PTE.G) !== 0 && (r.cr4 & CR4.PGE) !== 0, 0x400000, ((pde & 0xffc00000) >>> 0) + (lin & 0x3fffff));
      if (res instanceof WalkFault) return res;
      if (opt.setAD) setAD32(mem, pdeAddr, pde, write);
      return res;
    }
    const pteAddr = ((pde & ~0xfff) >>> 0) + (((lin >>> 12) & 0x3ff) << 2);
    const pte = mem.read(pteAddr, 4);
    opt.steps?.push({ level: 'PTE', entryAddr: pteAddr, entryLo: pte, entryHi: 0 });
    if ((pte & PTE.P) === 0) return new WalkFault(baseCode);
    const res = finish(lin, access, user, r, pde & pte, pte, false, (pte & PTE.G) !== 0 && (r.cr4 & CR4.PGE) !== 0, 0x1000, ((pte & ~0xfff) >>> 0) + (lin & 0xfff));
    if (res instanceof WalkFault) return res;
    if (opt.setAD) {
      if ((pde & PTE.A) === 0) { pde |= PTE.A; mem.write(pdeAddr, 4, pde); }
      setAD32(mem, pteAddr, pte, write);
    }
    return res;
  }

  // PAE paging: PDPTE registers (loaded with CR3), then 8-byte PDE and PTE.
  const pi = lin >>> 30;
  const pdpteLo = r.pdpteLo[pi], pdpteHi = r.pdpteHi[pi];
  // I/D is reported for every fetch fault under PAE paging with NXE, not-present ones included (SDM Vol3A 4.7).
  const fetchI = fetch && nxe ? PFEC.I : 0;
  opt.steps?.push({ level: 'PDPTE', entryAddr: ((r.cr3 & ~0x1f) >>> 0) + pi * 8, entryLo: pdpteLo, entryHi: pdpteHi });
  if ((pdpteLo & PTE.P) === 0) return new WalkFault(baseCode | fetchI);
  const pdeAddr = physOf(pdpteLo, pdpteHi) + (((lin >>> 21) & 0x1ff) << 3);
  let pdeLo = mem.read(pdeAddr, 4);
  const pdeHi = mem.read(pdeAddr + 4, 4);
  opt.steps?.push({ level: 'PDE', entryAddr: pdeAddr, entryLo: pdeLo, entryHi: pdeHi });
  if ((pdeLo & PTE.P) === 0) return new WalkFault(baseCode | fetchI);
  if (reservedPae(pdeHi, nxe)) return new WalkFault(baseCode | PFEC.P | PFEC.RSVD | (fetch && nxe ? PFEC.I : 0));
  const nxPde = nxe && pdeHi < 0;
  if ((pdeLo & PTE.PS) !== 0) {
    if ((pdeLo & 0x1fe000) !== 0) return new WalkFault(baseCode | PFEC.P | PFEC.RSVD | (fetch && nxe ? PFEC.I : 0));
    const pa = physOf(pdeLo & 0xffe00000, pdeHi) + (lin & 0x1fffff);
    const res = finish(lin, access, user, r, pdeLo, pdeLo, nxPde, (pdeLo & PTE.G) !== 0 && (r.cr4 & CR4.PGE) !== 0, 0x200000, pa);
    if (res instanceof WalkFault) return res;
    if (opt.setAD) setAD32(mem, pdeAddr, pdeLo, write);
    return res;
  }
  const pteAddr = physOf(pdeLo, pdeHi) + (((lin >>> 12) & 0x1ff) << 3);
  const pteLo = mem.read(pteAddr, 4);
  const pteHi = mem.read(pteAddr + 4, 4);
  opt.steps?.push({ level: 'PTE', entryAddr: pteAddr, entryLo: pteLo, entryHi: pteHi });
  if ((pteLo & PTE.P) === 0) return new WalkFault(baseCode | fetchI);
  if (reservedPae(pteHi, nxe)) return new WalkFault(baseCode | PFEC.P | PFEC.RSVD | (fetch && nxe ? PFEC.I : 0));
  const nx = nxPde || (nxe && pteHi < 0);
  const res = finish(lin, access, user, r, pdeLo & pteLo, pteLo, nx, (pteLo & PTE.G) !== 0 && (r.cr4 & CR4.PGE) !== 0, 0x1000, physOf(pteLo, pteHi) + (lin & 0xfff));
  if (res instanceof WalkFault) return res;
  if (opt.setAD) {
    if ((pdeLo & PTE.A) === 0) { pdeLo |= PTE.A; mem.write(pdeAddr, 4, pdeLo); }
    setAD32(mem, pteAddr, pteLo, write);
  }
  return res;
}

/** Physical address from an entry's address bits (lo[31:12], hi[MAXPHYADDR-33:0]). */
function physOf(lo: number, hi: number): number {
  return ((lo & ~0xfff) >>> 0) + (hi & ((1 << (MAXPHYADDR - 32)) - 1)) * 0x100000000;
}

/** Reserved bits of a PAE PDE/PTE high dword: bits above MAXPHYADDR, and bit 63 unless NXE. */
function reservedPae(hi: number, nxe: boolean): boolean {
  return (hi & RSVD_HI_MASK_PAE) !== 0 || (!nxe && hi < 0);
}

/** Check the combined permissions (SDM Vol3A 4.6) and build the result. */
function finish(lin: number, access: Access, user: boolean, r: PagingRegs, combined: number, last: number, nx: boolean, global: boolean, pageSize: number, pa: number): WalkResult | WalkFault {
  const writable = (combined & PTE.RW) !== 0;
  const isUser = (combined & PTE.US) !== 0;
  const code = PFEC.P | (access === Access.Write ? PFEC.W : 0) | (user ? PFEC.U : 0) | (access === Access.Fetch && (r.efer & EFER.NXE) !== 0 && (r.cr4 & CR4.PAE) !== 0 ? PFEC.I : 0);
  if (user && !isUser) return new WalkFault(code);
  if (access === Access.Write && !writable && (user || (r.cr0 & CR0.WP) !== 0)) return new WalkFault(code);
  if (access === Access.Fetch && nx) return new WalkFault(code);
  void lin;
  return { pa, writable, user: isUser, nx, global, dirty: (last & PTE.D) !== 0, pageSize };
}

function setAD32(mem: WalkMem, addr: number, e: number, write: boolean): void {
  const want = e | PTE.A | (write ? PTE.D : 0);
  if (want !== e) mem.write(addr, 4, want);
}

/**
 * Load the four PDPTEs for PAE paging from CR3 (SDM Vol3A 4.4.1). Returns false if a present
 * PDPTE has reserved bits set (the MOV to CR0/CR3/CR4 then raises #GP(0)).
 */
export function loadPdptes(mem: WalkMem, cr3: number, lo: Int32Array, hi: Int32Array): boolean {
  const base = (cr3 & ~0x1f) >>> 0;
  const nlo = new Int32Array(4), nhi = new Int32Array(4);
  for (let k = 0; k < 4; k++) {
    nlo[k] = mem.read(base + k * 8, 4);
    nhi[k] = mem.read(base + k * 8 + 4, 4);
    // Reserved: bits 2:1, 8:5, and 63:MAXPHYADDR.
    if ((nlo[k] & PTE.P) !== 0 && ((nlo[k] & 0x1e6) !== 0 || (nhi[k] & ~((1 << (MAXPHYADDR - 32)) - 1)) !== 0)) return false;
  }
  lo.set(nlo); hi.set(nhi);
  return true;
}
