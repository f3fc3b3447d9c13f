// Extended page tables (Intel SDM Vol3C 28.2): the 4-level walk from guest-physical to
// host-physical addresses, EPT violations and misconfigurations, accessed/dirty flags.
// The CPU's MMU calls translate() when it fills its TLB in VMX non-root operation with
// "enable EPT" = 1; the walk result folds EPT permissions into the TLB entry.
//
// Runs in: VMX non-root operation (guest memory accesses, guest page walks, PDPTE loads).

import { EPT, EPTP, MEMTYPE } from './controls.js';
import { MAXPHYADDR } from '../cpu/paging.js';
import type { PhysMem } from '../memory.js';

export const enum EptAccess { Read = 1, Write = 2, Fetch = 4 }

/** Result codes of translate(): a host-physical address (>= 0), or one of these. */
export const EPT_VIOLATION = -1;
export const EPT_MISCONFIG = -2;

const ADDR_HI_MASK = (1 << (MAXPHYADDR - 32)) - 1;
/** Bits 51:MAXPHYADDR of an entry's high dword: reserved (Vol3C 28.2.3.1). */
const RSVD_HI = (0x000fffff & ~ADDR_HI_MASK) | 0;

/** One step of a walk, for the debugger's EPT walk display. */
export interface EptStep { level: number; entryAddr: number; lo: number; hi: number }

export class Ept {
  /** Physical address of the EPT PML4 table. */
  root = 0;
  ad = false;
  // Outputs of the last translate():
  /** EPT permissions (R/W/X bits) ANDed over the levels walked (for violation qualifications and the TLB). */
  perm = 0;
  /** Page size of the leaf (4 KiB, 2 MiB or 1 GiB). */
  pageSize = 4096;
  /** The leaf has the dirty flag set (or A/D flags are off). */
  dirty = true;
  /** For misconfigurations: why (for dumps). */
  problem = '';

  constructor(readonly mem: PhysMem) {}

  load(eptpLo: number, eptpHi: number): void {
    this.root = ((eptpLo & ~0xfff) >>> 0) + (eptpHi & ADDR_HI_MASK) * 0x100000000;
    this.ad = (eptpLo & EPTP.ENABLE_AD) !== 0;
  }

  /**
   * Translate guest-physical `gpa` for an access (EptAccess bits). Returns the host-physical
   * address, EPT_VIOLATION or EPT_MISCONFIG. Sets accessed (and for writes, dirty) flags when
   * A/D flags are enabled. `steps` records the walk (debugger).
   */
  translate(gpa: number, access: number, steps?: EptStep[]): number {
    const mem = this.mem;
    let table = this.root;
    let perm = EPT.READ | EPT.WRITE | EPT.EXECUTE;
    this.problem = '';
    for (let level = 4; level >= 1; level--) {
      const shift = 12 + 9 * (level - 1);
      const index = Math.floor(gpa / 2 ** shift) & 0x1ff;
      const addr = table + index * 8;
      let lo = mem.read(addr, 4);
      const hi = mem.read(addr + 4, 4);
      steps?.push({ level, entryAddr: addr, lo, hi });
      const rwx = lo & 7;
      if (rwx === 0) { this.perm = 0; return EPT_VIOLATION; }
      const bad = misconfig(lo, hi, level);
      if (bad !== null) { this.problem = `level ${level} entry at 0x${addr.toString(16)}: ${bad}`; this.perm = 0; return EPT_MISCONFIG; }
      perm &= rwx;
      const leaf = level === 1 || (level <= 3 && (lo & EPT.PAGE_SIZE) !== 0);
      if (this.ad) {
        const want = lo | EPT.ACCESSED | (leaf && (access & EptAccess.Write) !== 0 ? EPT.DIRTY : 0);
        if (want !== lo && (perm & accessPerm(access)) === accessPerm(access)) { lo = want; mem.write(addr, 4, lo); }
      }
      const frame = ((lo & ~0xfff) >>> 0) + (hi & ADDR_HI_MASK) * 0x100000000;
      if (leaf) {
        this.perm = perm;
        this.pageSize = 2 ** shift;
        this.dirty = !this.ad || (lo & EPT.DIRTY) !== 0;
        if ((perm & accessPerm(access)) !== accessPerm(access)) return EPT_VIOLATION;
        const base = Math.floor(frame / this.pageSize) * this.pageSize;
        return base + (gpa % this.pageSize);
      }
      table = frame;
    }
    return EPT_VIOLATION; // unreachable
  }
}

function accessPerm(access: number): number {
  return ((access & EptAccess.Read) !== 0 ? EPT.READ : 0) | ((access & EptAccess.Write) !== 0 ? EPT.WRITE : 0) |
    ((access & EptAccess.Fetch) !== 0 ? EPT.EXECUTE : 0);
}

/** EPT misconfiguration conditions of a present entry (Vol3C 28.2.3.1), or null. */
function misconfig(lo: number, hi: number, level: number): string | null {
  const rwx = lo & 7;
  if ((rwx & EPT.WRITE) !== 0 && (rwx & EPT.READ) === 0) return 'write permission without read permission';
  if (rwx === EPT.EXECUTE) return 'execute-only translations are not supported';
  if ((hi & RSVD_HI) !== 0) return `reserved physical-address bits 51:${MAXPHYADDR} set`;
  const leaf = level === 1 || (level <= 3 && (lo & EPT.PAGE_SIZE) !== 0);
  if (level === 4 && (lo & 0xf8) !== 0) return 'reserved bits 7:3 of a PML4 entry set';
  if (!leaf && (lo & 0x78) !== 0) return 'reserved bits 6:3 of a non-leaf entry set';
  if (leaf) {
    const t = (lo & EPT.MEMTYPE_MASK) >>> EPT.MEMTYPE_SHIFT;
    if (t === 2 || t === 3 || t === 7) return `invalid memory type ${t}`;
    if (level === 3 && (lo & 0x3fffe000) !== 0) return 'reserved bits 29:12 of a 1-GByte page entry set';
    if (level === 2 && (lo & 0x1ff000) !== 0) return 'reserved bits 20:12 of a 2-MByte page entry set';
  }
  return null;
}

/** Convenience for hypervisors building identity maps: an EPTP value (WB, 4 levels, optional A/D). */
export function makeEptp(pml4Pa: number, ad: boolean): [number, number] {
  return [((pml4Pa % 0x100000000) | MEMTYPE.WB | (3 << EPTP.WALK_LENGTH_SHIFT) | (ad ? EPTP.ENABLE_AD : 0)) | 0, Math.floor(pml4Pa / 0x100000000)];
}
