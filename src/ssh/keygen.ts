import ssh2 from 'ssh2';

export interface KeyPair {
  /** OpenSSH private key (PEM-armoured `openssh-key-v1`). */
  private: string;
  /** `ssh-ed25519 AAAA… comment`, as in authorized_keys. */
  public: string;
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2's generator strips leading zero bytes of the
 * public key, so about 1 key in 256 cannot be parsed back (mscdex/ssh2#1390, #1513); such a
 * key is thrown away and another made.
 */
export function generateEd25519KeyPair(comment = ''): KeyPair {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(pair.public) instanceof Error) && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}
