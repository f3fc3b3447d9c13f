// Monitor commands: `monitor CMD` in gdb (qRcmd), `--monitor CMD` on the command line when a run
// ends, and the web front end. Text in, text out; everything through the debug target.
// Browser-safe.

import type { MachineTarget } from './machine-target.js';
import { AR, CR0, CR4, EFER } from '../machine/cpu/arch.js';
import { Mode } from '../machine/cpu/state.js';
import { bitNames } from '../machine/vmx/controls.js';
import { F } from '../machine/vmx/vmcs-fields.js';
import { flagsString } from './dump.js';
import { formatWalk } from './pagewalk.js';
import { arText, exitReport, formatCurrentVmcs } from './vmcs-dump.js';
import { exitHistogram, formatExits } from './exit-trace.js';
import { disassembleAt, formatListing } from './disasm.js';
import { REGISTERS, type StopEvent } from './target.js';

/** Hex of an unsigned value up to 2^53 (physical addresses may exceed 32 bits; int32 values read as unsigned). */
const hx = (v: number, w = 8): string => (v < 0 ? v >>> 0 : Math.floor(v)).toString(16).padStart(w, '0');

export const MONITOR_HELP = `tsvisor monitor commands (numbers: 0x... hex, else decimal; $pc and $REGISTER are expanded):
  regs                 registers with hidden segment state, control/debug registers, x87 state
  vmcs                 every field of the current VMCS by SDM name, grouped by area, decoded
  exit                 the current VM exit: reason, qualification, guest state, code, last exits
  exits [N]            the last N VM exits (default 20): reason, qualification, guest RIP
  walk VA [CR3]        the page walk of linear address VA (current CR3, or the given one)
  phys ADDR [LEN]      hex dump of guest-physical memory (default 64 bytes)
  hphys ADDR [LEN]     hex dump of host-physical memory (the hypervisor's view)
  disas [ADDR [N]]     disassemble N instructions (default 10) at linear ADDR, or around CS:EIP
  stats                instructions, virtual time, VM entries/exits by reason, debugger state
  why                  why the machine stopped (full report after a triple fault or a hypervisor halt)
  help                 this list`;

function num(s: string | undefined, what: string): number {
  if (s === undefined) throw new Error(`missing ${what}`);
  const t = s.trim().toLowerCase();
  const v = t.startsWith('0x') ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isFinite(v) || v < 0) throw new Error(`${what}: '${s}' is not a number (use 0x... for hex)`);
  return v;
}

/** Run one monitor command line; returns its output (never throws: errors come back as text). */
export function runMonitor(t: MachineTarget, line: string): string {
  const [cmd, ...raw] = line.trim().split(/\s+/);
  try {
    // gdb passes monitor text as is: $pc (the linear PC) and $REGISTER are expanded here.
    const args = raw.map((a) => {
      if (!a.startsWith('$')) return a;
      const name = a.slice(1).toLowerCase();
      if (name !== 'pc' && !REGISTERS.some((r) => r.name === name && r.bits === 32)) throw new Error(`unknown register ${a}`);
      return '0x' + t.reg(name === 'pc' ? 'eip' : name).toString(16);
    });
    switch ((cmd ?? '').toLowerCase()) {
      case '': case 'help': return MONITOR_HELP;
      case 'regs': return regsText(t);
      case 'vmcs': return formatCurrentVmcs(t.m.vmx);
      case 'exit': return t.m.vmx.current === null ? 'no current VMCS' : exitReport(t.m.vmx, t.m.mem);
      case 'exits': return formatExits(t.m.vmx, args[0] !== undefined ? num(args[0], 'N') : 20);
      case 'walk': return formatWalk(t.m.mem, t.paging(), num(args[0], 'VA'), args[1] !== undefined ? num(args[1], 'CR3') : undefined);
      case 'phys': case 'hphys': {
        const addr = num(args[0], 'ADDR'), len = Math.min(args[1] !== undefined ? num(args[1], 'LEN') : 64, 65536);
        return hexdump(addr, len, t.readMemory(addr, len, cmd.toLowerCase() === 'phys' ? 'physical' : 'host'));
      }
      case 'disas': return disasText(t, args);
      case 'stats': return statsText(t);
      case 'why': return whyText(t.lastStop, t);
      default: return `unknown monitor command '${cmd}' (try: monitor help)`;
    }
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

function hexdump(addr: number, len: number, data: Uint8Array): string {
  const lines: string[] = [];
  for (let o = 0; o < data.length; o += 16) {
    const row = data.subarray(o, Math.min(o + 16, data.length));
    const bytes = [...row].map((b) => hx(b, 2)).join(' ');
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${hx(addr + o, 9)}  ${bytes.padEnd(47)}  ${text}`);
  }
  if (data.length < len) lines.push(`${hx(addr + data.length, 9)}  (not RAM or not mapped: ${len - data.length} bytes not shown)`);
  return lines.join('\n');
}

/** Code size of the current CS: 16 in real and virtual-8086 mode or with CS.D = 0. */
function codeBits(t: MachineTarget): 16 | 32 {
  if (t.regView() === 'vmcs-guest') {
    const cr0 = t.reg('cr0'), fl = t.reg('eflags');
    return (cr0 & CR0.PE) === 0 || (fl & (1 << 17)) !== 0 || (t.reg('cs_ar') & AR.DB) === 0 ? 16 : 32;
  }
  return t.cpu.cs32 ? 32 : 16;
}

function disasText(t: MachineTarget, args: string[]): string {
  const bits = codeBits(t);
  const read = (lin: number): number | null => { const b = t.readMemory(lin >>> 0, 1, 'linear'); return b.length ? b[0] : null; };
  const csBase = t.reg('cs_base'), cs = t.reg('cs');
  if (args.length === 0) {
    const lines = disassembleAt(read, csBase, t.reg('eip_offset'), bits, { before: 3, after: 8 });
    return lines.length ? formatListing(lines, cs) : '(CS:EIP is not mapped)';
  }
  const addr = num(args[0], 'ADDR'), n = args[1] !== undefined ? num(args[1], 'N') : 10;
  // 16-bit code: as CS:IP (offset from the current CS base, so branch targets are right); 32-bit: linear.
  const lines = bits === 16 ? disassembleAt(read, csBase, (addr - csBase) & 0xffff, 16, { after: n }) : disassembleAt(read, 0, addr, 32, { after: n });
  for (const l of lines) l.current = false;
  return lines.length ? formatListing(lines, bits === 16 ? cs : undefined) : `(${hx(addr)} is not mapped)`;
}

function modeText(t: MachineTarget): string {
  const cr0 = t.reg('cr0'), cr4 = t.reg('cr4'), fl = t.reg('eflags');
  if ((cr0 & CR0.PE) === 0) return 'real mode';
  if ((fl & (1 << 17)) !== 0) return 'virtual-8086 mode';
  const cpl = t.regView() === 'vmcs-guest' ? (t.reg('ss_ar') & AR.DPL_MASK) >>> AR.DPL_SHIFT : t.cpu.cpl;
  const paging = (cr0 & CR0.PG) === 0 ? 'no paging' : (cr4 & CR4.PAE) !== 0 ? 'PAE paging' : '32-bit paging';
  return `protected mode, ${codeBits(t)}-bit code, CPL ${cpl}, ${paging}`;
}

function viewText(t: MachineTarget): string {
  if (t.regView() === 'vmcs-guest') return "the guest's state from the current VMCS (the processor is in VMX root operation; EAX-EDI from the register file)";
  if (t.cpu.nonRoot !== null) return 'the CPU (running the guest in VMX non-root operation)';
  return t.m.vmx.inVmxOperation ? 'the CPU (VMX root operation)' : 'the CPU';
}

export function regsText(t: MachineTarget): string {
  const r = (n: string): number => t.reg(n);
  const L: string[] = [`registers of ${viewText(t)}`];
  L.push(`  mode   ${modeText(t)}`);
  L.push(`  CS:EIP ${hx(r('cs'), 4)}:${hx(r('eip_offset'))} (linear ${hx(r('eip'))})`);
  L.push(`  EAX=${hx(r('eax'))} ECX=${hx(r('ecx'))} EDX=${hx(r('edx'))} EBX=${hx(r('ebx'))}`);
  L.push(`  ESP=${hx(r('esp'))} EBP=${hx(r('ebp'))} ESI=${hx(r('esi'))} EDI=${hx(r('edi'))}`);
  L.push(`  EFLAGS=${hx(r('eflags'))} [${flagsString(r('eflags'))}]`);
  for (const s of ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr']) {
    const ar = r(`${s}_ar`);
    L.push(`  ${s.toUpperCase().padEnd(4)} ${hx(r(s), 4)} base=${hx(r(`${s}_base`))} limit=${hx(r(`${s}_limit`))} ar=${hx(ar, 5)} ${arText(ar)}`);
  }
  L.push(`  GDTR base=${hx(r('gdtr_base'))} limit=${hx(r('gdtr_limit'), 4)}  IDTR base=${hx(r('idtr_base'))} limit=${hx(r('idtr_limit'), 4)}`);
  L.push(`  CR0=${hx(r('cr0'))} [${bitNames(r('cr0'), CR0).join(' ') || '-'}]  CR2=${hx(r('cr2'))}  CR3=${hx(r('cr3'))}`);
  L.push(`  CR4=${hx(r('cr4'))} [${bitNames(r('cr4'), CR4).join(' ') || '-'}]  EFER=${hx(r('efer'))} [${bitNames(r('efer'), EFER).join(' ') || '-'}]`);
  const nr = t.cpu.nonRoot, v = t.m.vmx.current;
  if (nr !== null) L.push(`  (the guest reads CR0=${hx(nr.cr0View(r('cr0')))} CR4=${hx(nr.cr4View(r('cr4')))}: bits owned by the hypervisor come from the read shadows)`);
  else if (t.regView() === 'vmcs-guest' && v !== null) {
    const m0 = v.get(F.CR0_GUEST_HOST_MASK), m4 = v.get(F.CR4_GUEST_HOST_MASK);
    L.push(`  (the guest reads CR0=${hx((r('cr0') & ~m0) | (v.get(F.CR0_READ_SHADOW) & m0))} CR4=${hx((r('cr4') & ~m4) | (v.get(F.CR4_READ_SHADOW) & m4))}: bits owned by the hypervisor come from the read shadows)`);
  }
  L.push(`  DR0=${hx(r('dr0'))} DR1=${hx(r('dr1'))} DR2=${hx(r('dr2'))} DR3=${hx(r('dr3'))} DR6=${hx(r('dr6'))} DR7=${hx(r('dr7'))}`);
  const f = t.cpu.fpu;
  L.push(`  x87 FCW=${hx(f.cw, 4)} FSW=${hx(f.status, 4)} FTW=${hx(f.tagWord(), 4)} TOP=${f.top} FIP=${hx(f.fcs, 4)}:${hx(f.fip)} FDP=${hx(f.fds, 4)}:${hx(f.fdp)} FOP=${hx(f.fop, 3)}`);
  if (t.regView() === 'cpu') {
    const c = t.cpu;
    const st = [c.halted ? 'halted' : 'running', c.intShadow ? `interrupt shadow (${c.shadowMovSs ? 'MOV SS' : 'STI'})` : '',
      c.nmiPending ? 'NMI pending' : '', c.nmiBlocked ? 'NMIs blocked' : '', c.mode === Mode.Real ? `A20 ${t.m.mem.a20 ? 'on' : 'off'}` : ''].filter(Boolean);
    L.push(`  state  ${st.join(', ')}`);
  }
  return L.join('\n');
}

function statsText(t: MachineTarget): string {
  const m = t.m, u = m.vmx;
  const L: string[] = [];
  L.push(`instructions retired: ${m.clock.insns} (virtual time ${(m.clock.nowNs() / 1e6).toFixed(3)} ms)`);
  L.push(`mode: ${modeText(t)}; CS:EIP ${hx(t.reg('cs'), 4)}:${hx(t.reg('eip_offset'))}`);
  L.push(`VMX: ${u.inVmxOperation ? 'in VMX operation' : 'off'}${t.cpu.nonRoot !== null ? ', guest running in non-root operation' : ''}; ${u.entries} VM entries, ${u.exits} VM exits`);
  const hist = exitHistogram(u);
  if (hist.length) L.push(`  exits by reason (last ${Math.min(u.exits, u.ringReason.length)}): ${hist.join(', ')}`);
  const p = t.pointCounts;
  L.push(`debugger: ${p.breakpoints} breakpoint(s), ${p.watchpoints} watchpoint(s); ${t.running ? 'running' : `stopped (${stopText(t.lastStop)})`}`);
  if (m.result) L.push(`machine ended: ${m.result.end} (exit status ${m.result.status})`);
  return L.join('\n');
}

export function stopText(e: StopEvent): string {
  switch (e.kind) {
    case 'breakpoint': return `${e.hw ? 'hardware ' : ''}breakpoint at ${hx(e.addr)}`;
    case 'watch': return `${e.type} watchpoint at ${hx(e.addr)}`;
    case 'step': return 'single step';
    case 'interrupt': return 'interrupted';
    case 'initial': return 'before the first instruction';
    case 'ended': return `${e.result.end}: ${e.result.message.split('\n')[0]}`;
  }
}

function whyText(e: StopEvent, t: MachineTarget): string {
  if (t.m.result) return `the machine stopped for good: ${t.m.result.end} (exit status ${t.m.result.status})\n${t.m.result.message}`;
  return `stopped: ${stopText(e)} at CS:EIP ${hx(t.reg('cs'), 4)}:${hx(t.reg('eip_offset'))} (linear ${hx(t.reg('eip'))})`;
}

