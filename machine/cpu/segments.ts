// Segment descriptors and selector loads in protected mode (SDM Vol3A ch. 3 and 5).
// Hidden state uses the VMCS access-rights layout (arch.ts AR), so it can be saved to a VMCS as is.

import { AR, EXC, SEG } from './arch.js';
import type { CPU } from './cpu.js';
import { Mode } from './state.js';

/** A descriptor as read from the GDT/LDT (scratch object, reused). */
export class Descriptor {
  lo = 0; hi = 0;
  /** Linear address of the descriptor in its table (for setting the accessed bit). */
  addr = 0;
  get base(): number { return ((this.lo >>> 16) | ((this.hi & 0xff) << 16) | (this.hi & 0xff000000)) | 0; }
  get limit(): number {
    const raw = (this.lo & 0xffff) | (this.hi & 0xf0000);
    return (this.hi & (1 << 23)) !== 0 ? ((raw << 12) | 0xfff) >>> 0 : raw;
  }
  /** Access rights in VMCS format: descriptor bits 40-47 → AR 0-7, bits 52-55 → AR 12-15. */
  get ar(): number { return ((this.hi >>> 8) & 0xff) | ((this.hi >>> 8) & 0xf000); }
  get dpl(): number { return (this.hi >>> 13) & 3; }
  get present(): boolean { return (this.hi & (1 << 15)) !== 0; }
  /** S = 1: code or data. */
  get isSegment(): boolean { return (this.hi & (1 << 12)) !== 0; }
  get isCode(): boolean { return this.isSegment && (this.hi & (1 << 11)) !== 0; }
  /** System descriptor type (S = 0), or data/code type bits. */
  get type(): number { return (this.hi >>> 8) & 0xf; }
  /** Code: conforming. Data: expand-down. */
  get dc(): boolean { return (this.hi & (1 << 10)) !== 0; }
  /** Code: readable. Data: writable. */
  get rw(): boolean { return (this.hi & (1 << 9)) !== 0; }
}

/**
 * Read the descriptor for `sel` from the GDT or LDT. A selector beyond the table limit raises
 * `vector` (usually #GP) with error code sel & ~3 | ext. Returns the shared scratch descriptor
 * unless `out` is given.
 */
export function readDescriptor(c: CPU, sel: number, vector: number = EXC.GP, ext = 0, out: Descriptor = SCRATCH): Descriptor {
  const index = sel & 0xfff8;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((c.segAr[SEG.LDTR] & AR.UNUSABLE) !== 0 || c.segSel[SEG.LDTR] === 0) c.raise(vector, (sel & 0xfffc) | ext);
    base = c.segBase[SEG.LDTR]; limit = c.segLimit[SEG.LDTR];
  } else {
    base = c.gdtrBase; limit = c.gdtrLimit;
  }
  if (index + 7 > limit) c.raise(vector, (sel & 0xfffc) | ext);
  out.addr = (base + index) | 0;
  out.lo = c.rdSys(out.addr, 4);
  out.hi = c.rdSys((out.addr + 4) | 0, 4);
  return out;
}
const SCRATCH = new Descriptor();

/** Set the accessed bit of a code/data descriptor in memory if clear (a locked write on real CPUs). */
export function setAccessed(c: CPU, d: Descriptor): void {
  if ((d.hi & (1 << 8)) === 0) {
    d.hi |= 1 << 8;
    c.wrSys((d.addr + 5) | 0, 1, (d.hi >>> 8) & 0xff);
  }
}

/** Load a segment register with a checked descriptor's contents. */
export function loadFromDescriptor(c: CPU, s: number, sel: number, d: Descriptor): void {
  c.setSegCache(s, sel, d.base, d.limit, d.ar | AR.ACCESSED);
}

/** A null selector in DS/ES/FS/GS: usable for loading, faults on use. */
export function loadNull(c: CPU, s: number, sel: number): void {
  c.setSegCache(s, sel, 0, 0, AR.UNUSABLE);
}

/**
 * MOV/POP/LDS... to DS, ES, FS, GS or SS, in any mode (SDM Vol2 MOV, "protected mode" checks).
 * Faults: #GP(sel) for type/privilege, #NP(sel) (or #SS(sel) for SS) when not present.
 */
export function loadSeg(c: CPU, s: number, sel: number): void {
  sel &= 0xffff;
  if (c.mode !== Mode.Protected) { c.loadSegReal(s, sel); return; }
  if (s === SEG.SS) { loadSS(c, sel, c.cpl); return; }
  if ((sel & 0xfffc) === 0) { loadNull(c, s, sel); return; }
  const d = readDescriptor(c, sel);
  const rpl = sel & 3;
  // Must be data, or readable code; for data and non-conforming code, max(CPL, RPL) <= DPL.
  if (!d.isSegment || (d.isCode && !d.rw)) c.gp(sel & 0xfffc);
  if (!(d.isCode && d.dc) && (rpl > d.dpl || c.cpl > d.dpl)) c.gp(sel & 0xfffc);
  if (!d.present) c.raise(EXC.NP, sel & 0xfffc);
  setAccessed(c, d);
  loadFromDescriptor(c, s, sel, d);
}

/** Load SS for privilege level `cpl` (SDM: RPL = DPL = CPL, writable data, present). */
export function loadSS(c: CPU, sel: number, cpl: number, vector: number = EXC.GP, ext = 0): void {
  if ((sel & 0xfffc) === 0) c.raise(vector, ext);
  const d = readDescriptor(c, sel, vector, ext);
  if ((sel & 3) !== cpl || !d.isSegment || d.isCode || !d.rw || d.dpl !== cpl) c.raise(vector, (sel & 0xfffc) | ext);
  if (!d.present) c.raise(EXC.SS, (sel & 0xfffc) | ext);
  setAccessed(c, d);
  loadFromDescriptor(c, SEG.SS, sel, d);
}

/** Load CS with a checked code descriptor at privilege `cpl` (RPL of CS becomes CPL), updating the mode. */
export function loadCS(c: CPU, sel: number, d: Descriptor, cpl: number): void {
  setAccessed(c, d);
  c.setSegCache(SEG.CS, (sel & 0xfffc) | cpl, d.base, d.limit, d.ar | AR.ACCESSED);
  c.cpl = cpl;
  c.updateMode();
}

/**
 * After a return to an outer privilege level, data segment registers whose DPL is below the new
 * CPL (and that are not conforming code) are nulled (SDM Vol2 RET/IRET "RETURN-TO-OUTER-PRIVILEGE-LEVEL").
 */
export function nullifyInaccessible(c: CPU): void {
  for (const s of [SEG.ES, SEG.DS, SEG.FS, SEG.GS]) {
    const ar = c.segAr[s];
    if ((ar & AR.UNUSABLE) !== 0) continue;
    const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
    const conformingCode = (ar & AR.CODE) !== 0 && (ar & AR.DC) !== 0;
    if (!conformingCode && dpl < c.cpl) loadNull(c, s, 0);
  }
}

/** Read the ring-`dpl` stack pointer (SS, ESP) from the current TSS (SDM Vol3A 7.2.1); #TS on overrun. */
export function tssStack(c: CPU, dpl: number, ext: number): { ss: number; esp: number } {
  const type = c.segAr[SEG.TR] & 0xf;
  const base = c.segBase[SEG.TR], limit = c.segLimit[SEG.TR];
  if (type === 11 || type === 9) {
    const off = 4 + dpl * 8;
    if (off + 5 > limit) c.raise(EXC.TS, (c.segSel[SEG.TR] & 0xfffc) | ext);
    return { esp: c.rdSys((base + off) | 0, 4), ss: c.rdSys((base + off + 4) | 0, 2) };
  }
  const off = 2 + dpl * 4;
  if (off + 3 > limit) c.raise(EXC.TS, (c.segSel[SEG.TR] & 0xfffc) | ext);
  return { esp: c.rdSys((base + off) | 0, 2), ss: c.rdSys((base + off + 2) | 0, 2) };
}

/** Check and read the SS descriptor for an inner-privilege stack switch (faults are #TS / #SS). */
export function checkStackSeg(c: CPU, ss: number, dpl: number, ext: number, out: Descriptor): Descriptor {
  if ((ss & 0xfffc) === 0) c.raise(EXC.TS, ext);
  const d = readDescriptor(c, ss, EXC.TS, ext, out);
  if ((ss & 3) !== dpl || d.dpl !== dpl || !d.isSegment || d.isCode || !d.rw) c.raise(EXC.TS, (ss & 0xfffc) | ext);
  if (!d.present) c.raise(EXC.SS, (ss & 0xfffc) | ext);
  return d;
}
