// Side-effect-free address translation for the debugger and the `walk` monitor command: a guest's
// linear address through its paging structures (32-bit 2-level with PSE, or PAE; SDM Vol3A 4.3,
// 4.4), then, in VMX non-root operation with EPT, the guest-physical address through the EPT
// (Vol3C 28.2). Nothing here sets accessed/dirty bits, fills a TLB, faults, or reads device memory:
// page-table reads that do not land in RAM read as 0 (not present).
//
// Browser-safe. Exported for the hypervisor's dumps too (formatWalk, translateLinear).

import { CR0, CR4, EFER, PTE } from '../machine/cpu/arch.js';
import { Access, walk, WalkFault, type PagingRegs, type WalkMem, type WalkStep } from '../machine/cpu/paging.js';
import { Ept, EptAccess, type EptStep } from '../machine/vmx/ept.js';
import { EPT } from '../machine/vmx/controls.js';
import type { PhysMem } from '../machine/memory.js';

/** A guest's address-translation context. */
export interface GuestPaging {
  /** CR0.PG (with PE): linear = guest-physical otherwise. */
  paging: boolean;
  regs: PagingRegs;
  /** EPT in use (a private copy with A/D updates off), or null. */
  ept: Ept | null;
  /** A20 gate open (when closed, bit 20 of physical addresses is forced to 0). */
  a20: boolean;
}

/** A private, side-effect-free EPT walker with the same root as `eptpLo/Hi`. */
export function peekEpt(mem: PhysMem, eptpLo: number, eptpHi: number): Ept {
  const e = new Ept(mem);
  e.load(eptpLo, eptpHi);
  e.ad = false; // never set accessed/dirty flags
  return e;
}

class EptMiss { constructor(readonly gpa: number) {} }

/** Guest-physical memory as the page walker reads it, without side effects. */
export class PeekMem implements WalkMem {
  /** Set after a read: the host-physical address of the last paging-structure entry (for display). */
  lastHpa = 0;
  constructor(readonly mem: PhysMem, readonly ept: Ept | null) {}
  /** Guest-physical → host-physical, or -1. */
  host(gpa: number): number {
    if (this.ept === null) return gpa;
    const h = this.ept.translate(gpa, EptAccess.Read);
    return h < 0 ? -1 : h;
  }
  read(gpa: number, size: number): number {
    const h = this.host(gpa);
    if (h < 0) throw new EptMiss(gpa);
    this.lastHpa = h;
    return this.mem.isRamPage(h) ? this.mem.read(h, size) : 0;
  }
  write(): void { /* never: walks here do not set A/D bits */ }
}

/** Guest-physical address of `lin`, or null if not mapped (any level not present, reserved bits, EPT hole). */
export function translateGuest(mem: PhysMem, g: GuestPaging, lin: number): number | null {
  if (!g.paging) return a20(lin >>> 0, g.a20);
  const pm = new PeekMem(mem, g.ept);
  try {
    const r = walk(pm, g.regs, lin, Access.Read, false, { setAD: false });
    return r instanceof WalkFault ? null : a20(r.pa, g.a20);
  } catch (e) {
    if (e instanceof EptMiss) return null;
    throw e;
  }
}

/** Host-physical address of `lin` (through EPT when in use), or null. */
export function translateLinear(mem: PhysMem, g: GuestPaging, lin: number): number | null {
  const gpa = translateGuest(mem, g, lin);
  if (gpa === null || g.ept === null) return gpa;
  const h = g.ept.translate(gpa, EptAccess.Read);
  return h < 0 ? null : h;
}

function a20(pa: number, open: boolean): number { return open || pa >= 0x100000000 ? pa : pa & ~0x100000; }

// ------------------------------------------------------------------ the walk display

const hx = (v: number, w = 8): string => '0x' + (v < 0 ? v >>> 0 : Math.floor(v)).toString(16).padStart(w, '0');
const hx64 = (lo: number, hi: number): string => (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');

/** The set flags of a paging-structure entry (SDM Vol3A Tables 4-5..4-10, 4-13..4-20). */
export function pteBits(level: string, lo: number, hi: number, pae: boolean, nxe: boolean): string {
  const out: string[] = [];
  if ((lo & PTE.P) === 0) return 'not present';
  out.push('P');
  if (level === 'PDPTE') {
    // PAE PDPTE: only P, PWT, PCD are defined (Table 4-8); bits 2:1 and 8:5 are reserved.
    if ((lo & PTE.PWT) !== 0) out.push('PWT');
    if ((lo & PTE.PCD) !== 0) out.push('PCD');
    if ((lo & 0x1e6) !== 0) out.push('reserved-bits');
    return out.join(' ');
  }
  if ((lo & PTE.RW) !== 0) out.push('RW');
  if ((lo & PTE.US) !== 0) out.push('US');
  if ((lo & PTE.PWT) !== 0) out.push('PWT');
  if ((lo & PTE.PCD) !== 0) out.push('PCD');
  if ((lo & PTE.A) !== 0) out.push('A');
  const large = level === 'PDE' && (lo & PTE.PS) !== 0;
  const leaf = level === 'PTE' || large;
  if (leaf && (lo & PTE.D) !== 0) out.push('D');
  if (large) out.push('PS');
  if (level === 'PTE' && (lo & PTE.PAT4K) !== 0) out.push('PAT');
  if (large && (lo & PTE.PATLARGE) !== 0) out.push('PAT');
  if (leaf && (lo & PTE.G) !== 0) out.push('G');
  if (pae && hi < 0) out.push(nxe ? 'XD' : 'XD(reserved: EFER.NXE=0)');
  return out.join(' ');
}

/** EPT entry flags (Vol3C Tables 28-1..28-6). */
export function eptBits(level: number, lo: number): string {
  const out: string[] = [];
  if ((lo & 7) === 0) return 'not present';
  if ((lo & EPT.READ) !== 0) out.push('R');
  if ((lo & EPT.WRITE) !== 0) out.push('W');
  if ((lo & EPT.EXECUTE) !== 0) out.push('X');
  const leaf = level === 1 || (level <= 3 && (lo & EPT.PAGE_SIZE) !== 0);
  if (leaf) {
    out.push(`memtype=${['UC', 'WC', '2?', '3?', 'WT', 'WP', 'WB', '7?'][(lo & EPT.MEMTYPE_MASK) >>> EPT.MEMTYPE_SHIFT]}`);
    if ((lo & EPT.IGNORE_PAT) !== 0) out.push('IPAT');
    if (level > 1) out.push('PS');
  }
  if ((lo & EPT.ACCESSED) !== 0) out.push('A');
  if (leaf && (lo & EPT.DIRTY) !== 0) out.push('D');
  return out.join(' ');
}

const EPT_LEVEL = ['', 'PTE', 'PDE', 'PDPTE', 'PML4E'];

function describeEptWalk(lines: string[], ept: Ept, gpa: number, indent: string): number {
  const steps: EptStep[] = [];
  const h = ept.translate(gpa, EptAccess.Read, steps);
  for (const s of steps) {
    const shift = 12 + 9 * (s.level - 1);
    const index = Math.floor(gpa / 2 ** shift) & 0x1ff;
    lines.push(`${indent}EPT ${EPT_LEVEL[s.level].padEnd(5)} ${String(index).padStart(3)} @${hx(s.entryAddr)}  ${hx64(s.lo, s.hi)}  ${eptBits(s.level, s.lo)}`);
  }
  if (h === -2) lines.push(`${indent}=> EPT misconfiguration: ${ept.problem}`);
  else if (h < 0) lines.push(`${indent}=> EPT violation (no read permission for guest-physical ${hx(gpa)})`);
  return h;
}

function pagingName(r: PagingRegs): string {
  const pae = (r.cr4 & CR4.PAE) !== 0;
  const extra = pae ? `EFER.NXE=${(r.efer & EFER.NXE) !== 0 ? 1 : 0}` : `CR4.PSE=${(r.cr4 & CR4.PSE) !== 0 ? 1 : 0}`;
  return `${pae ? 'PAE paging' : '32-bit paging'}, ${extra}, CR4.PGE=${(r.cr4 & CR4.PGE) !== 0 ? 1 : 0}, CR0.WP=${(r.cr0 & CR0.WP) !== 0 ? 1 : 0}`;
}

/**
 * The walk of `lin` level by level, each entry with its address, raw value and decoded flags, then
 * the result; with EPT, each guest-physical table address and the final address through the EPT.
 * `cr3` (optional) walks another address space than the current one (PAE: its PDPTEs are read
 * from memory, as MOV to CR3 would load them).
 */
export function formatWalk(mem: PhysMem, g: GuestPaging, lin: number, cr3?: number): string {
  lin >>>= 0;
  const lines: string[] = [];
  const regs: PagingRegs = cr3 === undefined ? g.regs : { ...g.regs, cr3, pdpteLo: new Int32Array(4), pdpteHi: new Int32Array(4) };
  const pm = new PeekMem(mem, g.ept);
  const pae = (regs.cr4 & CR4.PAE) !== 0;
  const nxe = (regs.efer & EFER.NXE) !== 0;
  if (!g.paging && cr3 === undefined) {
    lines.push(`walk ${hx(lin)}: paging is off (CR0.PG=0): linear = ${g.ept !== null ? 'guest-' : ''}physical${g.a20 ? '' : ' (A20 masked)'}`);
    const gpa = a20(lin, g.a20);
    if (g.ept !== null) {
      const h = describeEptWalk(lines, g.ept, gpa, '  ');
      if (h >= 0) lines.push(`  => host-physical ${hx(h)}`);
    } else lines.push(`  => physical ${hx(gpa)}`);
    return lines.join('\n');
  }
  if (cr3 !== undefined && pae) {
    // PDPTEs of another CR3: read from memory (Vol3A 4.4.1).
    for (let k = 0; k < 4; k++) {
      try {
        regs.pdpteLo[k] = pm.read(((cr3 & ~0x1f) >>> 0) + 8 * k, 4);
        regs.pdpteHi[k] = pm.read(((cr3 & ~0x1f) >>> 0) + 8 * k + 4, 4);
      } catch (e) { if (!(e instanceof EptMiss)) throw e; }
    }
  }
  lines.push(`walk ${hx(lin)}, CR3=${hx(regs.cr3)}${cr3 !== undefined ? ' (given)' : ''} (${pagingName(regs)})`);
  const steps: WalkStep[] = [];
  let res: ReturnType<typeof walk> | EptMiss;
  try {
    res = walk(pm, regs, lin, Access.Read, false, { setAD: false, steps });
  } catch (e) {
    if (!(e instanceof EptMiss)) throw e;
    res = e;
  }
  for (const s of steps) {
    const size = pae ? 8 : 4;
    const index = s.level === 'PDPTE' ? lin >>> 30 : ((s.entryAddr % 4096) / size) | 0;
    const raw = pae ? hx64(s.entryLo, s.entryHi) : (s.entryLo >>> 0).toString(16).padStart(8, '0');
    let text = pteBits(s.level, s.entryLo, s.entryHi, pae, nxe);
    const present = (s.entryLo & PTE.P) !== 0;
    const frame = ((s.entryLo & ~0xfff) >>> 0) + (pae ? (s.entryHi & 0xf) * 0x100000000 : 0);
    if (present) {
      if (s.level === 'PTE') text += `  -> 4 KiB page ${hx(frame)}`;
      else if (s.level === 'PDE' && (s.entryLo & PTE.PS) !== 0) {
        text += pae ? `  -> 2 MiB page ${hx(Math.floor(frame / 0x200000) * 0x200000)}` : `  -> 4 MiB page ${hx((s.entryLo & 0xffc00000) >>> 0)}`;
      } else text += `  -> ${s.level === 'PDPTE' ? 'page directory' : 'page table'} ${hx(frame)}`;
    }
    const where = s.level === 'PDPTE' && cr3 === undefined ? `(PDPTE register, loaded from ${hx(s.entryAddr)})` : `@${hx(s.entryAddr)}`;
    lines.push(`  ${s.level.padEnd(5)} ${String(index).padStart(4)} ${where}  ${raw}  ${text}`);
    if (g.ept !== null && !(s.level === 'PDPTE' && cr3 === undefined)) {
      const h = pm.host(s.entryAddr);
      lines.push(`        (guest-physical ${hx(s.entryAddr)} -> host-physical ${h < 0 ? 'none: EPT violation' : hx(h)})`);
    }
  }
  if (res instanceof EptMiss) {
    lines.push(`  => the paging-structure access at guest-physical ${hx(res.gpa)} is not mapped by the EPT:`);
    describeEptWalk(lines, g.ept!, res.gpa, '     ');
    return lines.join('\n');
  }
  if (res instanceof WalkFault) {
    const rsvd = (res.errorCode & 8) !== 0;
    lines.push(`  => not mapped: ${rsvd ? 'reserved bits set in an entry' : 'an entry is not present'} (a read at CPL 0 would raise #PF with error code ${hx(res.errorCode, 4)})`);
    return lines.join('\n');
  }
  const kib = res.pageSize >= 0x100000 ? `${res.pageSize / 0x100000} MiB` : `${res.pageSize / 1024} KiB`;
  const perms = [res.user ? 'user' : 'supervisor', res.writable ? 'writable' : 'read-only', res.nx ? 'execute-disable' : 'executable'];
  if (res.global) perms.push('global');
  const gpa = a20(res.pa, g.a20);
  lines.push(`  => ${g.ept !== null ? 'guest-physical' : 'physical'} ${hx(gpa)} (${kib} page; ${perms.join(', ')})`);
  if (g.ept !== null) {
    const h = describeEptWalk(lines, g.ept, gpa, '     ');
    if (h >= 0) lines.push(`  => host-physical ${hx(h)}`);
  }
  return lines.join('\n');
}

