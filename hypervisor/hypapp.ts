// The hypapp API: how applications extend the hypervisor, after XMHF's (xmhf_app_main,
// xmhf_app_handlehypercall, xmhf_app_handleintercept_portaccess, ..._hwpgtblviolation,
// xmhf_app_handleshutdown). Every callback is optional; the core calls them in registration order.
//
// Runs in: VMX root operation (boot, or inside the VM-exit handler).

import type { VCpu } from './vcpu.js';
import type { Hypervisor } from './hypervisor.js';

/** A guest port access the core intercepted for a hypapp (hv.interceptPort). */
export interface PortAccess {
  readonly port: number;
  /** 1, 2 or 4 bytes. */
  readonly size: number;
  readonly isIn: boolean;
  /** For OUT: the value written. For IN: set it when returning 'skip'. */
  value: number;
}

/** What a port intercept decided: 'skip' = the app emulated it; 'chain' = let the next app, then the core, perform it. */
export type PortDecision = 'skip' | 'chain';

export interface HypApp {
  readonly name: string;
  /** The hypervisor has taken over the machine; the guest has not started (xmhf_app_main). */
  onBoot?(hv: Hypervisor): void;
  /** Every VM exit, before it is handled (statistics, tracing): keep it cheap. */
  onExit?(v: VCpu, reason: number): void;
  /** VMCALL with EAX = `fn`: return true if this app handled it (the core then skips the VMCALL). */
  onHypercall?(v: VCpu, fn: number): boolean;
  /** A port this app registered with hv.interceptPort (xmhf_app_handleintercept_portaccess). */
  onPortAccess?(v: VCpu, access: PortAccess): PortDecision;
  /** An EPT violation (xmhf_app_handleintercept_hwpgtblviolation): return true if handled. */
  onEptViolation?(v: VCpu, gpa: number, gla: number | null, qualification: number): boolean;
  /** The run is ending (guest power-off or reset, or a halt): `why` says which (xmhf_app_handleshutdown). */
  onShutdown?(hv: Hypervisor, why: string): void;
}
