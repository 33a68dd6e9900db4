/** A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  /** PEM of the CA that signed the server certificate. */
  cafile: string;
  certfile: string;
  keyfile: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA, named so two CAs in one folder do not collide. */
export function makeCa(dir: string, name: string): { cafile: string; cakey: string } {
  const cafile = join(dir, `${name}.crt`);
  const cakey = join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    cakey,
    '-out',
    cafile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cafile, cakey };
}

export function makeTestPki(dir: string): TestPki {
  const { cafile, cakey } = makeCa(dir, 'test-ca');
  const keyfile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certfile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', '-new', ...EC, '-keyout', keyfile, '-out', csr, '-subj', '/CN=127.0.0.1']);
  openssl(['x509', '-req', '-in', csr, '-CA', cafile, '-CAkey', cakey, '-set_serial', '1', '-days', '2', '-out', certfile, '-extfile', ext]);
  return { cafile, certfile, keyfile };
}
