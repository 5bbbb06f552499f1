import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ServerSecrets } from '../config/config.module.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Authenticated encryption of secrets at rest (kubeconfigs) with AES-256-GCM (NIST SP 800-38D):
 * a random 96-bit IV per message, a 128-bit tag, and the associated data binding a ciphertext
 * to its purpose. The stored form is `v1.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
@Injectable()
export class SecretBox {
  constructor(private readonly secrets: ServerSecrets) {}

  /** Encrypts UTF-8 `plaintext`; `context` (e.g. `cluster:<id>`) must be given again to decrypt. */
  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.secrets.encryptionKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /**
   * Decrypts what {@link encrypt} produced for the same `context`.
   * @throws Error when the data was altered, the context differs, or the key is not the one it was sealed with
   */
  decrypt(sealed: string, context: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.secrets.encryptionKey, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}
