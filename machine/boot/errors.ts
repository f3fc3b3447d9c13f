// Errors of the boot loaders: a kernel image the machine cannot load. The CLI prints the message
// as one line and exits with status 4 (see README).
export class BootError extends Error {
  override readonly name = 'BootError';
}
