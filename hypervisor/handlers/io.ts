// I/O-instruction exits (Intel SDM Vol3C 25.1.3, qualification Table 27-5) for ports a hypapp
// registered (hv.interceptPort). Each registered hypapp sees the access in turn and may emulate it
// ('skip') or pass it on ('chain'); if none emulates it, the core performs it on the machine's bus
// exactly as the guest asked, so interception is invisible to the guest. INS/OUTS, with or without
// REP, are emulated element by element through the guest's paging.
//
// Runs in: VMX root operation (exit handler).

import { F } from '../../machine/vmx/vmcs-fields.js';
import { QUAL_IO } from '../../machine/vmx/controls.js';
import { AR, CR0, EFLAGS, EXC, SEG } from '../../machine/cpu/arch.js';
import { Access, walk, WalkFault } from '../../machine/cpu/paging.js';
import type { Hypervisor } from '../hypervisor.js';
import type { PortAccess } from '../hypapp.js';
import { GPR, type VCpu } from '../vcpu.js';

const MASK = [0, 0xff, 0xffff, 0, -1];

/** One port access, through the registered hypapps, then the machine's bus. */
function access(hv: Hypervisor, v: VCpu, a: PortAccess): void {
  const owners = hv.portOwners.get(a.port);
  if (owners !== undefined) {
    for (const app of owners) if (app.onPortAccess !== undefined && app.onPortAccess(v, a) === 'skip') return;
  }
  if (a.isIn) a.value = v.vmx.hostIn(a.port, a.size) & MASK[a.size];
  else v.vmx.hostOut(a.port, a.size, a.value & MASK[a.size]);
}

export function handleIo(hv: Hypervisor, v: VCpu): boolean {
  const q = v.qualification;
  const size = (q & QUAL_IO.SIZE_MASK) + 1, isIn = (q & QUAL_IO.DIRECTION_IN) !== 0, port = q >>> QUAL_IO.PORT_SHIFT;
  if ((q & QUAL_IO.STRING) === 0) {
    const a: PortAccess = { port, size, isIn, value: isIn ? 0 : v.regs[GPR.EAX] & MASK[size] };
    access(hv, v, a);
    if (isIn) v.regs[GPR.EAX] = (v.regs[GPR.EAX] & ~MASK[size]) | (a.value & MASK[size]);
    v.skipInstruction();
    return true;
  }
  return stringIo(hv, v, port, size, isIn, (q & QUAL_IO.REP) !== 0);
}

/** INS / OUTS (REP or not): VM-exit instruction information gives the address size and OUTS's segment (Table 27-8). */
function stringIo(hv: Hypervisor, v: VCpu, port: number, size: number, isIn: boolean, rep: boolean): boolean {
  const info = v.read(F.VMX_INSTRUCTION_INFO);
  const a32 = ((info >>> 7) & 7) === 1;
  const seg = isIn ? SEG.ES : (info >>> 15) & 7;
  const segBase = v.read([F.GUEST_ES_BASE, F.GUEST_CS_BASE, F.GUEST_SS_BASE, F.GUEST_DS_BASE, F.GUEST_FS_BASE, F.GUEST_GS_BASE][seg]);
  const idx = isIn ? GPR.EDI : GPR.ESI;
  const step = (v.read(F.GUEST_RFLAGS) & EFLAGS.DF) !== 0 ? -size : size;
  const addrMask = a32 ? -1 : 0xffff;
  const user = ((v.read(F.GUEST_SS_AR_BYTES) & AR.DPL_MASK) >>> AR.DPL_SHIFT) === 3;
  let count = rep ? (a32 ? v.regs[GPR.ECX] >>> 0 : v.regs[GPR.ECX] & 0xffff) : 1;
  const a: PortAccess = { port, size, isIn, value: 0 };
  while (count > 0) {
    const off = v.regs[idx] & addrMask;
    const lin = (segBase + (off >>> 0)) | 0;
    const pa = translate(hv, v, lin, size, isIn, user);
    if (pa === null) return true; // a #PF was injected; registers reflect the elements done (restartable)
    if (isIn) {
      a.value = 0;
      access(hv, v, a);
      for (let k = 0; k < size; k++) hv.mem.write(pa[k], 1, a.value >>> (8 * k));
    } else {
      let val = 0;
      for (let k = 0; k < size; k++) val |= hv.mem.read(pa[k], 1) << (8 * k);
      a.value = val;
      access(hv, v, a);
    }
    v.regs[idx] = a32 ? (v.regs[idx] + step) | 0 : (v.regs[idx] & ~0xffff) | ((v.regs[idx] + step) & 0xffff);
    count--;
    if (rep) v.regs[GPR.ECX] = a32 ? count : (v.regs[GPR.ECX] & ~0xffff) | count;
  }
  v.skipInstruction();
  return true;
}

/**
 * Physical addresses of the `size` bytes at guest-linear `lin`, through the guest's paging (setting
 * accessed/dirty bits as the processor would); on a fault, inject the #PF and return null.
 */
function translate(hv: Hypervisor, v: VCpu, lin: number, size: number, write: boolean, user: boolean): number[] | null {
  const p = v.pagingRegs();
  const out: number[] = [];
  for (let k = 0; k < size; k++) {
    const l = (lin + k) | 0;
    if ((p.cr0 & CR0.PG) === 0) { out.push(l >>> 0); continue; }
    const r = walk(hv.mem, p, l, write ? Access.Write : Access.Read, user, { setAD: true });
    if (r instanceof WalkFault) {
      v.vmx.writeCr2(l);
      v.injectException(EXC.PF, r.errorCode);
      return null;
    }
    out.push(r.pa);
  }
  return out;
}
