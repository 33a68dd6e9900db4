/**
 * systemd/shopfloor-gateway-cli.sh, the installed `shopfloor-gateway` command: it reads
 * secrets.env as systemd does (nothing in it is executed) and drops to the service user.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const wrapper = fileURLToPath(new URL('../../systemd/shopfloor-gateway-cli.sh', import.meta.url));

describe('the installed CLI wrapper', () => {
  const dir = tempDir();

  it('passes secrets through literally, executes nothing, and runs the CLI as the service user', () => {
    const [etc, state, app, fakeBin] = ['etc', 'state', 'app', 'fakebin'].map((d) => join(dir, d));
    for (const d of [etc, state, join(app, 'bin'), fakeBin]) mkdirSync(d, { recursive: true });
    const marker = join(dir, 'executed');
    writeFileSync(
      join(etc, 'secrets.env'),
      ['# comment', `PRODSMART_API_SECRET=Xy7$Qa;touch ${marker}&1`, 'PRODSMART_API_KEY="quoted key"', 'not a key=ignored', ''].join('\n'),
    );
    // The "CLI": prints what it got.
    const cli = join(app, 'bin', 'shopfloor-gateway.js');
    writeFileSync(cli, '#!/bin/sh\nprintf "%s|%s|%s|%s\\n" "$PRODSMART_API_SECRET" "$PRODSMART_API_KEY" "$*" "$(pwd)"\n');
    chmodSync(cli, 0o755);
    // runuser stands in for the real one (there is no service user here); it records its arguments.
    const runuser = join(fakeBin, 'runuser');
    writeFileSync(runuser, `#!/bin/sh\necho "runuser $1 $2" >${join(dir, 'runuser')}\nshift 3\nexec "$@"\n`);
    chmodSync(runuser, 0o755);

    const r = spawnSync('sh', [wrapper, 'outbox', 'dead'], {
      encoding: 'utf8',
      env: { PATH: `${fakeBin}:${process.env.PATH}`, SHOPFLOOR_GATEWAY_ETC: etc, SHOPFLOOR_GATEWAY_STATE: state, SHOPFLOOR_GATEWAY_APP: app },
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`Xy7$Qa;touch ${marker}&1|quoted key|outbox dead --config ${etc}/gateway.yaml|${state}`);
    expect(() => readFileSync(marker)).toThrow();
    if (process.getuid?.() === 0) expect(readFileSync(join(dir, 'runuser'), 'utf8').trim()).toBe('runuser -u shopfloor-gateway');
  });
});
