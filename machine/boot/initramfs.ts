// initramfs builder: a cpio archive in the "newc" format (magic 070701), which the Linux kernel
// unpacks into its rootfs (kernel Documentation/driver-api/early-userspace/buffer-format.rst).
// Deterministic: the same entries give the same bytes (fixed mtime, inode numbers in order).
// Uncompressed output; the kernel also accepts it gzip-compressed. Browser-safe.
//
// Record: a 110-byte ASCII header ("070701" + 13 fields of 8 hex digits: ino, mode, uid, gid,
// nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check), the NUL-
// terminated name padded so the data starts on a 4-byte boundary, then the data padded to 4.
// The archive ends with an entry named "TRAILER!!!".

/** File type bits of st_mode (POSIX <sys/stat.h>). */
export const S_IF = { DIR: 0o040000, REG: 0o100000, LNK: 0o120000, CHR: 0o020000, BLK: 0o060000 } as const;
export const CPIO_NEWC_MAGIC = '070701';
export const CPIO_TRAILER = 'TRAILER!!!';

export interface CpioOptions {
  /** mtime of every entry (seconds since 1970); fixed for reproducible archives. */
  mtime?: number;
}

interface Entry { name: string; mode: number; nlink: number; data: Uint8Array; rdevMajor: number; rdevMinor: number }

const enc = new TextEncoder();

/** Builds a newc cpio archive. Parent directories are added automatically (mode 0755) if missing. */
export class CpioWriter {
  private readonly entries: Entry[] = [];
  private readonly names = new Set<string>();
  private readonly mtime: number;

  constructor(opts: CpioOptions = {}) { this.mtime = opts.mtime ?? 0; }

  dir(path: string, perm = 0o755): this { return this.add(path, S_IF.DIR | perm, new Uint8Array(0), 2); }
  file(path: string, data: Uint8Array | string, perm = 0o644): this {
    return this.add(path, S_IF.REG | perm, typeof data === 'string' ? enc.encode(data) : data, 1);
  }
  symlink(path: string, target: string): this { return this.add(path, S_IF.LNK | 0o777, enc.encode(target), 1); }
  charDev(path: string, major: number, minor: number, perm = 0o600): this { return this.add(path, S_IF.CHR | perm, new Uint8Array(0), 1, major, minor); }
  blockDev(path: string, major: number, minor: number, perm = 0o600): this { return this.add(path, S_IF.BLK | perm, new Uint8Array(0), 1, major, minor); }

  has(path: string): boolean { return this.names.has(normalize(path)); }

  private add(path: string, mode: number, data: Uint8Array, nlink: number, rdevMajor = 0, rdevMinor = 0): this {
    const name = normalize(path);
    if (name === '' || name === CPIO_TRAILER) throw new Error(`cpio: invalid entry name '${path}'`);
    if (this.names.has(name)) throw new Error(`cpio: duplicate entry '${name}'`);
    const slash = name.lastIndexOf('/');
    if (slash > 0 && !this.names.has(name.slice(0, slash))) this.dir(name.slice(0, slash));
    this.names.add(name);
    this.entries.push({ name, mode, nlink, data, rdevMajor, rdevMinor });
    return this;
  }

  /** The archive bytes. */
  finish(): Uint8Array {
    const parts: Uint8Array[] = [];
    let ino = 1;
    for (const e of this.entries) parts.push(...record(ino++, e, this.mtime));
    parts.push(...record(0, { name: CPIO_TRAILER, mode: 0, nlink: 1, data: new Uint8Array(0), rdevMajor: 0, rdevMinor: 0 }, 0));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/** Archive names are relative ("bin/sh"); a leading "/" or "./" is dropped. */
function normalize(path: string): string {
  let p = path.replace(/\/+/g, '/');
  while (p.startsWith('/') || p.startsWith('./')) p = p.startsWith('/') ? p.slice(1) : p.slice(2);
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p.split('/').some((c) => c === '..' || c === '.')) throw new Error(`cpio: entry name '${path}' has '.' or '..' components`);
  return p;
}

function record(ino: number, e: Entry, mtime: number): Uint8Array[] {
  const name = enc.encode(e.name);
  const namesize = name.length + 1;
  if (e.data.length > 0xffffffff) throw new Error(`cpio: ${e.name} is too large for newc (4 GiB)`);
  const fields = [ino, e.mode, 0, 0, e.nlink, mtime, e.data.length, 0, 0, e.rdevMajor, e.rdevMinor, namesize, 0];
  const head = CPIO_NEWC_MAGIC + fields.map((v) => (v >>> 0).toString(16).toUpperCase().padStart(8, '0')).join('');
  const headLen = pad4(head.length + namesize);
  const h = new Uint8Array(headLen);
  h.set(enc.encode(head), 0);
  h.set(name, head.length); // the NUL and the padding are already zero
  const d = new Uint8Array(pad4(e.data.length));
  d.set(e.data);
  return [h, d];
}

const pad4 = (n: number): number => (n + 3) & ~3;

// ---- The busybox initramfs tsvisor boots Linux with.

/** Marker line /init prints on the console once userspace is up (tests wait for it). */
export const INIT_READY_MARKER = 'TSVISOR-INIT-READY';

/**
 * /init: mounts proc, sysfs and devtmpfs, prints the marker, then runs an interactive shell on the
 * real console device in a new session (setsid + cttyhack reopen /dev/ttyS0 as the controlling
 * terminal, so job control and Ctrl-C work; /dev/console cannot be a controlling tty). The shell is
 * restarted if it exits (init must not exit: the kernel panics when PID 1 dies); `poweroff -f`
 * or `reboot -f` end the run.
 */
export const INIT_SCRIPT = `#!/bin/sh
# tsvisor initramfs /init (generated by machine/boot/initramfs.ts)
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo ${INIT_READY_MARKER}
while true; do
  setsid cttyhack sh -l
  echo "init: shell exited, starting a new one"
done
`;

/** Busybox applets linked in /bin (all are in Debian's busybox-static). */
export const BUSYBOX_APPLETS = [
  'sh', 'ash', 'cttyhack', 'setsid', 'mount', 'umount', 'mkdir', 'rmdir', 'mknod', 'echo', 'cat', 'ls', 'cp', 'mv',
  'rm', 'ln', 'chmod', 'touch', 'head', 'tail', 'wc', 'grep', 'sed', 'sort', 'uniq', 'cut', 'tr', 'od', 'hexdump',
  'dd', 'md5sum', 'sha256sum', 'sleep', 'true', 'false', 'test', '[', 'expr', 'seq', 'env', 'printf', 'uname',
  'hostname', 'date', 'dmesg', 'ps', 'kill', 'free', 'uptime', 'df', 'du', 'stat', 'sync', 'stty', 'tty', 'clear',
  'poweroff', 'reboot', 'halt', 'vi', 'less', 'more', 'find', 'xargs', 'awk', 'gzip', 'gunzip', 'zcat', 'tar',
  'cpio', 'which', 'id', 'whoami', 'time', 'top', 'watch', 'yes', 'basename', 'dirname', 'realpath', 'readlink',
  'nproc', 'sysctl', 'lsmod', 'insmod', 'modprobe', 'mdev', 'ifconfig', 'ip', 'ping',
] as const;

export interface BusyboxInitramfsOptions {
  /** /init script (default INIT_SCRIPT). */
  init?: string;
  /** Applets to link to /bin/busybox (default BUSYBOX_APPLETS). */
  applets?: readonly string[];
  /** Extra files: path → contents. */
  files?: Record<string, Uint8Array | string>;
}

/**
 * The initramfs: busybox (a static i386 binary) at /bin/busybox with applet symlinks, /init, the
 * directories the init mounts on, and the device nodes the kernel needs before devtmpfs is mounted
 * (/dev/console is opened for init's stdin/stdout before /init runs).
 */
export function busyboxInitramfs(busybox: Uint8Array, opts: BusyboxInitramfsOptions = {}): Uint8Array {
  const w = new CpioWriter();
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) w.dir(d, d === 'tmp' ? 0o1777 : 0o755);
  w.charDev('dev/console', 5, 1, 0o600);
  w.charDev('dev/ttyS0', 4, 64, 0o660);
  w.charDev('dev/null', 1, 3, 0o666);
  w.file('bin/busybox', busybox, 0o755);
  for (const a of opts.applets ?? BUSYBOX_APPLETS) w.symlink(`bin/${a}`, 'busybox');
  w.file('init', opts.init ?? INIT_SCRIPT, 0o755);
  w.file('etc/profile', 'export PS1="\\w # "\nexport HOME=/root\ncd $HOME\n');
  for (const [p, data] of Object.entries(opts.files ?? {})) w.file(p, data);
  return w.finish();
}
