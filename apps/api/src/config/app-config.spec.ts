import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './app-config.js';

describe('loadConfig', () => {
  it('serves one machine with no variables set', () => {
    const config = loadConfig({});
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
  });

  it('reads numbers, booleans and lists from their text', () => {
    const config = loadConfig({ PORT: '8080', LOCAL_RUNTIME_ALLOW_REMOTE: 'true', ADMIN_EMAILS: ' Ada@Example.com, bob@example.com ,' });
    expect(config.PORT).toBe(8080);
    expect(config.LOCAL_RUNTIME_ALLOW_REMOTE).toBe(true);
    expect(config.ADMIN_EMAILS).toEqual(['ada@example.com', 'bob@example.com']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', '70000', /PORT/],
    ['PORT', 'eighty', /PORT/],
    ['DATABASE_URL', 'mysql://localhost/db', /DATABASE_URL/],
    ['JWT_SECRET', 'short', /JWT_SECRET/],
    ['LOCAL_RUNTIME_ALLOW_REMOTE', 'maybe', /LOCAL_RUNTIME_ALLOW_REMOTE/],
    ['NODE_ENV', 'staging', /NODE_ENV/],
    ['LOG_LEVEL', 'chatty', /LOG_LEVEL/],
  ])('stops on a bad %s, naming it', (name, value, pattern) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(pattern);
  });
});
