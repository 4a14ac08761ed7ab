/**
 * One file-store operation from words (a command line, or a line of the client shell), checked
 * against the path rules and the operation size limit before it is sent.
 */
import { encodeOp, validateDir, validatePath, type FileOp } from '../app/file-ops.ts';
import { MAX_OP_BYTES } from '../pbft/codec.ts';
import { UsageError } from './usage-error.ts';

export function parseClientOp(positionals: string[]): FileOp {
  const [op, ...rest] = positionals;
  const need = (count: number): string[] => {
    if (rest.length !== count)
      throw new UsageError(`${op} takes ${count} argument${count === 1 ? '' : 's'}, got ${rest.length}`);
    return rest;
  };
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  switch (op) {
    case 'write':
    case 'append': {
      // The text may be several words (as echo takes them): joined by single spaces.
      if (rest.length < 2)
        throw new UsageError(`${op} takes PATH and TEXT, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
      const [path, ...words] = rest;
      return { kind: op, path: path!, data: text(words.join(' ')) };
    }
    case 'read':
    case 'delete':
    case 'stat':
      return { kind: op, path: need(1)[0]! };
    case 'list':
      if (rest.length > 1) throw new UsageError('list takes at most one argument');
      return { kind: 'list', dir: rest[0] ?? '/' };
    case undefined:
      throw new UsageError('no operation given');
    default:
      throw new UsageError(`unknown operation "${op}"`);
  }
}

/**
 * The path rules and the size limit, checked here rather than after a round of the protocol: the
 * replicas would answer BAD_PATH, or drop a request whose operation is over MAX_OP_BYTES.
 */
export function checkClientOp(op: FileOp): FileOp {
  if (op.kind === 'revoke') return op;
  const path = op.kind === 'list' ? op.dir : op.path;
  const check = op.kind === 'list' ? validateDir(path) : validatePath(path);
  if (!check.ok) {
    const hint = !path.startsWith('/') && path !== '' ? ` (did you mean /${path}?)` : '';
    throw new UsageError(`${op.kind}: path ${JSON.stringify(path)} ${check.reason}${hint}`);
  }
  const bytes = encodeOp(op).length;
  if (bytes > MAX_OP_BYTES)
    throw new UsageError(
      `${op.kind}: the operation is ${bytes} bytes encoded; the limit is 64 KiB (${MAX_OP_BYTES} bytes) per operation`,
    );
  return op;
}
