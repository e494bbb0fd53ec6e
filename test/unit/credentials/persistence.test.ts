import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPersistentStore, mountOf, parseMountInfo, storageProblem } from '../../../src/credentials/persistence.js';

/** /proc/self/mountinfo of a worker container with the stack's named volume, as Docker sets it up. */
const CONTAINER = `\
612 540 0:52 / / rw,relatime master:263 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X:/var/lib/docker/overlay2/l/Y,upperdir=/var/lib/docker/overlay2/abc/diff,workdir=/var/lib/docker/overlay2/abc/work
613 612 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
615 612 0:57 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
620 612 254:1 /var/lib/docker/volumes/slipway_credentials/_data /var/lib/slipway/credentials rw,relatime master:1 - ext4 /dev/vda1 rw
621 612 254:1 /srv/slipway/slipway.yaml /etc/slipway/slipway.yaml ro,relatime - ext4 /dev/vda1 rw
622 612 254:1 /srv/slipway/my\\040secrets /etc/slipway/my\\040secrets ro,relatime - ext4 /dev/vda1 rw
623 615 0:60 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
`;

describe('credential store on persistent storage', () => {
  const mounts = parseMountInfo(CONTAINER);

  it('reads mount points and types, spaces included', () => {
    assert.deepEqual(mounts.map((m) => `${m.mountPoint} ${m.fsType}`), [
      '/ overlay', '/proc proc', '/dev tmpfs', '/var/lib/slipway/credentials ext4', '/etc/slipway/slipway.yaml ext4', '/etc/slipway/my secrets ext4', '/dev/shm tmpfs',
    ]);
    assert.equal(mountOf('/var/lib/slipway/credentials/ssh', mounts)?.fsType, 'ext4');
    assert.equal(mountOf('/var/lib/slipway/credentials-old', mounts)?.mountPoint, '/', 'a name that only starts like a mount point is not under it');
  });

  it('accepts the named volume and refuses the container layer and memory', () => {
    assert.equal(storageProblem('/var/lib/slipway/credentials', mounts), undefined);
    assert.match(storageProblem('/var/lib/slipway/store', mounts)!, /credentialStore \/var\/lib\/slipway\/store is on the container's own layer \(overlay\): it is lost when the container is recreated/);
    assert.match(storageProblem('/dev/shm/creds', mounts)!, /on memory \(tmpfs\)/);
  });

  it('checks the worker\'s own store: made when missing, and refused when it cannot be a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-store-'));
    const ext4 = join(dir, 'mountinfo');
    writeFileSync(ext4, '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n');
    assert.equal(checkPersistentStore(join(dir, 'credentials'), ext4), undefined);
    writeFileSync(join(dir, 'file'), '');
    assert.match(checkPersistentStore(join(dir, 'file', 'credentials'), ext4)!, /does not exist and cannot be made \(ENOTDIR\)/);
    const overlay = join(dir, 'overlay');
    writeFileSync(overlay, CONTAINER);
    assert.match(checkPersistentStore(join(dir, 'credentials'), overlay)!, /container's own layer/);
  });
});
