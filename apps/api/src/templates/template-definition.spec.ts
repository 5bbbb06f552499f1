import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadTemplateDirectory, TemplateLoadError, validateTemplate } from './template-definition.js';

const VALID = `
name: rust
displayName: Rust
description: Rust toolchain
category: language
tags: [rust, cargo]
image: rust:1-bookworm
defaultPort: 8080
resources: { cpu: 500m, memory: 1Gi, storage: 5Gi }
environmentVariables: { CARGO_HOME: /home/devpocket/.cargo }
startupCommands: [rustup component add clippy]
version: "1.0.0"
`;

describe('template loader', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devpocket-templates-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the templates shipped with the server', async () => {
    const templates = await loadTemplateDirectory(resolve('templates'));
    expect(templates.map((template) => template.name).sort()).toEqual(expect.arrayContaining(['golang', 'nodejs', 'python', 'ubuntu']));
    for (const template of templates) {
      expect(template.status).toBe('active');
      expect(template.startupCommands.length).toBeGreaterThan(0);
    }
  });

  it('reads every field of a template and fills the optional ones', async () => {
    await writeFile(join(dir, 'rust.yaml'), VALID);
    await writeFile(join(dir, 'minimal.yml'), 'name: minimal\ndisplayName: Minimal\ncategory: base\nimage: alpine:3\ndefaultPort: 80\nresources: {cpu: "1", memory: 512Mi, storage: 1Gi}\nversion: "1"\n');
    await writeFile(join(dir, 'README.md'), 'not a template');
    const [minimal, rust] = await loadTemplateDirectory(dir);
    expect(rust).toMatchObject({
      name: 'rust',
      tags: ['rust', 'cargo'],
      defaultPort: 8080,
      resources: { cpu: '500m', memory: '1Gi', storage: '5Gi' },
      environmentVariables: { CARGO_HOME: '/home/devpocket/.cargo' },
      startupCommands: ['rustup component add clippy'],
      status: 'active',
    });
    expect(minimal).toMatchObject({ name: 'minimal', tags: [], environmentVariables: {}, startupCommands: [], description: '' });
  });

  it('names the file and the problem of a template with bad YAML', async () => {
    await writeFile(join(dir, 'broken.yaml'), 'name: [unclosed');
    await expect(loadTemplateDirectory(dir)).rejects.toThrow(/broken\.yaml: not valid YAML/);
  });

  it('refuses a template whose quantities are not Kubernetes quantities', async () => {
    await writeFile(join(dir, 'big.yaml'), VALID.replace('memory: 1Gi', 'memory: 1GB'));
    await expect(loadTemplateDirectory(dir)).rejects.toThrow(/big\.yaml: .*resources\.memory/);
  });

  it('refuses two templates with one name', async () => {
    await writeFile(join(dir, 'a.yaml'), VALID);
    await writeFile(join(dir, 'b.yaml'), VALID);
    await expect(loadTemplateDirectory(dir)).rejects.toThrow(TemplateLoadError);
    await expect(loadTemplateDirectory(dir)).rejects.toThrow(/b\.yaml: template name "rust" is already used by a\.yaml/);
  });

  it('refuses a missing templates folder with its path', async () => {
    await expect(loadTemplateDirectory(join(dir, 'nope'))).rejects.toThrow(/cannot read the templates folder/);
  });

  it.each([
    ['a name that is not a DNS label', { name: 'My Template' }, /name/],
    ['a port out of range', { defaultPort: 70000 }, /defaultPort/],
    ['a missing image', { image: undefined }, /image/],
    ['an unknown field', { privileged: true }, /privileged/],
    ['a bad variable name', { environmentVariables: { 'BAD-NAME': 'x' } }, /BAD-NAME/],
    ['a non-string variable', { environmentVariables: { PORT: 8080 } }, /PORT/],
    ['an unknown status', { status: 'beta' }, /status/],
  ])('refuses %s', (_case, change, pattern) => {
    const base = { name: 'ok', displayName: 'OK', category: 'base', image: 'alpine:3', defaultPort: 80, resources: { cpu: '1', memory: '1Gi', storage: '1Gi' }, version: '1' };
    const { template, problems } = validateTemplate({ ...base, ...change });
    expect(template).toBeUndefined();
    expect(problems.join('\n')).toMatch(pattern);
  });

  it('refuses a document that is not a mapping', () => {
    expect(validateTemplate(['a', 'list']).problems).toEqual(['the document must be a mapping of template fields']);
  });
});
