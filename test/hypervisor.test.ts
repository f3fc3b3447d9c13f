// The hypervisor core and its hypapp API, with small guests assembled at test time (nasm, with the
// guest framework guests/lib/test.inc): port intercepts that emulate ('skip') or pass on ('chain')
// accesses, string I/O through an emulating hypapp, callback order, the EPT wall around the
// hypervisor's memory and the dump it prints, KVM hypercalls from ring 3, and launch errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { End, Machine } from '../machine/machine.js';
import { runGuest } from './harness/guest.js';
import { tapProblems } from './harness/tap.js';
import { Hypervisor, HOST_MEM_BYTES } from '../hypervisor/hypervisor.js';
import type { HypApp, PortAccess, PortDecision } from '../hypervisor/hypapp.js';
import type { VCpu } from '../hypervisor/vcpu.js';
import { EXIT_REASON } from '../machine/vmx/exit-reasons.js';

const root = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'hv-'));
let n = 0;
/** Assemble a framework guest whose test_main is `body`. */
function guest(body: string): Uint8Array {
  const f = join(tmp, `g${n++}`);
  writeFileSync(f + '.asm', `%include "test.inc"\ntest_main:\n${body}\n  ret\n`);
  execFileSync('nasm', ['-f', 'bin', '-I', join(root, 'guests', 'lib') + '/', '-o', f + '.bin', f + '.asm']);
  return new Uint8Array(readFileSync(f + '.bin'));
}

/** A hypapp emulating a device on ports 0x510-0x513: IN returns a counter, OUT values are recorded. */
class FakeDevice implements HypApp {
  readonly name = 'fake-device';
  readonly outs: number[] = [];
  readonly events: string[] = [];
  next = 0x40;
  onBoot(hv: Hypervisor): void { this.events.push('boot'); hv.interceptPort(this, 0x510, 4); }
  onExit(_v: VCpu, reason: number): void { if (reason === EXIT_REASON.IO_INSTRUCTION) this.events.push('exit'); }
  onPortAccess(_v: VCpu, a: PortAccess): PortDecision {
    this.events.push(`${a.isIn ? 'in' : 'out'} ${a.port.toString(16)}/${a.size}`);
    if (a.isIn) a.value = this.next++; else this.outs.push(a.value);
    return 'skip';
  }
  onShutdown(): void { this.events.push('shutdown'); }
}

test('a hypapp emulates ports it intercepts (skip): IN, OUT, sizes, INSB/OUTSB with REP', () => {
  const dev = new FakeDevice();
  const img = guest(`
  mov dx, 0x510
  in al, dx
  CHECK eax, 0x40, "IN AL from the emulated port"
  mov eax, 0x12345678
  out dx, eax
  mov dx, 0x512
  in ax, dx
  and eax, 0xffff
  CHECK eax, 0x41, "IN AX from the emulated port"
  cld
  mov dx, 0x513
  mov edi, buf
  mov ecx, 4
  rep insb
  CHECK [buf], 0x45444342, "REP INSB read four values in order"
  CHECK ecx, 0, "ECX counted down"
  CHECK edi, buf + 4, "EDI advanced"
  mov dx, 0x511
  mov esi, msg
  mov ecx, 3
  rep outsb
  CHECK esi, msg + 3, "ESI advanced"
  jmp done1
buf: dd 0
msg: db 7, 8, 9
done1:`);
  const r = runGuest(img, { hypervisor: { hypapps: [dev] } });
  assert.deepEqual(tapProblems(r.serial), [], r.serial + r.message);
  assert.deepEqual(dev.outs, [0x12345678, 7, 8, 9]);
  assert.equal(dev.events[0], 'boot');
  assert.equal(dev.events.at(-1), 'shutdown');
  // Each exit is reported to onExit before the port callback runs.
  assert.deepEqual(dev.events.slice(1, 5), ['exit', 'in 510/1', 'exit', 'out 510/4']);
  // The same guest bare reads the unclaimed ports as all ones: the hypapp made the difference.
  const bare = runGuest(img);
  assert.match(bare.serial, /not ok 1 - IN AL from the emulated port \(got 000000ff want 00000040\)/);
});

test('chain passes an access on to the next hypapp, then to the machine', () => {
  const seen: string[] = [];
  const mk = (name: string, decision: PortDecision): HypApp => ({
    name,
    onBoot(hv) { hv.interceptPort(this, 0x3f8, 8); },
    onPortAccess(_v, a) {
      if (seen.length < 100000) seen.push(`${name}:${a.port.toString(16)}`);
      if (a.isIn) a.value = a.port === 0x3fd ? 0x60 : 0; // a skipping app answers LSR "transmitter empty"
      return decision;
    },
  });
  // Both chain: COM1 output still reaches the UART.
  const r = runGuest(guest('  CHECK 1, 1, "one check"'), { hypervisor: { hypapps: [mk('a', 'chain'), mk('b', 'chain')] } });
  assert.deepEqual(tapProblems(r.serial), []);
  assert.ok(seen.length > 10 && seen[0] === 'a:3fd' && seen[1] === 'b:3fd', seen.slice(0, 4).join(' '));
  // The first skips: the second never sees the access, and the UART never does either.
  seen.length = 0;
  const r2 = runGuest(guest('  CHECK 1, 1, "one check"'), { hypervisor: { hypapps: [mk('a', 'skip'), mk('b', 'chain')] } });
  assert.equal(r2.serial, '', 'COM1 output swallowed by the skipping hypapp');
  assert.ok(seen.every((s) => s.startsWith('a:')));
});

test('the hypervisor\'s memory is behind EPT: a guest write there stops the machine with the dump', () => {
  // 64 MiB of guest RAM: the hypervisor's 8 MiB start at 0x4000000.
  const r = runGuest(guest(`
  mov eax, 0xdeadbeef
  mov [0x4000100], eax`), { hypervisor: true });
  assert.equal(r.end, End.HypervisorHalt);
  assert.equal(r.status, 14);
  const lines = r.message.split('\n');
  assert.match(lines[0], /^CPU\(0x00\): Unhandled intercept: 0x00000030 \(EPT_VIOLATION\): guest access to 0x04000100 \(linear 0x04000100\), the hypervisor's memory/);
  assert.ok(lines.some((l) => /^\tCS:EIP =0x0008:0x001[0-9a-f]{5}$/.test(l)), r.message);
  assert.ok(lines.some((l) => /^ {2}CR0=0x00000031 CR3=0x00000000 CR4=0x00002000 \(the guest reads CR0=0x00000011 CR4=0x00000000\)$/.test(l)), r.message);
  assert.ok(lines.some((l) => /^VM exit #\d+: EPT_VIOLATION \(reason 0x00000030\), qualification 0x00000182 /.test(l)), 'write (bit 1), GLA valid and translated (bits 7, 8)\n' + r.message);
  assert.ok(lines.some((l) => /=> .*mov \[0x4000100\], eax/.test(l)), 'disassembly marks the faulting instruction\n' + r.message);
  assert.match(lines.at(-1)!, /EPT_VIOLATION/, 'the last exits end with this one\n' + r.message);
});

test('KVM hypercalls: -KVM_EPERM from ring 3, as KVM answers', () => {
  const r = runGuest(guest(`
  ; to ring 3 and back through INT 0x1f (its DPL-3 gate now points at \`back\`)
  mov eax, back
  mov [t_idt + 0x1f * 8], ax
  shr eax, 16
  mov [t_idt + 0x1f * 8 + 6], ax
  mov [saved], esp
  push T_UDATA32
  push 0x70000
  pushfd
  push T_UCODE32
  push ring3
  iretd
ring3:
  mov eax, 1
  vmcall
  mov ebx, eax
  int 0x1f
back:
  mov ax, T_DATA32
  mov ds, ax
  mov es, ax
  mov esp, [saved]
  CHECK ebx, -1, "VMCALL at CPL 3 returns -KVM_EPERM"
  jmp done2
saved: dd 0
done2:`), { hypervisor: { kvm: true } });
  assert.deepEqual(tapProblems(r.serial), [], r.serial + r.message);
});

test('launch refuses a machine without room for the hypervisor, and a second launch', () => {
  const m = new Machine({ memBytes: 16 << 20, onSerial: () => {} });
  assert.throws(() => new Hypervisor(m.vmx, m.mem), /no room for the hypervisor/);
  const m2 = new Machine({ memBytes: 16 << 20, onSerial: () => {}, hostMemBytes: HOST_MEM_BYTES });
  m2.loadKernel(guest('  CHECK 1, 1, "x"'));
  const hv = new Hypervisor(m2.vmx, m2.mem);
  hv.launch();
  assert.ok(m2.cpu.nonRoot !== null, 'the guest runs in VMX non-root operation after launch');
  assert.throws(() => hv.launch(), /already launched/);
});
