// MOV to CR0 / CR4 exits (Intel SDM Vol3C 25.1.3, qualification Table 27-3).
//
// VMX forces CR0.NE and CR4.VMXE to 1 (IA32_VMX_CR0/CR4_FIXED0). The core owns exactly those bits
// (guest/host mask) and keeps the guest's own values in the read shadows, so the guest always
// reads back what it wrote. A write exits only when it changes an owned bit relative to the
// shadow; every other bit — CR4.PAE included — is written by the processor without an exit. That
// is the fix of the seed's bug: XMHF's shadow held VMXE = 1, so Windows' `mov cr4, 0x20` (VMXE = 0)
// exited, and its handler dropped the write: PAE never reached CR4 and the guest triple-faulted.
// `--quirk xmhf-cr4-vmxe-shadow` reproduces that configuration on purpose.
//
// Runs in: VMX root operation (exit handler).

import { F } from '../../machine/vmx/vmcs-fields.js';
import { CR_ACCESS, INVVPID_TYPE, QUAL_CR } from '../../machine/vmx/controls.js';
import { CR0, CR4 } from '../../machine/cpu/arch.js';
import { MAXPHYADDR } from '../../machine/cpu/paging.js';
import type { Hypervisor } from '../hypervisor.js';
import { HV_STATUS } from '../hypervisor.js';
import type { VCpu } from '../vcpu.js';

const PDPTE = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];

export function handleCrAccess(hv: Hypervisor, v: VCpu): boolean {
  const q = v.qualification;
  const cr = q & QUAL_CR.CR_MASK, access = (q & QUAL_CR.ACCESS_MASK) >>> QUAL_CR.ACCESS_SHIFT;
  const gpr = (q & QUAL_CR.GPR_MASK) >>> QUAL_CR.GPR_SHIFT;
  if (access === CR_ACCESS.MOV_TO_CR && cr === 4) return movToCr4(hv, v, v.regs[gpr]);
  if (access === CR_ACCESS.MOV_TO_CR && cr === 0) return movToCr0(hv, v, v.regs[gpr]);
  hv.halt(v, HV_STATUS.unhandledExit, `Unhandled intercept: control-register access (CR${cr}, access type ${access}) the core never asked for`);
  return false;
}

/** MOV to CR4 that changed VMXE relative to the shadow (or, with the quirk, any write). */
function movToCr4(hv: Hypervisor, v: VCpu, value: number): boolean {
  if (hv.quirks.has('xmhf-cr4-vmxe-shadow')) {
    // XMHF's vmx_handle_intercept_cr4access_ug before the fix: the guest's request is ignored.
    hv.log(`MOV TO CR4 (flush TLB?), current=0x${(v.read(F.GUEST_CR4) >>> 0).toString(16).padStart(8, '0')}, proposed=0x${(value >>> 0).toString(16).padStart(8, '0')}`);
    v.skipInstruction();
    return true;
  }
  const [fixed0] = v.vmx.rdmsr(0x488), [fixed1] = v.vmx.rdmsr(0x489);
  // The guest's processor has no VMX: VMXE is a reserved bit for it, as is any bit the CPU lacks.
  const allowed = fixed1 & ~CR4.VMXE;
  if ((value & ~allowed) !== 0) { v.injectGp(0); return true; }
  const old = v.read(F.GUEST_CR4);
  const actual = value | fixed0;
  const cr0 = v.read(F.GUEST_CR0);
  if ((cr0 & CR0.PG) !== 0 && (value & CR4.PAE) !== 0 && ((old ^ actual) & (CR4.PAE | CR4.PSE | CR4.PGE)) !== 0) {
    if (!loadPdptes(hv, v, v.read(F.GUEST_CR3))) { v.injectGp(0); return true; }
  }
  v.write(F.GUEST_CR4, actual);
  v.write(F.CR4_READ_SHADOW, value);
  // The processor would flush the TLB for these bits (Vol3A 4.10.4.1); with VPID the VMM must.
  if (((old ^ actual) & (CR4.PAE | CR4.PSE | CR4.PGE)) !== 0) v.vmx.invvpid(INVVPID_TYPE.SINGLE_CONTEXT, v.id + 1);
  v.skipInstruction();
  return true;
}

/** MOV to CR0 that changed NE relative to the shadow: the #GP checks of MOV to CR0, then the write. */
function movToCr0(hv: Hypervisor, v: VCpu, value: number): boolean {
  if ((value & CR0.PG) !== 0 && (value & CR0.PE) === 0) { v.injectGp(0); return true; }
  if ((value & CR0.NW) !== 0 && (value & CR0.CD) === 0) { v.injectGp(0); return true; }
  const old = v.read(F.GUEST_CR0);
  const actual = value | CR0.NE | CR0.ET;
  const cr4 = v.read(F.GUEST_CR4);
  if ((actual & CR0.PG) !== 0 && (old & CR0.PG) === 0 && (cr4 & CR4.PAE) !== 0) {
    if (!loadPdptes(hv, v, v.read(F.GUEST_CR3))) { v.injectGp(0); return true; }
  }
  v.write(F.GUEST_CR0, actual);
  v.write(F.CR0_READ_SHADOW, value);
  if (((old ^ actual) & (CR0.PG | CR0.PE | CR0.WP)) !== 0) v.vmx.invvpid(INVVPID_TYPE.SINGLE_CONTEXT, v.id + 1);
  v.skipInstruction();
  return true;
}

/**
 * With EPT, VM entry takes the PDPTEs from the VMCS (Vol3C 26.3.2.4): an emulated write that turns
 * PAE paging on must load them from guest CR3 itself, with the checks MOV to CR would make.
 */
function loadPdptes(hv: Hypervisor, v: VCpu, cr3: number): boolean {
  const base = (cr3 & ~0x1f) >>> 0;
  const lo: number[] = [], hi: number[] = [];
  for (let k = 0; k < 4; k++) {
    lo.push(hv.mem.read(base + 8 * k, 4)); hi.push(hv.mem.read(base + 8 * k + 4, 4));
    if ((lo[k] & 1) !== 0 && ((lo[k] & 0x1e6) !== 0 || (hi[k] & ~((1 << (MAXPHYADDR - 32)) - 1)) !== 0)) return false;
  }
  for (let k = 0; k < 4; k++) v.write(PDPTE[k], (hi[k] >>> 0) * 0x100000000 + (lo[k] >>> 0));
  return true;
}
