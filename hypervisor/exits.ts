// VM-exit dispatch: one handler per basic exit reason (Intel SDM Vol3D App. C). Each returns true
// to resume the guest, false when it halted the machine. The default behaviour keeps the guest
// unaware of the hypervisor: what VMX forces on the processor is shadowed, VMX is hidden, and
// everything else the guest does reaches the machine as it would bare.
//
// Runs in: VMX root operation (the exit handler), one exit at a time.

import { EXIT_REASON, exitReasonName } from '../machine/vmx/exit-reasons.js';
import { F } from '../machine/vmx/vmcs-fields.js';
import { ACTIVITY, INVVPID_TYPE, QUAL_EPT } from '../machine/vmx/controls.js';
import { CR0, CR4, MSR } from '../machine/cpu/arch.js';
import { initState, writeGuestState, writeSipiState } from './vmcs-setup.js';
import type { Hypervisor } from './hypervisor.js';
import { HV_STATUS } from './hypervisor.js';
import { GPR, type VCpu } from './vcpu.js';
import { handleCrAccess } from './handlers/cr.js';
import { handleIo } from './handlers/io.js';
import { handleVmcall } from './handlers/vmcall.js';

export type ExitHandler = (hv: Hypervisor, v: VCpu) => boolean;

const TABLE: (ExitHandler | undefined)[] = new Array(65).fill(undefined);

/** Dispatch the exit being handled on `v`; false if the machine was halted. */
export function dispatchExit(hv: Hypervisor, v: VCpu): boolean {
  const handler = TABLE[v.reason];
  if (handler === undefined) {
    hv.halt(v, HV_STATUS.unhandledExit, `Unhandled intercept: ${hx(v.reason)} (${exitReasonName(v.reason)})`);
    return false;
  }
  return handler(hv, v);
}

const hx = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

// ---------------------------------------------------------------- CPUID (always exits, Vol3C 25.1.2)

const CPUID_ECX_VMX = 1 << 5;
const CPUID_ECX_HYPERVISOR = 1 << 31;
/** KVM's CPUID signature leaf (Linux Documentation/virt/kvm/x86/cpuid.rst): "KVMKVMKVM\0\0\0". */
const KVM_SIGNATURE: [number, number, number] = [0x4b4d564b, 0x564b4d56, 0x0000004d];

TABLE[EXIT_REASON.CPUID] = (hv, v) => {
  const leaf = v.regs[GPR.EAX] >>> 0, sub = v.regs[GPR.ECX];
  let r: [number, number, number, number];
  if (hv.kvm && leaf >= 0x40000000 && leaf <= 0x400000ff) {
    // KVM_CPUID_SIGNATURE / KVM_CPUID_FEATURES: no paravirtual features beyond the hypercall ABI.
    r = leaf === 0x40000000 ? [0x40000001, ...KVM_SIGNATURE] : [0, 0, 0, 0];
  } else {
    r = v.vmx.cpuid(leaf, sub);
    if (leaf === 1) {
      r[2] &= ~CPUID_ECX_VMX; // no nested virtualization: the guest sees a processor without VMX
      if (hv.kvm) r[2] |= CPUID_ECX_HYPERVISOR;
    }
  }
  v.regs[GPR.EAX] = r[0]; v.regs[GPR.EBX] = r[1]; v.regs[GPR.ECX] = r[2]; v.regs[GPR.EDX] = r[3];
  v.skipInstruction();
  return true;
};

TABLE[EXIT_REASON.CR_ACCESS] = handleCrAccess;
TABLE[EXIT_REASON.IO_INSTRUCTION] = handleIo;
TABLE[EXIT_REASON.VMCALL] = handleVmcall;

// ---------------------------------------------------------------- MSRs the hypervisor owns (MSR bitmap)

/** The VMX capability MSRs are hidden (#GP, as on a processor without VMX); IA32_FEATURE_CONTROL reads locked with VMX off. */
TABLE[EXIT_REASON.RDMSR] = (_hv, v) => {
  const index = v.regs[GPR.ECX] >>> 0;
  if (index === MSR.IA32_FEATURE_CONTROL) {
    v.regs[GPR.EAX] = 1; v.regs[GPR.EDX] = 0; // lock bit only: VMX disabled in and outside SMX
    v.skipInstruction();
    return true;
  }
  v.injectGp(0);
  return true;
};
/** Writes to them fail like writes to a locked / nonexistent MSR: #GP(0). */
TABLE[EXIT_REASON.WRMSR] = (_hv, v) => { v.injectGp(0); return true; };

// ---------------------------------------------------------------- instructions the guest may not use

/** VMX instructions: the guest's processor has no VMX, so they are #UD (VMCALL is handled apart). */
const vmxInstruction: ExitHandler = (_hv, v) => { v.injectUd(); return true; };
for (const r of [EXIT_REASON.VMCLEAR, EXIT_REASON.VMLAUNCH, EXIT_REASON.VMPTRLD, EXIT_REASON.VMPTRST, EXIT_REASON.VMREAD,
  EXIT_REASON.VMRESUME, EXIT_REASON.VMWRITE, EXIT_REASON.VMXOFF, EXIT_REASON.VMXON, EXIT_REASON.INVEPT, EXIT_REASON.INVVPID]) {
  TABLE[r] = vmxInstruction;
}
/** INVD always exits; with no caches to lose, skipping it is exact. */
TABLE[EXIT_REASON.INVD] = (_hv, v) => { v.skipInstruction(); return true; };

// ---------------------------------------------------------------- guest failures

TABLE[EXIT_REASON.TRIPLE_FAULT] = (hv, v) => {
  hv.halt(v, HV_STATUS.tripleFault, `Unhandled intercept: ${hx(EXIT_REASON.TRIPLE_FAULT)} (TRIPLE_FAULT): the guest triple-faulted`);
  return false;
};
/** Hardware task switches are not implemented by the machine either: stop as a bare run would. */
TABLE[EXIT_REASON.TASK_SWITCH] = (hv, v) => {
  hv.halt(v, HV_STATUS.unsupported, `unsupported guest behaviour: hardware task switch to TSS selector ${hx(v.qualification & 0xffff)} (exit reason 9)`);
  return false;
};

// ---------------------------------------------------------------- INIT and SIPI (XMHF's way of starting APs)

/**
 * INIT always exits in non-root operation (Vol3C 25.2): the guest wanted this processor reset.
 * Give the vCPU the post-INIT state and let it wait for a SIPI, as the processor would.
 */
TABLE[EXIT_REASON.INIT_SIGNAL] = (_hv, v) => {
  const s = initState();
  writeGuestState(v.vmx, s, CR0.NE, CR4.VMXE);
  v.write(F.CR0_READ_SHADOW, s.cr0);
  v.write(F.CR4_READ_SHADOW, s.cr4);
  v.write(F.GUEST_ACTIVITY_STATE, ACTIVITY.WAIT_FOR_SIPI);
  v.regs.fill(0); // INIT clears the general-purpose registers (ESP included: restoreGprs writes GUEST_RSP)
  v.regs[GPR.EDX] = v.vmx.cpuid(1)[0]; // EDX = the processor signature after INIT (Vol3A 9.1.4)
  v.vmx.invvpid(INVVPID_TYPE.SINGLE_CONTEXT, v.id + 1);
  return true;
};
/** SIPI to a vCPU waiting for one (Vol3C 25.2): start it in real mode at vector×1000H. */
TABLE[EXIT_REASON.SIPI] = (_hv, v) => {
  writeSipiState(v.vmx, v.qualification & 0xff);
  return true;
};

// ---------------------------------------------------------------- EPT

TABLE[EXIT_REASON.EPT_VIOLATION] = (hv, v) => {
  const gpa = v.read(F.GUEST_PHYSICAL_ADDRESS);
  const gla = (v.qualification & QUAL_EPT.GLA_VALID) !== 0 ? v.read(F.GUEST_LINEAR_ADDRESS) : null;
  for (const app of hv.hypapps) if (app.onEptViolation?.(v, gpa, gla, v.qualification)) return true;
  const what = gpa >= hv.hm.base && gpa < hv.hm.end ? 'the hypervisor\'s memory (EPT keeps it from the guest)' : 'guest-physical memory with no mapping';
  hv.halt(v, HV_STATUS.unhandledExit, `Unhandled intercept: ${hx(EXIT_REASON.EPT_VIOLATION)} (EPT_VIOLATION): guest access to ${hx(gpa)}${gla !== null ? ` (linear ${hx(gla)})` : ''}, ${what}`);
  return false;
};
TABLE[EXIT_REASON.EPT_MISCONFIG] = (hv, v) => {
  hv.halt(v, HV_STATUS.internal, `EPT misconfiguration at guest-physical ${hx(v.read(F.GUEST_PHYSICAL_ADDRESS))} (a hypervisor bug)`);
  return false;
};
