// The guest's EPT, built by the hypervisor: an identity map of guest-physical memory (RAM with
// write-back, everything else — MMIO, holes — uncached), 4 levels, 2-MiB pages where possible
// and 4-KiB pages where a hypapp needs per-page permissions. The hypervisor's own memory is never
// mapped, so a guest access to it is an EPT violation (Intel SDM Vol3C 28.2).
//
// Runs in: VMX root operation. After changing an entry the caller must INVEPT (Vol3C 28.3.3.1).

import { EPT, MEMTYPE } from '../machine/vmx/controls.js';
import { makeEptp } from '../machine/vmx/ept.js';
import { HostMemory, PAGE } from './host-memory.js';

const MB2 = 2 << 20;
const GB = 1 << 30;
/** Guest-physical space covered: the 4 GiB a 32-bit guest can address without PAE beyond 4 GiB. */
export const EPT_COVER = 4 * GB;

export class EptMap {
  readonly pml4: number;
  private readonly pdpt: number;
  /** Physical address of the page directory for each GiB. */
  private readonly pds: number[] = [];
  /** Extra page tables, by 2-MiB region index. */
  private readonly pts = new Map<number, number>();
  readonly eptp: [number, number];

  /**
   * Identity-map [0, EPT_COVER) except [hostBase, hostEnd); `isRam(pa)` tells RAM (WB) from the
   * rest (UC). A/D flags are enabled when `ad`.
   */
  constructor(private readonly hm: HostMemory, hostBase: number, hostEnd: number, private readonly isRam: (pa: number) => boolean, ad: boolean) {
    this.pml4 = hm.allocPages(1, 'EPT PML4');
    this.pdpt = hm.allocPages(1, 'EPT PDPT');
    hm.write64(this.pml4, this.pdpt + (EPT.READ | EPT.WRITE | EPT.EXECUTE));
    for (let g = 0; g < EPT_COVER / GB; g++) {
      const pd = hm.allocPages(1, 'EPT page directory');
      this.pds.push(pd);
      hm.write64(this.pdpt + 8 * g, pd + (EPT.READ | EPT.WRITE | EPT.EXECUTE));
      for (let k = 0; k < 512; k++) {
        const gpa = g * GB + k * MB2;
        if (gpa + MB2 <= hostBase || gpa >= hostEnd) hm.write64(pd + 8 * k, gpa + this.leafBits(gpa) + EPT.PAGE_SIZE);
        // else: not present (the hypervisor's memory, 2-MiB aligned)
      }
    }
    this.eptp = makeEptp(this.pml4, ad);
  }

  private leafBits(gpa: number): number {
    const type = this.isRam(gpa) ? MEMTYPE.WB : MEMTYPE.UC;
    return EPT.READ | EPT.WRITE | EPT.EXECUTE | (type << EPT.MEMTYPE_SHIFT);
  }

  /** Address of the 4-KiB EPT entry for `gpa`, splitting its 2-MiB page into a page table if needed. */
  private pte(gpa: number): number {
    const region = Math.floor(gpa / MB2);
    let pt = this.pts.get(region);
    if (pt === undefined) {
      const pdeAddr = this.pds[Math.floor(gpa / GB)] + 8 * (region % 512);
      const pde = this.hm.read64(pdeAddr);
      if ((pde & 7) === 0) throw new Error(`EPT: guest-physical 0x${gpa.toString(16)} is not mapped (hypervisor memory)`);
      pt = this.hm.allocPages(1, 'EPT page table');
      const base = region * MB2;
      for (let k = 0; k < 512; k++) this.hm.write64(pt + 8 * k, base + k * PAGE + this.leafBits(base + k * PAGE));
      this.hm.write64(pdeAddr, pt + (EPT.READ | EPT.WRITE | EPT.EXECUTE));
      this.pts.set(region, pt);
    }
    return pt + 8 * (Math.floor(gpa / PAGE) % 512);
  }

  /** Set the R/W/X permissions of the 4-KiB page at `gpa` (EPT bits 2:0). */
  setPermissions(gpa: number, rwx: number): void {
    const e = this.pte(gpa);
    const v = this.hm.read32(e);
    this.hm.write32(e, (v & ~7) | (rwx & 7));
  }

  /** R/W/X permissions of the 4-KiB page at `gpa` (0 if not mapped). */
  permissions(gpa: number): number {
    const region = Math.floor(gpa / MB2);
    const pt = this.pts.get(region);
    if (pt !== undefined) return this.hm.read32(pt + 8 * (Math.floor(gpa / PAGE) % 512)) & 7;
    return this.hm.read32(this.pds[Math.floor(gpa / GB)] + 8 * (region % 512)) & 7;
  }
}
