/**
 * The answers the core gets from outside its code — signatures, signature and MAC checks, random
 * draws — recorded as it asks (OracleTap) and handed back in the same order on replay (OracleReplay).
 * Recording answers instead of keys keeps the run file free of secrets: a replica's private key and
 * its clients' MAC keys never leave the machine.
 */
import type { ReplicaCrypto } from '../pbft/crypto.ts';
import type { Oracles } from './format.ts';

const base64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** Records the answers of one call at a time: `take()` hands them over and starts afresh. */
export class OracleTap {
  private sig: [string, string][] = [];
  private ver = '';
  private mac = '';
  private rnd: number[] = [];

  crypto(inner: ReplicaCrypto): ReplicaCrypto {
    return {
      digest: (data) => inner.digest(data),
      sign: (data) => {
        const sig = inner.sign(data);
        this.sig.push([inner.digest(data).slice(0, 8), base64(sig)]);
        return sig;
      },
      verify: (signer, data, sig) => {
        const ok = inner.verify(signer, data, sig);
        this.ver += ok ? '1' : '0';
        return ok;
      },
      verifyRequestMac: (client, data, mac) => {
        const ok = inner.verifyRequestMac(client, data, mac);
        this.mac += ok ? '1' : '0';
        return ok;
      },
    };
  }

  random(inner: () => number): () => number {
    return () => {
      const x = inner();
      this.rnd.push(x);
      return x;
    };
  }

  /** The answers since the last take, or undefined if none were asked for. */
  take(): Oracles | undefined {
    if (this.sig.length === 0 && this.ver === '' && this.mac === '' && this.rnd.length === 0) return undefined;
    const o: Oracles = {
      ...(this.sig.length > 0 ? { sig: this.sig } : {}),
      ...(this.ver ? { ver: this.ver } : {}),
      ...(this.mac ? { mac: this.mac } : {}),
      ...(this.rnd.length > 0 ? { rnd: this.rnd } : {}),
    };
    this.sig = [];
    this.ver = '';
    this.mac = '';
    this.rnd = [];
    return o;
  }
}

/** A replay asked something the recording does not answer, or asked it differently. */
export class OracleMismatch extends Error {
  override readonly name = 'OracleMismatch';
}

/** Hands back the recorded answers of the current call, checking the replay asks exactly those questions. */
export class OracleReplay {
  private current: Oracles = {};
  private at = { sig: 0, ver: 0, mac: 0, rnd: 0 };

  /** The answers of the call about to be replayed. */
  begin(oracles: Oracles | undefined): void {
    this.current = oracles ?? {};
    this.at = { sig: 0, ver: 0, mac: 0, rnd: 0 };
  }

  /** Throws if the recording answered questions the replay did not ask. */
  end(): void {
    const c = this.current;
    const left: string[] = [];
    if ((c.sig?.length ?? 0) > this.at.sig) left.push(`${c.sig!.length - this.at.sig} signature(s)`);
    if ((c.ver?.length ?? 0) > this.at.ver) left.push(`${c.ver!.length - this.at.ver} signature check(s)`);
    if ((c.mac?.length ?? 0) > this.at.mac) left.push(`${c.mac!.length - this.at.mac} MAC check(s)`);
    if ((c.rnd?.length ?? 0) > this.at.rnd) left.push(`${c.rnd!.length - this.at.rnd} random draw(s)`);
    if (left.length > 0) throw new OracleMismatch(`the recording made ${left.join(', ')} the replay did not`);
  }

  /** Crypto that answers from the recording; digests are computed (`digest` is the real SHA-256). */
  crypto(digest: (data: Uint8Array) => string): ReplicaCrypto {
    return {
      digest,
      sign: (data) => {
        const next = this.current.sig?.[this.at.sig];
        if (!next) throw new OracleMismatch('the replay signs where the recording did not');
        if (next[0] !== digest(data).slice(0, 8))
          throw new OracleMismatch(`the replay signs other bytes than the recording (hash ${next[0]} recorded)`);
        this.at.sig++;
        const buffer = Buffer.from(next[1], 'base64');
        return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
      },
      verify: () => this.bit('ver', 'checks a signature'),
      verifyRequestMac: () => this.bit('mac', 'checks a client MAC'),
    };
  }

  random(): () => number {
    return () => {
      const x = this.current.rnd?.[this.at.rnd];
      if (x === undefined) throw new OracleMismatch('the replay draws a random number where the recording did not');
      this.at.rnd++;
      return x;
    };
  }

  private bit(kind: 'ver' | 'mac', what: string): boolean {
    const bits = this.current[kind] ?? '';
    if (this.at[kind] >= bits.length) throw new OracleMismatch(`the replay ${what} where the recording did not`);
    return bits[this.at[kind]++] === '1';
  }
}
