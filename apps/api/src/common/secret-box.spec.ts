import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ServerSecrets } from '../config/config.module.js';
import { SecretBox } from './secret-box.js';

describe(SecretBox.name, () => {
  const box = new SecretBox(new ServerSecrets('jwt', randomBytes(32)));

  it('gives back what it sealed, and never the plaintext at rest', () => {
    const sealed = box.encrypt('apiVersion: v1\nkind: Config\n', 'cluster:a');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('Config');
    expect(box.decrypt(sealed, 'cluster:a')).toBe('apiVersion: v1\nkind: Config\n');
  });

  it('uses a fresh IV for every message', () => {
    expect(box.encrypt('same', 'c')).not.toBe(box.encrypt('same', 'c'));
  });

  it('refuses a ciphertext moved to another context, altered, or sealed with another key', () => {
    const sealed = box.encrypt('secret', 'cluster:a');
    expect(() => box.decrypt(sealed, 'cluster:b')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.decrypt(parts.join('.'), 'cluster:a')).toThrow();
    expect(() => new SecretBox(new ServerSecrets('jwt', randomBytes(32))).decrypt(sealed, 'cluster:a')).toThrow();
    expect(() => box.decrypt('plain text', 'cluster:a')).toThrow('not a sealed secret');
  });
});
