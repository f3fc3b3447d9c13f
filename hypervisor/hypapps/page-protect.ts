// Page-protection hypapp (in the spirit of XMHF's TrustVisor): a guest program asks, through
// VMCALL, that a page of its memory become read-only; the hypapp removes write permission in the
// EPT, so a later write — by anyone in the guest, at any privilege, paging or not — is an EPT
// violation. The hypapp records it, reports it on the hypervisor console and delivers #GP(0) to
// the guest instead of performing the write (Intel SDM Vol3C 28.2.3.2).
//
// Hypercalls (EAX; tsvisor's own range 7473xxxxH, clear of KVM's small numbers):
//   PROTECT   EBX = guest-linear address of the page → EAX = 0, or -1 if it is not guest RAM
//   UNPROTECT EBX = guest-linear address             → EAX = 0, or -1 if it was not protected
//   QUERY                                            → EAX = violations so far, EBX = last
//                                                      guest-physical address, ECX = last EIP
//
// Runs in: VMX root operation (hypercall and EPT-violation exits).

import { EPT, QUAL_EPT } from '../../machine/vmx/controls.js';
import { INVEPT_TYPE } from '../../machine/vmx/controls.js';
import type { HypApp } from '../hypapp.js';
import type { Hypervisor } from '../hypervisor.js';
import { GPR, type VCpu } from '../vcpu.js';

export const PAGEPROT_HC = { PROTECT: 0x74730101, UNPROTECT: 0x74730102, QUERY: 0x74730103 } as const;

export interface Violation { gpa: number; gla: number | null; rip: number }

export class PageProtect implements HypApp {
  readonly name = 'page-protect';
  private hv: Hypervisor | null = null;
  readonly protectedPages = new Set<number>();
  readonly violations: Violation[] = [];

  onBoot(hv: Hypervisor): void { this.hv = hv; }

  onHypercall(v: VCpu, fn: number): boolean {
    const hv = this.hv!;
    if (fn === PAGEPROT_HC.PROTECT || fn === PAGEPROT_HC.UNPROTECT) {
      const pa = v.linearToPhysical(v.regs[GPR.EBX]);
      const page = pa === null ? -1 : Math.floor(pa / 4096) * 4096;
      if (page < 0 || page >= hv.guestTop || !hv.mem.isRamPage(page)) { v.regs[GPR.EAX] = -1; return true; }
      if (fn === PAGEPROT_HC.PROTECT) {
        hv.ept.setPermissions(page, EPT.READ | EPT.EXECUTE);
        this.protectedPages.add(page);
      } else {
        if (!this.protectedPages.delete(page)) { v.regs[GPR.EAX] = -1; return true; }
        hv.ept.setPermissions(page, EPT.READ | EPT.WRITE | EPT.EXECUTE);
      }
      // The EPT changed: every processor drops what it cached from it (Vol3C 28.3.3.1; XMHF would IPI them).
      for (const u of hv.allUnits) u.invept(INVEPT_TYPE.SINGLE_CONTEXT, hv.ept.eptp[1] * 0x100000000 + (hv.ept.eptp[0] >>> 0));
      v.regs[GPR.EAX] = 0;
      return true;
    }
    if (fn === PAGEPROT_HC.QUERY) {
      const last = this.violations[this.violations.length - 1];
      v.regs[GPR.EAX] = this.violations.length;
      v.regs[GPR.EBX] = last !== undefined ? last.gpa : 0;
      v.regs[GPR.ECX] = last !== undefined ? last.rip : 0;
      return true;
    }
    return false;
  }

  onEptViolation(v: VCpu, gpa: number, gla: number | null, qualification: number): boolean {
    const page = Math.floor(gpa / 4096) * 4096;
    if (!this.protectedPages.has(page) || (qualification & QUAL_EPT.WRITE) === 0) return false;
    const rip = v.rip;
    this.violations.push({ gpa, gla, rip });
    this.hv!.log(`page-protect: write to protected page at guest-physical 0x${gpa.toString(16)}` +
      `${gla !== null ? ` (linear 0x${(gla >>> 0).toString(16)})` : ''} by the instruction at EIP 0x${(rip >>> 0).toString(16)}: #GP(0) delivered`);
    v.injectGp(0);
    return true;
  }
}
